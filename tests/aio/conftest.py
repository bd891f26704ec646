"""datm.aio's tests run on asyncio (datm.aio is asyncio's), through anyio's plugin."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
