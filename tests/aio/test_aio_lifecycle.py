"""``async with datm.aio.open(...)``: the injector built off the loop, everything
released at the end (no session of datm's left on the database), nothing after."""

from __future__ import annotations

import threading
from typing import Any

import postgres_support
import pytest
from harness import QUOTE_SECRET

import datm.aio
from datm.domain.errors import CapabilityError, ProgrammingError, TransientError
from datm.lifecycle import Resources

pytestmark = pytest.mark.anyio


def recording_builds(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Where datm.aio.open builds its injector: the threads, one per build."""
    built_on: list[threading.Thread] = []
    real = datm.aio.create_injector

    def build(*args: Any, **kwargs: Any) -> Any:
        built_on.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(datm.aio, "create_injector", build)
    return built_on


@pytest.mark.postgres
async def test_open_releases_the_pool_at_the_end_of_its_block(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_on = recording_builds(monkeypatch)
    config = {"DATABASE_URL": database, "AIO_MAX_CALLS": 4}
    async with datm.aio.open(config, wiring="postgres", environ={}) as services:
        assert services.max_calls == 4
        assert await services.market.top_by_price(5) == []
        assert await services.analytics.is_market_open()
        # The pool's connection: the test sees it.
        assert postgres_support.sessions_on(database) != []
        resources = services.injector.get(Resources)
        assert not resources.closed

    assert built_on and built_on[0] is not threading.main_thread()
    assert resources.closed  # datm.close ran
    assert postgres_support.sessions_left_on(database) == []
    with pytest.raises(ProgrammingError):
        await services.market.top_by_price(5)  # the pool is stopped: refused, not reopened


async def test_open_on_memory_serves_and_refuses_calls_after_its_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built_on = recording_builds(monkeypatch)
    async with datm.aio.open({"QUOTE_SECRET": QUOTE_SECRET}, wiring="memory", environ={}) as s:
        assert s.max_calls == 16  # AIO_MAX_CALLS's default
        link = await s.auth.login_link()
        assert link.url
        injector = s.injector

    assert built_on == [built_on[0]] and built_on[0] is not threading.current_thread()
    assert injector.get(Resources).closed
    with pytest.raises(ProgrammingError, match=r"datm\.aio was closed"):
        await s.auth.login_link()
    datm.close(injector)  # already closed by open: idempotent


async def test_services_wraps_an_injector_the_program_closes_itself() -> None:
    injector = datm.create_injector({"QUOTE_SECRET": QUOTE_SECRET}, wiring="memory", environ={})
    services = datm.aio.services(injector, max_calls=2)
    assert services.max_calls == 2
    assert (await services.auth.login_link()).url
    await services.aclose()
    with pytest.raises(ProgrammingError):
        await services.auth.login_link()
    datm.close(injector)
    with pytest.raises(ProgrammingError):
        datm.aio.services(injector, max_calls=0)


async def test_open_on_the_web_wiring_serves_last_fm_and_refuses_the_database_at_once() -> None:
    # The warm-up's database read is refused (no database here) and not an error.
    async with datm.aio.open({}, wiring="web", environ={}) as services:
        assert (await services.artist.basic("Fleetwood Mac")).name == "Fleetwood Mac"
        with pytest.raises(CapabilityError, match="DATM_DATABASE_URL"):
            await services.player.profile("anyone")


async def test_open_with_the_database_down_opens_and_the_first_call_says_why() -> None:
    # The warm-up is best effort: a database that cannot answer at start-up is the
    # first call's to report, as with the sync injector, which does no IO when built.
    config = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "QUOTE_SECRET": QUOTE_SECRET}
    before = {t.name for t in threading.enumerate()}
    async with datm.aio.open(config, wiring="postgres", environ={}) as services:
        with pytest.raises(TransientError, match="cannot be reached"):
            await services.market.top_by_price(1)
    left = {t.name for t in threading.enumerate()} - before
    assert not {name for name in left if name.startswith("datm-aio")}
