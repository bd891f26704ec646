"""The daily close: under the market lock, fresh last.fm numbers become points
and dividends. Each artist closes in its own transaction, so a close that dies
half way resumes where it stopped and pays nobody twice.

Progress is reported by step (``CloseProgress``: cut-off, fetched, paid) so that a
close whose steps run apart (holders fixed at a short cut-off, numbers fetched
after it with the market open) reports through the same interface. Today the
market stays closed throughout, and each artist is fetched and paid in turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from injector import inject

from datm.domain import close as close_rules
from datm.domain.artist import Artist
from datm.domain.closes import CloseRecord
from datm.domain.errors import (
    DataError,
    DatmError,
    InvalidInput,
    MarketLockBusy,
    TransientError,
)
from datm.domain.player import LedgerKind
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.market import MarketLock
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.results import CloseProgress, CloseReport, CloseStep, FailedArtist
from datm.services.retry import retry_on_conflict
from datm.services.trophy_check import award_trophies
from datm.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total) after each artist
StepListener = Callable[[CloseProgress], None]
BATCH = 200
LOG_EVERY_ARTISTS = 1_000
LOG_EVERY_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _Paid:
    closed: bool
    dividends: int
    points: int
    holders: int


@dataclass
class _Tally:
    """One run's counts, as the artists go by."""

    total: int
    done: int = 0
    closed: int = 0
    skipped: int = 0
    dividends: int = 0
    points: int = 0
    holders: int = 0
    fetch_failures: int = 0
    failed: list[FailedArtist] = field(default_factory=list)

    def report(self, day: date, duration: float, refused: float) -> CloseReport:
        failed = tuple(self.failed)
        return CloseReport(
            day, False, not failed, self.closed, self.skipped, failed, self.dividends,
            self.points, self.holders, duration, refused,
        )  # fmt: skip

    def add(self, paid: _Paid) -> None:
        self.closed += paid.closed
        self.skipped += not paid.closed
        self.dividends += paid.dividends
        self.points += paid.points
        self.holders += paid.holders


class _Heartbeat:
    """An INFO line every LOG_EVERY_ARTISTS artists or LOG_EVERY_SECONDS, whichever
    comes first: a close of 100,000 artists runs for hours, often with no terminal."""

    def __init__(self, day: date) -> None:
        self._day = day
        self._started = self._last = time.monotonic()

    def tick(self, tally: _Tally) -> None:
        now = time.monotonic()
        if tally.done % LOG_EVERY_ARTISTS and now - self._last < LOG_EVERY_SECONDS:
            return
        self._last = now
        rate = tally.done / max(now - self._started, 1e-9)
        log.info(
            "close of %s: %d/%d artists (%d closed, %d skipped, %d failed), %.1f artists/s",
            self._day,
            tally.done,
            tally.total,
            tally.closed,
            tally.skipped,
            len(tally.failed),
            rate,
        )


