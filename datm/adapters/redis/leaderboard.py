"""The leaderboards as Redis sorted sets (``board_lua`` says how they are laid out),
kept in step with the game database by every write that moves a player.

How it stays right, with many processes writing:
- A write marks itself pending (a token with a deadline) before its transaction
  commits, and after it, under one lock, reads the players it changed back from the
  database and puts them in: the last to take the lock puts what the database has
  last, whatever order the commits and the writes to Redis came in.
- A reader's script refuses (the caller asks the database) when the model was not
  built at the database's current epoch, or when a pending write is past its
  deadline (its process died between its commit and its write to Redis).
- A writer that cannot reach Redis bumps the database's epoch first: every reader
  then asks the database until the model is built again (``rebuild``, or
  ``datm leaderboard rebuild``), which it is, in the background, by the first
  reader that finds it out of date. A process reads the epoch at most every
  ``EPOCH_SECONDS`` (a round trip to Postgres per read would cost more than the
  read): a write that could not reach Redis while this process could is missed
  here for at most that long. Redis lost, flushed or down is seen at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import redis

from datm.adapters.redis import board_lua
from datm.adapters.redis.client import REDIS_FAILURES, RedisHealth
from datm.domain import boards
from datm.domain.boards import BoardRow
from datm.domain.errors import DatmError, UnknownLeague, UnknownPlayer
from datm.domain.periods import Period
from datm.domain.ranking import Standing
from datm.ports.leaderboard import Leaderboard, LeaderboardSource

log = logging.getLogger(__name__)

PENDING_MS = 60_000  # longest a write may take from before its commit to its write here
LOCK_SECONDS = 30  # the apply lock's lease: a holder that died lets go by then
LOCK_WAIT_SECONDS = 20.0
APPLY_CHUNK = 2_000  # players per script call: Redis serves others between calls
BUILD_CHUNK = 10_000
SCAN_BUDGET = 20_000  # members a read may walk past to find players with 0 points
REBUILD_LEASE_SECONDS = 3_600
EPOCH_SECONDS = 0.25


class RedisLeaderboard(Leaderboard):
    def __init__(self, client: redis.Redis, health: RedisHealth, source: LeaderboardSource) -> None:
        self._redis = client
        self._health = health
        self._source = source
        self._read = client.register_script(board_lua.READ)
        self._apply = client.register_script(board_lua.APPLY)
        self._pend = client.register_script(board_lua.PEND)
        self._swap = client.register_script(board_lua.SWAP)
        self._unlock = client.register_script(board_lua.UNLOCK)
        self._prefix: str | None = None
        self._rebuilding = threading.Lock()
        self._syncs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._syncer: threading.Thread | None = None
        self._starting = threading.Lock()
        self._epoch: tuple[int, float] = (-1, -EPOCH_SECONDS)  # (epoch, when read)

    def _current_epoch(self) -> int:
        epoch, read_at = self._epoch
        now = time.monotonic()
        if now - read_at >= EPOCH_SECONDS:
            epoch = self._source.epoch()
            self._epoch = (epoch, now)
        return epoch

    def _p(self) -> str:
        if self._prefix is None:
            self._prefix = f"datm:board:{self._source.identity()}:"
        return self._prefix

    # --- reads ------------------------------------------------------------------------

    def top(self, league: str, period: Period, limit: int, today: date) -> list[Standing] | None:
        return self._ask("top", period, today, league, limit)

    def near(self, player: str, period: Period, today: date) -> list[Standing] | None:
        return self._ask("near", period, today, player, 0)

    def position(self, player: str, period: Period, today: date) -> Standing | None:
        found = self._ask("position", period, today, player, 0)
        return None if found is None else found[0]

    def _ask(
        self, mode: str, period: Period, today: date, arg: str, limit: int
    ) -> list[Standing] | None:
        if not self._health.available():
            return None
        instance = boards.current_instance(period, today) or "daily"
        try:
            epoch = self._current_epoch()
            reply = self._read(
                args=[self._p(), mode, str(epoch), instance, arg, limit, SCAN_BUDGET]
            )
        except REDIS_FAILURES as error:
            self._health.failed(error)
            return None
        self._health.succeeded()
        status = reply[0]
        if status == b"ok":
            return [
                Standing(reply[i].decode(), int(reply[i + 1]), int(reply[i + 2]))
                for i in range(1, len(reply), 3)
            ]
        if status == b"unknown_league":
            raise UnknownLeague(arg)
        if status == b"unknown_player":
            raise UnknownPlayer(arg)
        if status != b"fallback":  # not a walk past its budget: out of date
            self._rebuild_in_background(today)
        return None

    # --- writes -----------------------------------------------------------------------

    @contextmanager
    def changing(self, players: Sequence[str], today: date) -> Iterator[None]:
        token = self._pending()
        try:
            yield
        finally:
            self._bring_in_step(
                token, today, lambda: (None, self._source.players(players)), players
            )

    @contextmanager
    def paying(self, day: date, today: date) -> Iterator[None]:
        token = self._pending()
        try:
            yield
        finally:

            def paid() -> tuple[tuple[date, str, date | None], list[BoardRow]]:
                after = self._redis.get(self._p() + f"paid:{day.isoformat()}")
                since = self._source.paid_since(day, _text(after))
                return (day, since.through, since.latest_close), since.players

            # In the background, in order: the next payment transaction runs in
            # Postgres while this one's players go to Redis. ``caught_up`` waits.
            self._syncs.put(lambda: self._bring_in_step(token, today, paid, ()))
            self._start_syncing()

    def caught_up(self) -> None:
        self._syncs.join()

    def _start_syncing(self) -> None:
        with self._starting:
            if self._syncer is not None and self._syncer.is_alive():
                return

            def run() -> None:
                while True:
                    sync = self._syncs.get()
                    try:
                        sync()
                    except Exception as error:  # never lost: the model steps aside
                        log.warning("leaderboard: a close's payment was not put in: %r", error)
                        self._missed("a close's payment was not put in")
                    finally:
                        self._syncs.task_done()

            self._syncer = threading.Thread(target=run, name="datm-board-sync", daemon=True)
            self._syncer.start()

    def _pending(self) -> str | None:
        """Mark a write in flight; if Redis cannot be told, the database is."""
        try:
            if self._health.available():
                token = self._pend(args=[self._p(), uuid.uuid4().hex, PENDING_MS])
                return _text(token)
        except REDIS_FAILURES as error:
            self._health.failed(error)
        self._missed("could not mark a write pending")
        return None

    def _bring_in_step(
        self, token: str | None, today: date, read: Any, names: Sequence[str]
    ) -> None:
        if token is None:
            return  # the epoch was bumped: the model waits for a rebuild
        try:
            with self._lock():
                close, rows = read()
                self._put(token, today, close, rows, names)
        except REDIS_FAILURES as error:
            self._health.failed(error)
            self._missed("could not bring the board in step")
        except DatmError as error:  # the database: the block's own error says more
            log.warning("leaderboard: could not read the players back: %s", error)
            self._missed("could not read the players back")

    def _put(
        self,
        token: str,
        today: date,
        close: tuple[date, str, date | None] | None,
        rows: list[BoardRow],
        names: Sequence[str],
    ) -> None:
        found = {row.name for row in rows}
        paid_on = close[0] if close is not None else None
        # A player the close paid has its totals of the close's day: four sets to
        # write, nothing else (the most common write, a million a day at full size).
        ops: list[list[Any]] = [
            ["paid", r.name, r.league, r.all_time, r.daily, r.weekly, r.monthly]
            if paid_on is not None and r.points_day == paid_on
            else _put_args(r)
            for r in rows
        ]
        ops += [["del", name] for name in names if name not in found]
        live = boards.live_instances(today)
        header: list[Any] = [len(live), *live]
        if paid_on is None:
            header += ["", "", ""]
        else:
            header += [
                f(paid_on)
                for f in (boards.day_instance, boards.week_instance, boards.month_instance)
            ]
        day, mark, latest = ("", "", "") if close is None else (
            close[0].isoformat(), close[1], close[2].isoformat() if close[2] else ""
        )  # fmt: skip
        chunks = [ops[i : i + APPLY_CHUNK] for i in range(0, len(ops), APPLY_CHUNK)] or [[]]
        for number, chunk in enumerate(chunks):
            last = number == len(chunks) - 1
            args: list[Any] = [self._p(), token if last else "", latest]
            args += [day if last else "", mark, *header]
            for op in chunk:
                args += op
            self._apply(args=args)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        key, me = self._p() + "lock", uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not self._redis.set(key, me, nx=True, ex=LOCK_SECONDS):
            if time.monotonic() > deadline:
                raise redis.TimeoutError("the leaderboard's apply lock stayed taken")
            time.sleep(0.005)
        try:
            yield
        finally:
            self._unlock(keys=[key], args=[me])  # only if still ours: a lease may lapse

    def _missed(self, why: str) -> None:
        log.warning("leaderboard: %s; it is not used until rebuilt", why)
        try:
            self._source.bump_epoch()
            self._epoch = (-1, -EPOCH_SECONDS)  # this process sees it at once
        except DatmError as error:  # the database is gone too: its write most likely failed with it
            log.warning("leaderboard: could not bump the epoch: %s", error)

    # --- rebuild ----------------------------------------------------------------------

    def _rebuild_in_background(self, today: date) -> None:
        if not self._rebuilding.acquire(blocking=False):
            return

        def run() -> None:
            try:
                self.rebuild(today)
            except Exception as error:  # a background thread: logged, the readers fall back
                log.warning("leaderboard: rebuild failed: %r", error)
            finally:
                self._rebuilding.release()

        threading.Thread(target=run, name="datm-board-rebuild", daemon=True).start()

    def rebuild(self, today: date) -> int:
        p = self._p()
        build = uuid.uuid4().hex
        if not self._redis.set(p + "rebuilding", build, nx=True, ex=REBUILD_LEASE_SECONDS):
            return 0  # another process rebuilds
        temp = f"{p}build:{build}:"
        try:
            seconds, micros = self._redis.time()  # Redis's clock, as the tokens'
            began = seconds * 1000 + micros // 1000
            count = 0
            with self._source.snapshot() as snap:
                live = set(boards.live_instances(today))
                if snap.latest_close is not None:
                    live.add(boards.day_instance(snap.latest_close))
                suffixes: set[str] = {"league", "leagues", "latest"}
                self._redis.sadd(temp + "leagues", *snap.leagues)
                if snap.latest_close is not None:
                    self._redis.set(temp + "latest", snap.latest_close.isoformat())
                for chunk in snap.players:
                    count += len(chunk)
                    self._build_chunk(temp, chunk, live, suffixes)
                epoch = snap.epoch
            self._swap(args=[p, temp, str(epoch), began, *sorted(suffixes)])
            self._epoch = (-1, -EPOCH_SECONDS)
            self._replay(today)
        finally:
            self._redis.delete(p + "rebuilding")
            for key in self._redis.scan_iter(match=temp + "*", count=1000):
                self._redis.delete(key)
        self._replay(today)
        log.info("leaderboard: rebuilt with %d players", count)
        return count

    def _build_chunk(
        self, temp: str, chunk: list[BoardRow], live: set[str], suffixes: set[str]
    ) -> None:
        pipe = self._redis.pipeline(transaction=False)
        members: dict[str, dict[str, int]] = {}
        points: dict[str, dict[str, int]] = {}
        for row in chunk:
            members.setdefault(f"m:{row.league}", {})[row.name] = 0
            for instance, value in boards.instances(row):
                if value and instance in live:
                    points.setdefault(f"p:{instance}:{row.league}", {})[row.name] = -value
        pipe.hset(temp + "league", mapping={row.name: row.league for row in chunk})
        for suffix, mapping in (*members.items(), *points.items()):
            pipe.zadd(temp + suffix, mapping)
            suffixes.add(suffix)
        pipe.execute()

    def _replay(self, today: date) -> None:
        """Put again the players written while the rebuild ran."""
        p = self._p()
        while names := [_text(n) for n in self._redis.spop(p + "replay", 1_000) or []]:
            with self._lock():
                self._put("", today, None, self._source.players(names), names)


def _text(value: Any) -> str:
    """A Redis reply as text ("" for none)."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _put_args(row: BoardRow) -> list[Any]:
    pairs = boards.instances(row)
    args: list[Any] = ["put", row.name, row.league, len(pairs)]
    for instance, value in pairs:
        args += [instance, value]
    return args
