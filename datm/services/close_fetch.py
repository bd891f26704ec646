"""The close's second step: fresh numbers for every artist of record, fetched
from several threads within the close's share of the last.fm rate limit (the
port's limiter admits each request), stored in batches as they arrive.

- An artist last.fm does not know (a data error) keeps its previous numbers, with
  the reason recorded (game-rules.md).
- A transient failure puts the artist back in the queue. A run of them is an
  outage: fetching pauses with exponential back-off instead of burning through
  every artist, and once the pauses add up to ``outage_seconds`` the run ends,
  leaving the rest to a rerun. An artist that keeps failing while others succeed
  is kept after ``ATTEMPTS`` tries, so one bad artist cannot hold a close open:
  "others succeed" means last.fm answered another request since the artist first
  failed (or, for the last artist left, at any time in this run). Failures alone
  prove nothing: an artist may fail three times while the others' first requests
  are still on their way, in the same outage.
- Any other error (last.fm refusing the API key) ends the run at once.
Whatever ends the run, what was fetched is stored first.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from queue import Empty, SimpleQueue

from datm.domain import close as close_rules
from datm.domain.closes import ArtistNumbers, ArtistOfRecord, CutOff
from datm.domain.errors import DataError, LastfmUnavailable, TransientError
from datm.domain.lastfm import ArtistInfo
from datm.ports.close import CloseBook
from datm.ports.lastfm import LastfmPort

log = logging.getLogger(__name__)

PAGE = 1_000  # artists of record read per query
STORE_EVERY = 1_000  # numbers per write...
STORE_SECONDS = 2.0  # ...or at least this often
ATTEMPTS = 3  # transient failures of one artist, while others succeed, before it is kept
OUTAGE_RUN = 5  # transient failures in a row that make an outage
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    workers: int
    outage_seconds: float
    sleep: Callable[[float], None] = time.sleep


@dataclass
class FetchOutcome:
    fetched: int = 0  # numbers stored by this run
    kept: int = 0  # of which kept their previous numbers
    outage: LastfmUnavailable | None = None  # why the run stopped before the end


@dataclass
class _State:
    """Shared by the loop and the workers' results (the loop alone changes it)."""

    queue: deque[ArtistOfRecord] = field(default_factory=deque)
    read_all: bool = False  # every page of artists to fetch has been read
    attempts: dict[str, int] = field(default_factory=dict)
    answered: int = 0  # requests last.fm answered in this run (numbers or a data error)
    answered_at_first_failure: dict[str, int] = field(default_factory=dict)
    in_a_row: int = 0
    paused: float = 0.0
    pause: float = FIRST_PAUSE


# (fetched, kept, per second) so far, and seconds of a pause about to begin
Report = Callable[[int, int, float, float], None]


