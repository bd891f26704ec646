"""datm: the data-access and domain library of Scrobble Exchange."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_injector"]

if TYPE_CHECKING:
    from datm.wiring import create_injector


def __getattr__(name: str) -> Any:
    # Lazy, so that importing datm.domain never pulls in injector or adapters.
    if name == "create_injector":
        from datm.wiring import create_injector

        return create_injector
    raise AttributeError(name)
