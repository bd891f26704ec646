"""Recorded last.fm answers (VCR.py cassettes) and how a request finds its answer.

A request matches a recording when both have the same method and parameters once
each side has dropped:

- ``api_key``, ``api_sig`` and ``sk``: the recorder stripped these credentials;
- ``user`` and ``username``: the recorder redacted the user too (the documents say
  ``REDACTED_USER``), so a recorded user call answers for any user;
- ``format`` and ``callback``: how to answer, not what;
- a parameter at last.fm's documented default (``page=1``, ``limit=50`` for charts,
  ``limit=30`` for search, ``period=overall``): last.fm answers alike with or
  without it, and clients differ in whether they send it.

Method names compare case-blind, as last.fm's do. The interactions recorded for
one request are served in order; the last one then repeats.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

# libyaml's loader when PyYAML has it: 6 ms instead of 180 ms for the 150 kB of recordings
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
IGNORED = frozenset({"api_key", "api_sig", "sk", "user", "username", "format", "callback"})
DEFAULTS: dict[str, dict[str, str]] = {
    "artist.search": {"limit": "30"},
    "chart.gettopartists": {"limit": "50"},
    "geo.gettopartists": {"limit": "50"},
    "tag.gettopartists": {"limit": "50"},
    "user.gettopartists": {"limit": "50", "period": "overall"},
    "library.getartists": {"limit": "50"},
}
COMMON_DEFAULTS = {"page": "1", "autocorrect": "0"}

Key = tuple[tuple[str, str], ...]


def parameters(query: str) -> dict[str, str]:
    """A form-encoded string as a dict (a repeated name keeps its last value)."""
    return dict(parse_qsl(query, keep_blank_values=True, encoding="utf-8"))


def request_key(params: Mapping[str, str]) -> Key:
    method = params.get("method", "").lower()
    defaults = {**COMMON_DEFAULTS, **DEFAULTS.get(method, {})}
    kept = {
        name: value
        for name, value in params.items()
        if name not in IGNORED and defaults.get(name) != value
    }
    kept["method"] = method
    return tuple(sorted(kept.items()))


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int
    body: str
    source: str  # the cassette file it came from


class Recordings:
    """Every interaction of a directory of cassettes, by request key. Thread-safe."""

    def __init__(self, responses: Mapping[Key, list[RecordedResponse]]) -> None:
        self._responses = {key: list(found) for key, found in responses.items()}
        self._served: dict[Key, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: str | Path) -> Recordings:
        folder = Path(directory)
        if not folder.is_dir():
            raise FileNotFoundError(f"no directory of recordings at {folder}")
        files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        responses: dict[Key, list[RecordedResponse]] = {}
        for path in files:
            for key, response in _interactions(path):
                responses.setdefault(key, []).append(response)
        return cls(responses)

    def __len__(self) -> int:
        return sum(len(found) for found in self._responses.values())

    def answer(self, params: Mapping[str, str]) -> RecordedResponse | None:
        """The next recorded answer to this request, or None when none was recorded."""
        key = request_key(params)
        found = self._responses.get(key)
        if not found:
            return None
        with self._lock:
            served = self._served.get(key, 0)
            self._served[key] = served + 1
        return found[min(served, len(found) - 1)]

    def rewind(self) -> None:
        with self._lock:
            self._served.clear()


def _interactions(path: Path) -> Iterable[tuple[Key, RecordedResponse]]:
    cassette: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    if not isinstance(cassette, dict):
        raise ValueError(f"{path.name}: not a VCR cassette")
    for interaction in cassette.get("interactions") or []:
        request, response = interaction["request"], interaction["response"]
        params = parameters(urlsplit(str(request.get("uri", ""))).query)
        params.update(parameters(_text(request.get("body"))))
        body = response.get("body") or {}
        yield (
            request_key(params),
            RecordedResponse(
                status=int(response["status"]["code"]),
                body=_text(body.get("string") if isinstance(body, dict) else body),
                source=path.name,
            ),
        )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
