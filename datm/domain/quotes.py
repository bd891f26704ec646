"""Quotes (price guarantees): HMAC-signed, bound to one player, artist and side.

A signed quote is ``<payload>.<signature>``: the payload is URL-safe base64 of a
compact JSON document, the signature HMAC-SHA256 over the payload with the
server secret. The secret is an argument; it never lives in code.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from datm.domain.errors import InvalidInput, QuoteExpired, QuoteInvalid

DEFAULT_VALIDITY = timedelta(seconds=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
MIN_SECRET_BYTES = 16


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"

    @classmethod
    def parse(cls, value: str | Side) -> Side:
        try:
            return value if isinstance(value, Side) else cls(str(value).lower())
        except ValueError:
            raise InvalidInput("side", f"must be 'buy' or 'sell', not {value!r}") from None


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    player: str
    mbid: str
    side: Side
    price: int
    expires_at: datetime

    def _payload(self) -> bytes:
        doc = {
            "i": self.id,
            "p": self.player,
            "m": self.mbid,
            "s": self.side.value,
            "c": self.price,
            "e": (self.expires_at.astimezone(UTC) - _EPOCH) // _MILLISECOND,
        }
        raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise InvalidInput("quote secret", f"must be at least {MIN_SECRET_BYTES} bytes")


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.digest(secret, payload, hashlib.sha256).hex()  # one C call: a trade pays it


def sign(quote: Quote, secret: bytes) -> str:
    _check_secret(secret)
    payload = quote._payload()
    return f"{payload.decode()}.{_mac(secret, payload)}"


def verify(signed: str, secret: bytes, now: datetime) -> Quote:
    """The quote, if the signature holds and it has not expired."""
    quote = opened(signed, secret)
    if now >= quote.expires_at:
        raise QuoteExpired(quote.expires_at.isoformat())
    return quote


def opened(signed: str, secret: bytes) -> Quote:
    """The quote, if the signature holds, expired or not (to look its trade up)."""
    _check_secret(secret)
    if not isinstance(signed, str) or not signed.isascii() or signed.count(".") != 1:
        raise QuoteInvalid("malformed")
    payload_text, signature = signed.split(".")
    payload = payload_text.encode()
    if not hmac.compare_digest(_mac(secret, payload), signature):
        raise QuoteInvalid("signature does not match")
    try:
        doc = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        quote = Quote(
            id=str(doc["i"]),
            player=str(doc["p"]),
            mbid=str(doc["m"]),
            side=Side(doc["s"]),
            price=int(doc["c"]),
            expires_at=_EPOCH + int(doc["e"]) * _MILLISECOND,
        )
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):
        raise QuoteInvalid("malformed") from None
    return quote
