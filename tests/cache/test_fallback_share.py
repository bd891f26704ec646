"""``LASTFM_FALLBACK_SHARE`` (issue 15, item 4): checked at start, and the limits
the wiring builds fall back to that share of each limit. The rates it gives,
across processes: ``test_fallback_share_processes.py``."""

from __future__ import annotations

import math

import pytest

from datm.adapters.ratelimit.window import InProcessRateLimiter, rate_item
from datm.adapters.redis.client import RedisHealth, connect
from datm.adapters.redis.rate_limit import RedisRateLimiter
from datm.domain.errors import ConfigurationError, InvalidInput
from datm.settings import Settings
from datm.wiring import create_injector
from datm.wiring.lastfm import lastfm_limiters

LASTFM = {"LASTFM_API_KEY": "fallback-key", "LASTFM_API_SECRET": "fallback-secret"}
NOWHERE = "redis://127.0.0.1:1/0"  # never connected to: the limits are only built


def test_the_default_share_is_a_quarter_of_the_rate() -> None:
    assert Settings.load(None, environ={}).lastfm_fallback_share == 0.25


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0, "out of range"),
        (-0.25, "out of range"),
        (0.0009, "out of range"),
        (1.01, "out of range"),
        ("2", "out of range"),
        ("nan", "not finite"),
        ("inf", "not finite"),
        ("a quarter", "not a number"),
        (True, "true or false"),
    ],
)
def test_a_share_not_above_0_or_above_the_whole_rate_fails_at_start(
    value: object, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_injector({**LASTFM, "LASTFM_FALLBACK_SHARE": value}, wiring="web", environ={})

    assert caught.value.fields["setting"] == "LASTFM_FALLBACK_SHARE"
    assert problem in str(caught.value.fields["problem"])
    assert "from 0.001 to 1" in str(caught.value.fields["allowed"])


def test_the_share_comes_from_the_environment() -> None:
    settings = Settings.load(None, environ={"DATM_LASTFM_FALLBACK_SHARE": "0.5"})

    assert settings.lastfm_fallback_share == 0.5


def _fallback_rate(limiter: object) -> float:
    assert isinstance(limiter, RedisRateLimiter)
    fallback = limiter.fallback
    assert isinstance(fallback, InProcessRateLimiter)
    return fallback.rate_per_second


@pytest.mark.parametrize(
    ("rate", "close_share", "share"), [(5.0, 0.8, 0.25), (20.0, 0.5, 1.0), (1 / 60, 0.01, 0.001)]
)
def test_each_fallback_is_the_share_of_its_limit(
    rate: float, close_share: float, share: float
) -> None:
    settings = Settings(
        lastfm_rate_per_second=rate, close_lastfm_share=close_share, lastfm_fallback_share=share
    )
    client = connect(NOWHERE)
    try:
        limiters = lastfm_limiters(settings, client, RedisHealth())
    finally:
        client.close()

    assert math.isclose(_fallback_rate(limiters.shared), rate * share)
    # The close's limit is its share of the rate, at least one a minute (wiring).
    close_rate = max(rate * close_share, 1 / 60)
    assert math.isclose(_fallback_rate(limiters.close), close_rate * share)


def test_without_redis_each_process_keeps_the_whole_rate() -> None:
    limiters = lastfm_limiters(Settings(lastfm_rate_per_second=5.0))

    assert isinstance(limiters.shared, InProcessRateLimiter)
    assert limiters.shared.rate_per_second == 5.0


@pytest.mark.parametrize(
    ("rate", "amount", "seconds"),
    [(5.0, 5, 1), (1 / 60, 1, 60), (1 / 240, 1, 240), (1 / 100, 1, 100), (0.007, 1, 143)],
)
def test_a_share_slower_than_a_minute_is_one_request_per_whole_seconds_rounded_slower(
    rate: float, amount: int, seconds: int
) -> None:
    item = rate_item(rate, "lastfm", slower_than_a_minute=True)

    assert (item.amount, item.get_expiry()) == (amount, seconds)
    assert item.amount / item.get_expiry() <= rate


def test_a_slow_share_still_refuses_no_rate_at_all() -> None:
    with pytest.raises(InvalidInput):
        rate_item(0, "lastfm", slower_than_a_minute=True)
