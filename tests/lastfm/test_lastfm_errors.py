"""Failures of last.fm reach the caller as datm's five families, and transient ones
only after bounded retries inside the adapter."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from lastfm_support import RETRIES, TIMEOUT_SECONDS, CountingLimiter, adapter_for

from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.domain.errors import (
    AuthenticationError,
    CapabilityError,
    DataError,
    DatmError,
    InvalidInput,
    LastfmKeyRefused,
    LastfmRefused,
    LastfmSessionRefused,
    LastfmUnavailable,
    ServiceError,
    TransientError,
    UnknownArtist,
)
from datm.fake_lastfm import FakeLastfm, Fault
from datm.ports.rate_limit import RateLimiter

TRANSIENT = [fault for fault in Fault]  # every fault the fake commits is a passing one


def injected(fake: FakeLastfm, fault: Fault, times: int) -> None:
    # A slow reply is one that outlasts the adapter's timeout.
    fake.inject(fault, times=times, delay=TIMEOUT_SECONDS + 0.5)


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_is_retried_inside_the_adapter_and_the_call_succeeds(
    fake: FakeLastfm, lastfm: PylastLastfm, limiter: CountingLimiter, fault: Fault
) -> None:
    injected(fake, fault, times=2)

    chart = lastfm.chart_top_artists(1, 1)

    assert [artist.name for artist in chart] == ["The Weeknd"]
    assert fake.requests.total == 3  # two faulted, one answered
    assert limiter.acquired == 3  # the rate limit is taken before every request


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_that_persists_is_last_fm_unavailable_after_the_retries(
    fake: FakeLastfm, lastfm: PylastLastfm, fault: Fault
) -> None:
    injected(fake, fault, times=RETRIES + 1)

    with pytest.raises(LastfmUnavailable) as raised:
        lastfm.chart_top_artists(1, 1)

    assert isinstance(raised.value, TransientError)
    assert fake.requests.total == RETRIES + 1


def test_an_unknown_api_key_is_a_service_error_and_is_not_retried(fake: FakeLastfm) -> None:
    lastfm = adapter_for(fake, api_key="someone-elses-key")

    with pytest.raises(LastfmKeyRefused) as raised:
        lastfm.artist_info(name="Radiohead")

    assert isinstance(raised.value, ServiceError)
    assert raised.value.status == 10
    assert fake.requests.total == 1


def test_a_signature_made_with_the_wrong_secret_is_a_service_error(fake: FakeLastfm) -> None:
    lastfm = adapter_for(fake, api_secret="not-the-secret")

    with pytest.raises(LastfmKeyRefused) as raised:
        lastfm.get_token()

    assert isinstance(raised.value, ServiceError)
    assert raised.value.status == 13
    assert fake.requests.total == 1


def test_a_session_key_last_fm_does_not_know_is_an_authentication_error(
    lastfm: PylastLastfm,
) -> None:
    with pytest.raises(LastfmSessionRefused) as raised:
        lastfm.authenticated_user("0" * 32)

    assert isinstance(raised.value, AuthenticationError)


def test_an_unknown_artist_is_a_data_error_naming_it(
    lastfm: PylastLastfm, fake: FakeLastfm
) -> None:
    with pytest.raises(UnknownArtist) as raised:
        lastfm.artist_info(name="No Such Artist Here")
    with pytest.raises(UnknownArtist):
        lastfm.similar("No Such Artist Here", 5)

    assert isinstance(raised.value, DataError)
    assert raised.value.artist == "No Such Artist Here"
    assert lastfm.correction("No Such Artist Here") is None
    assert fake.requests.total == 3


def test_error_6_about_a_user_is_invalid_input_naming_the_parameter(
    lastfm: PylastLastfm,
) -> None:
    # The fake answers every user with the recorded one, so ask what was not recorded.
    with pytest.raises(InvalidInput) as raised:
        lastfm.user_top_artists("nobody-at-all", 7)

    assert raised.value.field == "user"


@pytest.mark.parametrize(
    "call",
    [
        lambda lastfm: lastfm.chart_top_artists(0, 1),
        lambda lastfm: lastfm.search("nirvana", 10, 0),
        lambda lastfm: lastfm.search("  ", 10, 1),
        lambda lastfm: lastfm.similar("Radiohead", 1001),
        lambda lastfm: lastfm.artist_info(),
        lambda lastfm: lastfm.user_info(""),
    ],
)
def test_bad_input_is_refused_before_any_request(
    lastfm: PylastLastfm, fake: FakeLastfm, call: Callable[[PylastLastfm], object]
) -> None:
    with pytest.raises(InvalidInput):
        call(lastfm)

    assert fake.requests.total == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_is_transient_and_retried(limiter: CountingLimiter) -> None:
    lastfm = PylastLastfm(
        "key",
        "secret",
        url=f"https://127.0.0.1:{closed_port()}/2.0/",
        retries=2,
        rate_limiter=limiter,
        backoff_seconds=0.01,
        max_backoff_seconds=0.02,
    )

    with pytest.raises(LastfmUnavailable):
        lastfm.chart_top_artists(1, 1)

    assert limiter.acquired == 3


def test_a_server_certificate_not_trusted_is_a_service_error_not_retried(
    fake: FakeLastfm, limiter: CountingLimiter
) -> None:
    lastfm = adapter_for(fake, limiter, ca_file=None)  # the system's CAs only

    with pytest.raises(LastfmRefused) as raised:
        lastfm.chart_top_artists(1, 1)

    assert isinstance(raised.value, ServiceError)
    assert limiter.acquired == 1
    assert fake.requests.total == 0  # TLS failed before any HTTP


class Exhausted(RateLimiter):
    def acquire(self) -> None:
        raise LastfmUnavailable("rate limit: no slot within the wait")


def test_a_rate_limit_that_gives_up_is_last_fm_unavailable_and_sends_nothing(
    fake: FakeLastfm,
) -> None:
    lastfm = adapter_for(fake, Exhausted(), retries=1)

    with pytest.raises(LastfmUnavailable) as raised:
        lastfm.chart_top_artists(1, 1)

    assert raised.value.reason == "rate limit: no slot within the wait"
    assert fake.requests.total == 0


def test_settings_that_cannot_work_are_refused_when_the_adapter_is_built() -> None:
    with pytest.raises(CapabilityError):
        PylastLastfm("", "secret")
    with pytest.raises(InvalidInput):
        PylastLastfm("key", "secret", url="http://127.0.0.1:1/2.0/")
    with pytest.raises(InvalidInput):
        PylastLastfm("key", "secret", retries=-1)


CALLS: list[Callable[[PylastLastfm], Any]] = [
    lambda lastfm: lastfm.artist_info(name="Radiohead"),
    lambda lastfm: lastfm.artist_info(mbid="a74b1b7f-71a5-4011-9441-d0b5e4122711"),
    lambda lastfm: lastfm.correction("guns and roses"),
    lambda lastfm: lastfm.similar("Radiohead", 2),
    lambda lastfm: lastfm.search("Nirvana", 30, 1),
    lambda lastfm: lastfm.chart_top_artists(1, 1),
    lambda lastfm: lastfm.geo_top_artists("United Kingdom", 1, 1),
    lambda lastfm: lastfm.tag_top_artists("blues", 1, 1),
    lambda lastfm: lastfm.user_info("RJ"),
    lambda lastfm: lastfm.user_top_artists("RJ", 1),
    lambda lastfm: lastfm.library_artists("RJ", 50),
    lambda lastfm: lastfm.get_token(),
    lambda lastfm: lastfm.get_session("never-issued"),
    lambda lastfm: lastfm.authenticated_user("0" * 32),
]


@pytest.mark.parametrize("fault", [None, *Fault])
def test_no_pylast_or_httpx_exception_escapes_any_call_under_any_fault(
    fake: FakeLastfm, fault: Fault | None
) -> None:
    lastfm = adapter_for(fake, retries=0, timeout=0.3)
    escaped = []
    for call in CALLS:
        if fault is not None:
            fake.inject(fault, delay=0.6)
        try:
            call(lastfm)
        except DatmError:
            pass
        except Exception as error:  # what this test hunts for
            escaped.append(repr(error))

    assert escaped == []