class Fetcher:
    def __init__(self, book: CloseBook, lastfm: LastfmPort, policy: FetchPolicy) -> None:
        self._book = book
        self._lastfm = lastfm
        self._policy = policy

    def run(self, cut: CutOff, report: Report) -> FetchOutcome:
        outcome = FetchOutcome()
        buffer: list[ArtistNumbers] = []
        stored_at = started = time.monotonic()
        state = _State()
        pages = self._pages(cut.day)
        pool = ThreadPoolExecutor(self._policy.workers, thread_name_prefix="datm-close-fetch")
        running: dict[Future[ArtistInfo], ArtistOfRecord] = {}
        # Finished fetches arrive here: cheaper per artist than wait() over all of
        # them, which counts at 100,000 artists when last.fm answers at once.
        finished: SimpleQueue[Future[ArtistInfo]] = SimpleQueue()

        def settle(done: Iterable[Future[ArtistInfo]]) -> None:
            for future in done:
                artist = running.pop(future)
                if future.cancelled():
                    state.queue.appendleft(artist)
                    continue
                alone = state.read_all and not running and not state.queue
                numbers = self._settle(cut, state, artist, future, alone)
                if numbers is not None:
                    buffer.append(numbers)
                    outcome.kept += numbers.failure is not None

        try:
            while True:
                if not state.queue and not state.read_all:
                    page = next(pages, [])
                    state.read_all = len(page) < PAGE  # a short page is the last
                    state.queue.extend(page)
                while state.queue and len(running) < self._policy.workers:
                    artist = state.queue.popleft()
                    future = pool.submit(self._fetch, artist)
                    running[future] = artist
                    future.add_done_callback(finished.put)
                if not running:
                    break
                settle(_arrived(finished))
                if state.in_a_row >= OUTAGE_RUN:
                    for future in running:  # stop sending: what is in flight finishes
                        future.cancel()
                    wait(running)
                    settle([f for f in _arrived(finished, 0.0) if f in running])
                if state.in_a_row >= OUTAGE_RUN:
                    outcome.fetched += self._store(cut.day, buffer)
                    outcome.outage = self._pause(state, outcome, report)
                    if outcome.outage is not None:
                        break
                now = time.monotonic()
                if len(buffer) >= STORE_EVERY or now - stored_at >= STORE_SECONDS:
                    outcome.fetched += self._store(cut.day, buffer)
                    stored_at = now
                    report(outcome.fetched, outcome.kept, outcome.fetched / (now - started), 0.0)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            outcome.fetched += self._store(cut.day, buffer)
        elapsed = max(time.monotonic() - started, 1e-9)
        report(outcome.fetched, outcome.kept, outcome.fetched / elapsed, 0.0)
        return outcome

    def _pages(self, day: date) -> Iterator[list[ArtistOfRecord]]:
        after: str | None = None
        while True:
            page = self._book.to_fetch(day, after, PAGE)
            if not page:
                return
            yield page
            after = page[-1].mbid

    def _fetch(self, artist: ArtistOfRecord) -> ArtistInfo:
        return self._lastfm.artist_info(mbid=artist.mbid)

    def _settle(
        self,
        cut: CutOff,
        state: _State,
        artist: ArtistOfRecord,
        future: Future[ArtistInfo],
        alone: bool,
    ) -> ArtistNumbers | None:
        """The numbers to store for a finished fetch, or None if it goes back in the
        queue. ``alone``: no other artist is left to fetch or in flight."""
        n, top = cut.players, cut.top_listeners
        try:
            info = future.result()
        except DataError as error:
            state.in_a_row = 0
            state.answered += 1
            log.warning("close of %s: artist %s keeps its numbers (%s): %s",
                        cut.day, artist.mbid, error.code, error.message)  # fmt: skip
            return close_rules.kept(artist, n, top, error.code, error.message)
        except TransientError as error:
            state.in_a_row += 1
            tries = state.attempts[artist.mbid] = state.attempts.get(artist.mbid, 0) + 1
            first = state.answered_at_first_failure.setdefault(artist.mbid, state.answered)
            lastfm_up = state.answered > (0 if alone else first)
            if tries >= ATTEMPTS and state.in_a_row < OUTAGE_RUN and lastfm_up:
                log.warning("close of %s: artist %s keeps its numbers after %d failures: %s",
                            cut.day, artist.mbid, tries, error.message)  # fmt: skip
                return close_rules.kept(artist, n, top, error.code, error.message)
            state.queue.append(artist)
            return None
        state.in_a_row = 0
        state.answered += 1
        return close_rules.numbers(artist, info.listeners, info.playcount, n, top)

    def _pause(
        self, state: _State, outcome: FetchOutcome, report: Report
    ) -> LastfmUnavailable | None:
        left = self._policy.outage_seconds - state.paused
        if left <= 0:
            return LastfmUnavailable(f"{state.in_a_row} failures in a row; the close stops here")
        pause = min(state.pause, left)
        log.warning("close: last.fm failing (%d in a row); fetching pauses %.1f s",
                    state.in_a_row, pause)  # fmt: skip
        report(outcome.fetched, outcome.kept, 0.0, pause)
        self._policy.sleep(pause)
        state.paused += pause
        state.pause = min(state.pause * 2, LONGEST_PAUSE)
        # One try goes out after the pause: a failure pauses again, a success resumes.
        state.in_a_row = OUTAGE_RUN - 1
        state.attempts.clear()  # an outage's failures are not the artists' own
        state.answered_at_first_failure.clear()
        return None

    def _store(self, day: date, buffer: list[ArtistNumbers]) -> int:
        if not buffer:
            return 0
        stored = self._book.store_numbers(day, buffer)
        buffer.clear()
        return stored


def _arrived(
    finished: SimpleQueue[Future[ArtistInfo]], timeout: float = STORE_SECONDS
) -> list[Future[ArtistInfo]]:
    """The fetches finished since the last look: waits up to ``timeout`` for one."""
    try:
        done = [finished.get(timeout=timeout) if timeout else finished.get_nowait()]
    except Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except Empty:
            return done
