"""``Resources``, ``datm.close`` and ``datm.open_injector`` without any server."""

from __future__ import annotations

import logging

import pytest
from injector import Injector

import datm
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.domain.errors import ProgrammingError
from datm.lifecycle import Resources
from datm.services.artists import ArtistService
from datm.services.trading import TradingService

QUOTE_SECRET = {"QUOTE_SECRET": "resources-quote-secret-0123456789"}


def test_resources_close_newest_first_once() -> None:
    resources = Resources()
    closed: list[str] = []
    resources.add("the pool", lambda: closed.append("the pool"))
    resources.add("the lock", lambda: closed.append("the lock"))  # built on the pool

    resources.close()
    resources.close()

    assert closed == ["the lock", "the pool"]
    assert resources.closed


def test_a_failure_to_close_one_thing_is_logged_and_the_rest_are_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    resources = Resources()
    closed: list[str] = []

    def broken() -> None:
        raise OSError("the server went away")

    resources.add("the pool", lambda: closed.append("the pool"))
    resources.add("the lock", broken)

    with caplog.at_level(logging.WARNING, logger="datm.lifecycle"):
        resources.close()

    assert closed == ["the pool"]
    assert "closing the lock failed" in caplog.text and "the server went away" in caplog.text


def test_nothing_can_be_opened_once_closed() -> None:
    resources = Resources()
    resources.close()

    with pytest.raises(ProgrammingError, match="datm was closed"):
        resources.add("a new pool", lambda: None)
    with pytest.raises(ProgrammingError, match="datm was closed"):
        resources.check_open()


def test_close_refuses_an_injector_datm_did_not_build() -> None:
    with pytest.raises(ProgrammingError, match="not built by datm"):
        datm.close(Injector())


def test_the_in_memory_wiring_holds_nothing_outside_and_goes_on_after_close() -> None:
    with datm.open_injector(QUOTE_SECRET, wiring="memory", environ={}) as injector:
        trading = injector.get(TradingService)
    assert injector.get(Resources).closed
    # Nothing to reconnect: the store is this process's memory.
    assert injector.get(ArtistService).search("nirv")
    assert trading is injector.get(TradingService)


def test_the_real_last_fm_wiring_registers_what_it_opens_and_refuses_after_close() -> None:
    injector = datm.create_injector(
        {
            **QUOTE_SECRET,
            "LASTFM_API_KEY": "key",
            "LASTFM_API_SECRET": "secret",
            "LASTFM_URL": "https://127.0.0.1:1/2.0/",  # nothing listens: no call may go out
        },
        wiring="memory",
        environ={},
    )
    artists = injector.get(ArtistService)  # builds the port: registers its HTTP pool

    datm.close(injector)

    with pytest.raises(ProgrammingError, match=r"last\.fm client was closed"):
        artists.search("nirv")  # refused before any connection is tried


def test_a_closed_adapter_refuses_calls_instead_of_reopening_its_pool() -> None:
    lastfm = PylastLastfm("key", "secret", url="https://127.0.0.1:1/2.0/", retries=3)
    lastfm.close()
    lastfm.close()  # idempotent

    with pytest.raises(ProgrammingError, match="closed"):
        lastfm.chart_top_artists(1, 1)  # not retried: a ProgrammingError is not transient
