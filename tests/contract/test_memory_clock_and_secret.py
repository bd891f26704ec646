"""The clocks and quote secrets shipped with the in-memory wiring."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from datm.adapters.clock import ManualClock, SystemClock
from datm.adapters.quote_secret import ConfiguredQuoteSecret, RandomQuoteSecret
from datm.domain.errors import InvalidInput

START = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)


def test_system_clock_is_aware_and_in_utc() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=1)) == START + timedelta(hours=1)
    assert clock.today() == START.date() + timedelta(days=1)
    clock.set(datetime(2026, 2, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_manual_clock_rejects_naive_times() -> None:
    with pytest.raises(InvalidInput):
        ManualClock(datetime(2026, 1, 1))
    clock = ManualClock(START)
    with pytest.raises(InvalidInput):
        clock.set(datetime(2026, 1, 1))
    assert clock.now() == START


def test_manual_clock_loses_no_advance_under_threads() -> None:
    clock = ManualClock(START)
    threads = [
        threading.Thread(
            target=lambda: [clock.advance(timedelta(seconds=1)) for _ in range(500)],
            daemon=True,
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    assert clock.now() == START + timedelta(seconds=8 * 500)


def test_configured_secret_accepts_bytes_or_text_and_refuses_short_ones() -> None:
    assert ConfiguredQuoteSecret(b"0123456789abcdef").get() == b"0123456789abcdef"
    assert ConfiguredQuoteSecret("sixteen chars ok").get() == b"sixteen chars ok"
    with pytest.raises(InvalidInput):
        ConfiguredQuoteSecret(b"too short")
    assert "sixteen" not in repr(ConfiguredQuoteSecret("sixteen chars ok"))


def test_random_secret_is_stable_per_instance_and_differs_between_them() -> None:
    first, second = RandomQuoteSecret(), RandomQuoteSecret()
    assert first.get() == first.get()
    assert len(first.get()) >= 16
    assert first.get() != second.get()
