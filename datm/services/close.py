"""The daily close (game-rules.md): it pays the holders of record.

1. Cut-off: under the market lock, for as short a moment as the store can make
   it, the holders of record, each listed artist's price, N and L_top are fixed
   (``CloseBook.cut_off``). L_top is read from last.fm just before the lock, so
   that no network call happens while trading is refused.
2. Fresh numbers, past every cache, from several threads within the close's
   share of the last.fm rate limit, stored as they arrive (``close_fetch``).
   Trading goes on.
3. Payment, once every artist's numbers are in, in large set-based batches, each
   one transaction: the holders of record by ranges of player names (each player
   paid once for all the artists held), then the artists closed (history,
   closing price and numbers, max shares). A run that could not have every
   artist's numbers (a long last.fm outage) pays nothing and ends unfinished.

Every step is recorded in the store, so a close that dies anywhere is run again
and finishes the same close: the same holders of record, nobody paid twice,
nobody missed. Days close in order: a run first finishes an earlier close left
unfinished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from injector import inject

from datm.domain.closes import CloseProgressCounts, CutOff, PaidBatch
from datm.domain.errors import InvalidInput
from datm.ports.clock import Clock
from datm.ports.close import CloseBook
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard
from datm.ports.market import MarketLock
from datm.services.checks import check_optional_callable
from datm.services.close_fetch import Fetcher, FetchPolicy
from datm.services.results import CloseProgress, CloseReport, CloseStep, FailedArtist
from datm.services.retry import retry_on_conflict
from datm.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (artists closed, artists of record) after each batch
StepListener = Callable[[CloseProgress], None]
ANOTHER_CLOSE_POLL = 0.2  # seconds between looks at batches another close is paying
LOG_EVERY_SECONDS = 10.0


@dataclass
class _Tally:
    """One run's counts, over every day it closed."""

    closed: int = 0
    skipped: int = 0
    dividends: int = 0
    points: int = 0
    holders: int = 0
    refused: float = 0.0
    failed: list[FailedArtist] = field(default_factory=list)


