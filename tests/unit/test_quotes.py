"""Quotes (price guarantees): signed, bound, tamper-proof and short-lived."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datm.domain.errors import (
    DataError,
    InvalidInput,
    QuoteExpired,
    QuoteInvalid,
    TransientError,
)
from datm.domain.quotes import DEFAULT_VALIDITY, Quote, Side, sign, verify

SECRET = b"0123456789abcdef-server-secret"
OTHER_SECRET = b"fedcba9876543210-other-secret!"
NOW = datetime(2024, 5, 6, 12, 0, 0, 123_000, tzinfo=UTC)
MBID = "a74b1b7f-71a5-4011-9441-d0b5e4122711"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def make_quote(price: int = 1_000, side: Side = Side.BUY) -> Quote:
    return Quote("q-1", "alice", MBID, side, price, NOW + DEFAULT_VALIDITY)


def sign_raw(payload: bytes, secret: bytes = SECRET) -> str:
    """A payload signed as the module signs it: any bytes, with a valid MAC."""
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    mac = hmac.new(secret, encoded, hashlib.sha256).hexdigest()
    return f"{encoded.decode()}.{mac}"


def test_a_signed_quote_verifies_to_the_same_quote() -> None:
    q = make_quote()
    assert verify(sign(q, SECRET), SECRET, NOW) == q


def test_a_quote_is_valid_for_fifteen_seconds_by_default() -> None:
    assert timedelta(seconds=15) == DEFAULT_VALIDITY


def test_a_signed_quote_is_an_ascii_payload_and_a_hex_signature() -> None:
    signed = sign(make_quote(), SECRET)
    payload, signature = signed.split(".")
    assert signed.isascii()
    assert len(signature) == 64  # HMAC-SHA256 as hex
    assert int(signature, 16) >= 0
    assert "=" not in payload


ms_datetimes = st.integers(-62_135_596_800_000 + 1_000, 253_402_300_799_999).map(
    lambda ms: EPOCH + timedelta(milliseconds=ms)
)


@given(
    quote_id=st.text(max_size=40),
    player=st.text(min_size=1, max_size=64),
    mbid=st.text(max_size=40),
    side=st.sampled_from(Side),
    price=st.integers(-(10**18), 10**18),
    expires_at=ms_datetimes,
)
def test_any_quote_with_millisecond_expiry_survives_a_sign_verify_round_trip(
    quote_id: str, player: str, mbid: str, side: Side, price: int, expires_at: datetime
) -> None:
    q = Quote(quote_id, player, mbid, side, price, expires_at)
    now = expires_at - timedelta(milliseconds=1)
    assert verify(sign(q, SECRET), SECRET, now) == q


def test_a_quote_with_an_altered_price_is_invalid() -> None:
    signed = sign(make_quote(price=1_000), SECRET)
    payload, signature = signed.split(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert doc["c"] == 1_000
    doc["c"] = 1
    forged = base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
    with pytest.raises(QuoteInvalid):
        verify(f"{forged}.{signature}", SECRET, NOW)


@pytest.mark.parametrize("position", [0, 5, -1])
def test_a_quote_with_one_payload_character_changed_is_invalid(position: int) -> None:
    payload, signature = sign(make_quote(), SECRET).split(".")
    chars = list(payload)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(QuoteInvalid):
        verify(f"{''.join(chars)}.{signature}", SECRET, NOW)


@pytest.mark.parametrize("position", [0, 31, -1])
def test_a_quote_with_one_signature_character_changed_is_invalid(position: int) -> None:
    payload, signature = sign(make_quote(), SECRET).split(".")
    chars = list(signature)
    chars[position] = "0" if chars[position] != "0" else "1"
    with pytest.raises(QuoteInvalid):
        verify(f"{payload}.{''.join(chars)}", SECRET, NOW)


def test_a_quote_signed_with_another_secret_is_invalid() -> None:
    with pytest.raises(QuoteInvalid) as info:
        verify(sign(make_quote(), OTHER_SECRET), SECRET, NOW)
    assert isinstance(info.value, DataError)


def test_an_expired_quote_with_a_wrong_signature_is_invalid_not_expired() -> None:
    signed = sign(make_quote(), OTHER_SECRET)
    with pytest.raises(QuoteInvalid):
        verify(signed, SECRET, NOW + timedelta(hours=1))


def test_a_quote_expires_at_its_expiry_instant() -> None:
    q = make_quote()
    with pytest.raises(QuoteExpired) as info:
        verify(sign(q, SECRET), SECRET, q.expires_at)  # now == expires_at
    assert isinstance(info.value, TransientError)
    assert info.value.fields["expired_at"] == q.expires_at.isoformat()


def test_a_quote_is_expired_any_time_after_its_expiry() -> None:
    q = make_quote()
    with pytest.raises(QuoteExpired):
        verify(sign(q, SECRET), SECRET, q.expires_at + timedelta(seconds=1))


def test_a_quote_is_still_valid_one_millisecond_before_it_expires() -> None:
    q = make_quote()
    assert verify(sign(q, SECRET), SECRET, q.expires_at - timedelta(milliseconds=1)) == q


@pytest.mark.parametrize("secret", [b"", b"short", b"x" * 15])
def test_a_secret_shorter_than_sixteen_bytes_is_invalid_input(secret: bytes) -> None:
    with pytest.raises(InvalidInput):
        sign(make_quote(), secret)
    with pytest.raises(InvalidInput):
        verify(sign(make_quote(), SECRET), secret, NOW)


def test_a_sixteen_byte_secret_is_enough() -> None:
    secret = b"x" * 16
    assert verify(sign(make_quote(), secret), secret, NOW) == make_quote()


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "abc", "a.b.c", "a.é", "é.é", "\x00.\x00", "e30.0", "a.b"],
)
def test_malformed_quotes_are_invalid(garbage: str) -> None:
    with pytest.raises(QuoteInvalid):
        verify(garbage, SECRET, NOW)


def _verify_refuses_only_as_a_quote_error(signed: str) -> None:
    try:
        result = verify(signed, SECRET, NOW)
    except (QuoteInvalid, QuoteExpired):
        return
    assert isinstance(result, Quote)


@given(st.text())
def test_garbage_text_raises_nothing_but_quote_errors(garbage: str) -> None:
    _verify_refuses_only_as_a_quote_error(garbage)


@given(st.text(), st.text())
def test_garbage_around_one_dot_raises_nothing_but_quote_errors(left: str, right: str) -> None:
    _verify_refuses_only_as_a_quote_error(f"{left}.{right}")


@given(st.binary())
def test_garbage_bytes_with_a_valid_signature_are_invalid(payload: bytes) -> None:
    try:
        json.loads(payload)
    except ValueError:
        with pytest.raises(QuoteInvalid):
            verify(sign_raw(payload), SECRET, NOW)
    else:
        _verify_refuses_only_as_a_quote_error(sign_raw(payload))


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**40), 10**40),
    st.floats(),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
)


@given(st.dictionaries(st.sampled_from("ipmsce"), json_values))
def test_any_signed_document_raises_nothing_but_quote_errors(doc: dict[str, Any]) -> None:
    _verify_refuses_only_as_a_quote_error(sign_raw(json.dumps(doc).encode()))


def test_a_signed_document_with_an_out_of_range_expiry_is_invalid() -> None:
    doc = {"i": "q", "p": "alice", "m": MBID, "s": "buy", "c": 1, "e": 10**30}
    with pytest.raises(QuoteInvalid):
        verify(sign_raw(json.dumps(doc).encode()), SECRET, NOW)


def test_a_signed_document_with_an_unknown_side_is_invalid() -> None:
    doc = {"i": "q", "p": "alice", "m": MBID, "s": "hold", "c": 1, "e": 1}
    with pytest.raises(QuoteInvalid):
        verify(sign_raw(json.dumps(doc).encode()), SECRET, NOW)


@pytest.mark.parametrize(
    ("text", "side"), [("buy", Side.BUY), ("SELL", Side.SELL), (Side.BUY, Side.BUY)]
)
def test_a_side_parses_from_its_name_in_any_case(text: str | Side, side: Side) -> None:
    assert Side.parse(text) is side


def test_an_unknown_side_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as info:
        Side.parse("hold")
    assert info.value.fields["field"] == "side"
