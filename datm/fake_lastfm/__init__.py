"""A fake last.fm web service for tests and local runs, on recorded responses.

``FakeLastfm`` (Python) and ``datm fake-lastfm`` (command line) serve HTTPS on the
loopback address: API calls on ``/2.0/`` (POST or GET) answered from a directory of
VCR cassettes, last.fm's login (tokens, the user's consent page ``/api/auth/``,
session keys), API-key and signature checks, injectable faults and request counts.
Needs the test extra (trustme, PyYAML).
"""

from datm.fake_lastfm.faults import Fault, RequestCounts
from datm.fake_lastfm.logins import signature
from datm.fake_lastfm.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeLastfm

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "FakeLastfm",
    "Fault",
    "RequestCounts",
    "signature",
]