class CloseService:
    @inject
    def __init__(
        self,
        book: CloseBook,
        lastfm: LastfmPort,
        market_lock: MarketLock,
        clock: Clock,
        settings: Settings,
        board: Leaderboard,
    ) -> None:
        self._board = board
        self._book = book
        self._lastfm = lastfm
        self._lock = market_lock
        self._clock = clock
        self._lock_timeout = settings.market_lock_timeout_seconds
        self._batch = settings.close_pay_batch
        self._holdings = settings.close_pay_holdings
        self._policy = FetchPolicy(settings.close_fetch_workers, settings.close_outage_seconds)

    def run(
        self,
        day: date | None = None,
        progress: Progress | None = None,
        on_step: StepListener | None = None,
    ) -> CloseReport:
        """Close ``day`` (today, UTC, when None), finishing an earlier unfinished
        close first. Trading is refused during the cut-off only.

        ``on_step`` gets a ``CloseProgress`` for the cut-off, as numbers come in
        and after each payment batch (holders, then artists); ``progress(closed,
        total)`` after each batch of artists.
        An exception from either stops the close, which a rerun finishes. The
        report counts what this run did; ``finished`` is False when last.fm was
        out for longer than ``CLOSE_OUTAGE_SECONDS`` (run it again later)."""
        started = time.monotonic()
        day = self._checked(day)
        check_optional_callable("progress", progress)
        check_optional_callable("on_step", on_step)
        record = self._book.record(day)
        if record is not None and record.finished:
            log.info("close of %s: already closed", day)
            return CloseReport(day, True, True, 0, 0, (), 0, 0, 0, time.monotonic() - started, 0.0)
        latest = self._book.latest_day()
        if latest is not None and latest > day:
            raise InvalidInput("day", f"{latest} is already closed; {day} is too late")
        tally = _Tally()
        finished = False
        try:
            earlier = self._book.unfinished_before(day)
            while earlier is not None:
                log.info("close of %s: finishing the close of %s first", day, earlier)
                if not self._close(earlier, tally, progress, on_step):
                    break
                earlier = self._book.unfinished_before(day)
            else:
                finished = self._close(day, tally, progress, on_step)
        except BaseException as error:
            log.warning("close of %s stopped (%r); run it again to finish", day, error)
            raise
        report = CloseReport(
            day, False, finished, tally.closed, tally.skipped, tuple(tally.failed),
            tally.dividends, tally.points, tally.holders, time.monotonic() - started,
            tally.refused,
        )  # fmt: skip
        _log_end(report)
        return report

    def _checked(self, day: object) -> date:
        today = self._clock.today()
        if day is None:
            return today
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidInput("day", "must be a date (datetime.date), or None for today")
        if day > today:
            raise InvalidInput("day", "a day in the future cannot be closed")
        return day

    def _close(
        self, day: date, tally: _Tally, progress: Progress | None, on_step: StepListener | None
    ) -> bool:
        """Run every step of the close of ``day`` still to run; True once finished."""
        notify = on_step or (lambda _: None)
        cut = self._cut_off(day, tally)
        log.info(
            "close of %s: cut-off at %s; %d artists and %d holdings of record, %d players",
            day, cut.at.isoformat(), cut.artists, cut.holdings, cut.players,
        )  # fmt: skip
        notify(CloseProgress(CloseStep.CUT_OFF, cut.artists, cut.artists, day=day))
        counts = self._book.progress(day)
        tally.skipped += counts.paid

        heartbeat = _Heartbeat()

        def fetched(stored: int, kept: int, rate: float, paused: float = 0.0) -> None:
            done, failed = counts.fetched + stored, counts.kept + kept
            if heartbeat.due():
                log.info("close of %s: numbers of %d/%d artists in (%d kept theirs), %.1f/s",
                         day, done, counts.artists, failed, rate)  # fmt: skip
            notify(
                CloseProgress(CloseStep.FETCHED, done, counts.artists, failed, rate, day, paused)
            )

        if counts.fetched < counts.artists:
            outcome = Fetcher(self._book, self._lastfm.fresh(), self._policy).run(cut, fetched)
            if outcome.outage is not None:
                log.warning("close of %s: %s", day, outcome.outage.message)
            counts = self._book.progress(day)
        else:
            fetched(0, 0, 0.0)
        if counts.fetched == counts.artists:
            self._pay_holders(day, counts, tally, notify)
            self._pay_artists(day, counts, tally, notify, progress)
        finished = self._finish(day)
        tally.failed += [FailedArtist(*kept) for kept in self._book.kept(day)]
        return finished

    def _pay_holders(
        self, day: date, counts: CloseProgressCounts, tally: _Tally, notify: StepListener
    ) -> None:
        """Every holding of record, by ranges of player names; another close of the
        day paying at the same time takes the ranges in turn with this one."""
        done, total = counts.holders_paid, counts.holdings
        notify(CloseProgress(CloseStep.HOLDERS, done, total, day=day))  # paid before
        while True:
            batch = self._pay(self._book.pay_holders, day, self._holdings)
            if not batch.holdings:
                break
            done += batch.holdings
            tally.holders += batch.holders
            tally.dividends += batch.dividends
            tally.points += batch.points
            log.info("close of %s: %d/%d holdings of record paid", day, done, total)
            notify(CloseProgress(CloseStep.HOLDERS, min(done, total), total, day=day))
        if done < total:  # holders reset or gone since the cut-off: nothing was due
            notify(CloseProgress(CloseStep.HOLDERS, total, total, day=day))

    def _pay_artists(
        self,
        day: date,
        counts: CloseProgressCounts,
        tally: _Tally,
        notify: StepListener,
        progress: Progress | None,
    ) -> None:
        paid = counts.paid
        notify(CloseProgress(CloseStep.PAID, paid, counts.artists, day=day))  # paid before
        while True:
            batch = self._pay(self._book.pay_artists, day, self._batch)
            if not batch.artists:
                if not self._paying_elsewhere(day):
                    break
                time.sleep(ANOTHER_CLOSE_POLL)
                continue
            paid += batch.artists
            tally.closed += batch.artists
            log.info("close of %s: %d/%d artists closed", day, paid, counts.artists)
            notify(CloseProgress(CloseStep.PAID, paid, counts.artists, day=day))
            if progress is not None:
                progress(paid, counts.artists)

    @retry_on_conflict()
    def _cut_off(self, day: date, tally: _Tally) -> CutOff:
        record = self._book.record(day)
        top = 0
        if record is None or not record.cut_off:
            # Past every cache, before the lock: no network call while trading is refused.
            chart = self._lastfm.fresh().chart_top_artists(1, 1)
            top = chart[0].listeners if chart else 0
            log.info("close of %s: closing the market for the cut-off", day)
        return self._book.cut_off(day, self._clock.now(), top, self._refusing(tally))

    @contextmanager
    def _refusing(self, tally: _Tally) -> Iterator[None]:
        """The market lock, for as long as the store holds it, timed."""
        refusing = time.monotonic()
        try:
            with self._lock.hold(self._lock_timeout):
                yield
        finally:
            tally.refused += time.monotonic() - refusing

    @retry_on_conflict()
    def _pay(
        self, pay: Callable[[date, int, datetime], PaidBatch], day: date, limit: int
    ) -> PaidBatch:
        # The leaderboards are brought in step with what the batch paid, before
        # the next batch: at the finish the close's holders of record are forgotten.
        with self._board.paying(day, self._clock.today()):
            return pay(day, limit, self._clock.now())

    def _paying_elsewhere(self, day: date) -> bool:
        """Whether artists with numbers are still not closed: another close of the
        day, run at the same time, holds their batch (a batch it dies in is rolled
        back and comes to this one)."""
        counts = self._book.progress(day)
        return counts.paid < counts.fetched

    def _finish(self, day: date) -> bool:
        # The finish forgets the holders of record the model reads its payments
        # from: every payment is in first. After it, the close is in the model.
        self._board.caught_up()
        try:
            return self._finish_paid(day)
        finally:
            self._board.caught_up()

    @retry_on_conflict()
    def _finish_paid(self, day: date) -> bool:
        with self._board.paying(day, self._clock.today()):  # a close paying nobody ends here
            return self._book.finish(day, self._clock.now())


class _Heartbeat:
    """An INFO line at most every LOG_EVERY_SECONDS while numbers come in: a close
    of 100,000 artists fetches for hours, often with no terminal."""

    def __init__(self) -> None:
        self._last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < LOG_EVERY_SECONDS:
            return False
        self._last = now
        return True


def _log_end(report: CloseReport) -> None:
    r = report
    figures = (r.artists_closed, r.artists_skipped, len(r.failed), r.holders_paid)
    totals = (r.dividends_paid, r.points_awarded, r.duration_seconds, r.trading_refused_seconds)
    summary = (
        "%d artists closed, %d skipped, %d kept their numbers; %d holders paid %d in "
        "dividends and %d points; %.1f s, trading refused %.3f s"
    )
    if r.finished:
        log.info("close of %s finished: " + summary, r.day, *figures, *totals)
    else:
        log.warning("close of %s not finished (run it again): " + summary, r.day, *figures, *totals)
