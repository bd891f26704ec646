"""JSON for the last.fm values datm caches in Redis, decoded by their declared types.

Redis is shared and reachable over the network, so what comes back from it is
untrusted input. Pickle would let whoever can write a key run code in every datm
process; this codec cannot: the document only carries data, and its shape is
checked against the type the caller expects (``ArtistInfo``, ``list[ArtistRef]``,
``ArtistRef | None``...), built only from datm's own frozen dataclasses. A key
that was tampered with can at worst hold wrong numbers of the right types;
anything else raises ``CodecError`` and the caller treats it as a miss.
"""

from __future__ import annotations

import functools
import hashlib
import types
import typing
from collections.abc import Callable
from typing import Any, Union

from datm.domain.lastfm import (
    ArtistInfo,
    ArtistRef,
    ChartArtist,
    Image,
    SimilarArtist,
    UserProfile,
)

VALUE_TYPES: tuple[type, ...] = (
    Image,
    ArtistRef,
    ChartArtist,
    SimilarArtist,
    ArtistInfo,
    UserProfile,
)
_FIELDS: dict[type, dict[str, Any]] = {cls: typing.get_type_hints(cls) for cls in VALUE_TYPES}

# Changes whenever a cached type gains, loses or retypes a field, so processes of
# different datm versions use different keys instead of misreading each other.
SCHEMA = hashlib.sha256(
    repr(
        [(cls.__name__, sorted(map(str, hints.items()))) for cls, hints in _FIELDS.items()]
    ).encode()
).hexdigest()[:8]


class CodecError(ValueError):
    """The document does not have the shape of the expected type."""


def encode(value: object) -> Any:
    """``value`` as JSON-ready data: dataclasses become objects, tuples lists."""
    fields = _FIELDS.get(type(value))
    if fields is not None:
        return {name: encode(getattr(value, name)) for name in fields}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    raise CodecError(f"{type(value).__name__} is not a cacheable last.fm value")


Decoder = Callable[[Any], Any]


def decode(hint: Any, document: Any) -> Any:
    """Build a value of type ``hint`` from ``document``, or raise ``CodecError``."""
    return decoder(hint)(document)


@functools.cache
def decoder(hint: Any) -> Decoder:
    """The decoding of ``hint``, worked out once per type: a shared-cache hit then
    costs no type introspection."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return _union(args)
    if origin is list:
        item = decoder(args[0])
        return lambda document: [item(x) for x in _list(document)]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = decoder(args[0])
        return lambda document: tuple(item(x) for x in _list(document))
    if hint in _FIELDS:
        return _dataclass(hint)
    if hint in (bool, int, float, str):
        return functools.partial(_scalar, hint)
    raise CodecError(f"no decoding for {hint}")


def _union(args: tuple[Any, ...]) -> Decoder:
    options = [arg for arg in args if arg is not type(None)]
    if len(options) != 1 or len(args) != 2:
        raise CodecError(f"no decoding for a union of {args}")
    decode_value = decoder(options[0])
    return lambda document: None if document is None else decode_value(document)


def _dataclass(cls: type) -> Decoder:
    fields = {name: decoder(hint) for name, hint in _FIELDS[cls].items()}

    def decode_dataclass(document: Any) -> Any:
        if not isinstance(document, dict):
            raise CodecError(f"{cls.__name__} needs an object")
        unknown = document.keys() - fields.keys()
        if unknown:
            raise CodecError(f"{cls.__name__} has no fields {sorted(unknown)}")
        # A missing field takes its default; one without a default fails in the constructor.
        try:
            return cls(**{name: fields[name](value) for name, value in document.items()})
        except TypeError as error:
            raise CodecError(str(error)) from None

    return decode_dataclass


def _scalar(hint: type, document: Any) -> Any:
    # bool is an int in Python: it is only ever a bool, never a number.
    if type(document) is hint:
        return document
    if hint is float and type(document) is int:
        return float(document)
    raise CodecError(f"expected {hint.__name__}, got {type(document).__name__}")


def _list(document: Any) -> list[Any]:
    if not isinstance(document, list):
        raise CodecError("expected a list")
    return document
