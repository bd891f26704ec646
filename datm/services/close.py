"""The daily close: under the market lock, fresh last.fm numbers become points
and dividends. Each artist closes in its own transaction, so a close that dies
half way resumes where it stopped and pays nobody twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from injector import inject

from datm.domain import close as close_rules
from datm.domain.closes import CloseRecord
from datm.domain.errors import DataError, InvalidInput, TransientError
from datm.domain.player import LedgerKind
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.market import MarketLock
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.results import CloseReport
from datm.services.retry import retry_on_conflict
from datm.services.trophy_check import award_trophies
from datm.settings import Settings

Progress = Callable[[int, int], None]
BATCH = 200


@dataclass(frozen=True, slots=True)
class _Paid:
    closed: bool
    dividends: int
    points: int


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

    def run(self, day: date | None = None, progress: Progress | None = None) -> CloseReport:
        """Close ``day`` (today, UTC, by default). Trading is refused while it runs;
        ``progress(done, total)`` is called after each artist."""
        day = day or self._clock.today()
        if day > self._clock.today():
            raise InvalidInput("day", "a day in the future cannot be closed")
        with self._uow() as uow:
            record = uow.closes.get(day)
            latest = uow.closes.latest_day()
        if record is not None and record.finished:
            return CloseReport(day, True, True, 0, 0, (), 0, 0)
        if latest is not None and latest > day:
            raise InvalidInput("day", f"{latest} is already closed; {day} is too late")
        with self._lock.hold(self._lock_timeout):
            return self._run_locked(day, progress)

    def _run_locked(self, day: date, progress: Progress | None) -> CloseReport:
        players, total = self._start(day)
        fresh = self._lastfm.fresh()  # never numbers players may have seen cached
        chart = fresh.chart_top_artists(1, 1)
        top_listeners = chart[0].listeners if chart else 0
        closed = skipped = dividends = points = done = 0
        failed: list[str] = []
        after: str | None = None
        while True:
            with self._uow() as uow:
                batch = uow.artists.page(after, BATCH)
            if not batch:
                break
            after = batch[-1].mbid
            for artist in batch:
                done += 1
                if close_rules.is_closed(artist, day):
                    skipped += 1
                else:
                    try:
                        info = fresh.artist_info(mbid=artist.mbid)
                        paid = self._close_artist(
                            artist.mbid,
                            info.listeners,
                            info.playcount,
                            day,
                            players,
                            top_listeners,
                        )
                    except (TransientError, DataError):
                        failed.append(artist.mbid)  # left open: a rerun picks it up
                    else:
                        closed += paid.closed
                        skipped += not paid.closed
                        dividends += paid.dividends
                        points += paid.points
                if progress is not None:
                    progress(done, max(total, done))
        finished = not failed
        if finished:
            self._finish(day, closed + skipped)
        return CloseReport(day, False, finished, closed, skipped, tuple(failed), dividends, points)

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
                return _Paid(False, 0, 0)
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
        return _Paid(True, result.dividend * count, result.points * count)
