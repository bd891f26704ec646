"""``AllOf``: a request goes out only when two limits both admit it.

The daily close's last.fm requests pass its own limit (its share of the rate,
``CLOSE_LASTFM_SHARE``) and then the limit every process shares at the full rate:
the close never takes more than its share, and the close and the api together
never more than the rate. The close's own limit is asked first, so close
requests beyond its share never queue at the shared limit, where they would
compete with the api's.

A slot taken from the first limit is not given back when the second refuses
(``LastfmUnavailable`` after its bounded wait): a moving window cannot return a
hit, and the cost is one unused request of the close's share. A request the first
admitted may wait at the second and go out with the next window's: the close's
share holds over any two seconds, not to the request in every single one, while
the second limit holds the total to the rate in every one.
"""

from __future__ import annotations

from datm.ports.rate_limit import RateLimiter


class AllOf(RateLimiter):
    """Admits when ``first`` has admitted, then ``second``. Thread-safe if both are."""

    def __init__(self, first: RateLimiter, second: RateLimiter) -> None:
        self._first = first
        self._second = second

    def acquire(self) -> None:
        self._first.acquire()
        self._second.acquire()

    def __repr__(self) -> str:
        return f"AllOf({self._first!r}, {self._second!r})"
