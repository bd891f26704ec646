"""datm: the data-access and domain library of Scrobble Exchange.

A program builds one injector (``create_injector`` or, as a context manager,
``open_injector``) and, when it stops, gives back what datm opened with
``close(injector)`` (see ``datm.lifecycle``).

Logging: every module logs to ``logging.getLogger(__name__)``, under ``datm``.
The library configures nothing (no handler, no level): the program does. The
``NullHandler`` below only keeps Python from printing datm's warnings through
its last-resort handler when the program has configured no logging at all.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

__all__ = ["close", "create_injector", "open_injector"]

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from datm.lifecycle import close, open_injector
    from datm.wiring import create_injector


def __getattr__(name: str) -> Any:
    # Lazy, so that importing datm.domain never pulls in injector or adapters.
    if name == "create_injector":
        from datm.wiring import create_injector

        return create_injector
    if name in ("close", "open_injector"):
        from datm import lifecycle

        return getattr(lifecycle, name)
    raise AttributeError(name)