class CloseService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        lastfm: LastfmPort,
        market_lock: MarketLock,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._uow = uow
        self._lastfm = lastfm
        self._lock = market_lock
        self._clock = clock
        self._lock_timeout = settings.market_lock_timeout_seconds

    def run(
        self,
        day: date | None = None,
        progress: Progress | None = None,
        on_step: StepListener | None = None,
    ) -> CloseReport:
        """Close ``day`` (today, UTC, by default). Trading is refused while it runs.

        ``progress(done, total)`` is called after each artist; ``on_step`` gets a
        ``CloseProgress`` for each step an artist goes through, and once for the
        cut-off. An exception from either stops the close, which a rerun resumes."""
        started = time.monotonic()
        day = day or self._clock.today()
        if day > self._clock.today():
            raise InvalidInput("day", "a day in the future cannot be closed")
        with self._uow() as uow:
            record = uow.closes.get(day)
            latest = uow.closes.latest_day()
        if record is not None and record.finished:
            log.info("close of %s: already closed", day)
            return CloseReport(day, True, True, 0, 0, (), 0, 0, 0, time.monotonic() - started, 0.0)
        if latest is not None and latest > day:
            raise InvalidInput("day", f"{latest} is already closed; {day} is too late")
        log.info(
            "close of %s: closing the market (trades in flight get %s s)", day, self._lock_timeout
        )
        refusing = time.monotonic()
        try:
            with self._lock.hold(self._lock_timeout):
                tally = self._run_locked(day, progress, on_step)
        except MarketLockBusy:
            raise  # refused before anything was done: the caller says so
        except BaseException as error:
            log.warning("close of %s stopped (%r); run it again to finish", day, error)
            raise
        report = tally.report(day, time.monotonic() - started, time.monotonic() - refusing)
        _log_end(report)
        return report

    def _run_locked(
        self, day: date, progress: Progress | None, on_step: StepListener | None
    ) -> _Tally:
        players, total = self._start(day)
        tally = _Tally(total)
        log.info("close of %s: market closed; %d artists to close, %d players", day, total, players)
        if on_step is not None:  # today's cut-off: the market closed, the artists counted
            on_step(CloseProgress(CloseStep.CUT_OFF, total, total))
        fresh = self._lastfm.fresh()  # never numbers players may have seen cached
        chart = fresh.chart_top_artists(1, 1)
        top_listeners = chart[0].listeners if chart else 0
        heartbeat = _Heartbeat(day)
        after: str | None = None
        while True:
            with self._uow() as uow:
                batch = uow.artists.page(after, BATCH)
            if not batch:
                break
            after = batch[-1].mbid
            for artist in batch:
                tally.done += 1
                tally.total = max(tally.total, tally.done)  # listed since the start
                self._close_one(artist, fresh, day, players, top_listeners, tally)
                if on_step is not None:
                    on_step(
                        CloseProgress(
                            CloseStep.FETCHED, tally.done, tally.total, tally.fetch_failures
                        )
                    )
                    on_step(
                        CloseProgress(CloseStep.PAID, tally.done, tally.total, len(tally.failed))
                    )
                if progress is not None:
                    progress(tally.done, tally.total)
                heartbeat.tick(tally)
        if not tally.failed:
            self._finish(day, tally.closed + tally.skipped)
        return tally

    def _close_one(
        self, artist: Artist, fresh: LastfmPort, day: date, players: int, top: int, tally: _Tally
    ) -> None:
        if close_rules.is_closed(artist, day):
            tally.skipped += 1
            return
        try:
            info = fresh.artist_info(mbid=artist.mbid)
        except (TransientError, DataError) as error:
            tally.fetch_failures += 1
            _fail(tally, day, artist.mbid, error)  # left open: a rerun picks it up
            return
        try:
            paid = self._close_artist(
                artist.mbid, info.listeners, info.playcount, day, players, top
            )
        except (TransientError, DataError) as error:
            _fail(tally, day, artist.mbid, error)
            return
        tally.add(paid)

    @retry_on_conflict()
    def _start(self, day: date) -> tuple[int, int]:
        with self._uow() as uow:
            if uow.closes.get(day) is None:
                uow.closes.put(CloseRecord(day, self._clock.now()))
            counts = uow.players.count(), uow.artists.count()
            uow.commit()
        return counts

    @retry_on_conflict()
    def _finish(self, day: date, artists: int) -> None:
        with self._uow() as uow:
            record = uow.closes.get(day) or CloseRecord(day, self._clock.now())
            uow.closes.put(CloseRecord(day, record.started_at, self._clock.now(), artists))
            uow.commit()

    @retry_on_conflict()
    def _close_artist(
        self, mbid: str, listeners: int, playcount: int, day: date, players: int, top: int
    ) -> _Paid:
        now = self._clock.now()
        with self._uow() as uow:
            # Players before artists, as every trade locks them.
            holders = [uow.players.get_for_update(n) for n in uow.players.holders_of(mbid)]
            artist = uow.artists.get_for_update(mbid)
            if close_rules.is_closed(artist, day):
                return _Paid(False, 0, 0, 0)
            result = close_rules.close_artist(artist, listeners, playcount, day, players, top)
            uow.history.put(result.history)
            for player in holders:
                if result.dividend:
                    uow.ledger.add(
                        player.change_money(
                            result.dividend, LedgerKind.DIVIDEND, now, f"{mbid}:{day.isoformat()}"
                        )
                    )
                player.add_points(result.points, day)
                award_trophies(uow, player, now, [artist])
            uow.commit()
        count = len(holders)
        return _Paid(True, result.dividend * count, result.points * count, count)


def _fail(tally: _Tally, day: date, mbid: str, error: DatmError) -> None:
    tally.failed.append(FailedArtist(mbid, error.code, error.message))
    log.warning("close of %s: artist %s left open (%s): %s", day, mbid, error.code, error.message)


def _log_end(report: CloseReport) -> None:
    r = report
    figures = (r.artists_closed, r.artists_skipped, len(r.failed), r.holders_paid)
    totals = (r.dividends_paid, r.points_awarded, r.duration_seconds, r.trading_refused_seconds)
    summary = (
        "%d artists closed, %d skipped, %d failed; %d holders paid %d in dividends and %d "
        "points; %.1f s, trading refused %.1f s"
    )
    if r.finished:
        log.info("close of %s finished: " + summary, r.day, *figures, *totals)
    else:
        log.warning("close of %s not finished (run it again): " + summary, r.day, *figures, *totals)
