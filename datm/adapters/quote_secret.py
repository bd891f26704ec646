"""Where the secret that signs quotes comes from."""

from __future__ import annotations

import secrets

from datm.domain.errors import InvalidInput
from datm.domain.quotes import MIN_SECRET_BYTES
from datm.ports.secrets import QuoteSecret

RANDOM_SECRET_BYTES = 32


class ConfiguredQuoteSecret(QuoteSecret):
    """A secret from configuration; every process sharing a database must be given
    the same one. A str is taken as its UTF-8 bytes."""

    def __init__(self, secret: bytes | str) -> None:
        value = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(value) < MIN_SECRET_BYTES:
            raise InvalidInput("quote secret", f"must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = value

    def get(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"


class RandomQuoteSecret(QuoteSecret):
    """A secret drawn once per instance. Fine only for a single process with the
    in-memory store: another process, or a restart, would refuse every quote this
    one signed."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(RANDOM_SECRET_BYTES)

    def get(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"
