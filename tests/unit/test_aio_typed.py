"""datm.aio's typed views (datm/aio/typed.py, written by tools/aio_types.py): up to
date with the services, one per service, declared on AsyncServices, and each
describing the view datm.aio really gives."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import typing
from pathlib import Path

import datm.aio
from datm.aio import typed
from datm.wiring import create_injector
from datm.wiring.modules import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_typed_py_is_what_the_services_say_today() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "aio_types.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr


def test_every_service_has_its_protocol_declared_on_async_services() -> None:
    hints = typing.get_type_hints(datm.aio.AsyncServices)
    for cls in SERVICES:
        name = datm.aio.attribute_name(cls)
        assert hints[name] is getattr(typed, f"Async{cls.__name__}")


def test_each_view_is_what_its_protocol_describes() -> None:
    config = {"QUOTE_SECRET": "typed-views-0123456789"}
    injector = create_injector(config, wiring="memory", environ={})
    services = datm.aio.services(injector, max_calls=1)
    try:
        for cls in SERVICES:
            protocol = getattr(typed, f"Async{cls.__name__}")
            view = getattr(services, datm.aio.attribute_name(cls))
            assert isinstance(view, protocol), cls
            declared = {n for n in vars(protocol) if not n.startswith("_")}
            assert declared == set(datm.aio.public_methods(cls)), cls
    finally:
        asyncio.run(services.aclose())
        datm.close(injector)
