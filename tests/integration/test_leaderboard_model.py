"""The leaderboards' read model in Redis against the boards counted by Postgres
itself (``PostgresStandings``), after hypothesis-generated games: players joining,
buying, closes on days that cross weeks and months, resets, deletions, Redis
flushed, the database changed behind datm's back, rebuilds. Whenever the model
answers, it answers as the database; it declines only when it is not built at the
database's epoch."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import backends
import pytest
import redis
from harness import START, Game
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from datm.adapters.clock import ManualClock
from datm.adapters.redis import leaderboard as leaderboard_module
from datm.adapters.redis.leaderboard import RedisLeaderboard
from datm.domain.errors import NoneRemaining, NotEnoughMoney, TransientError
from datm.domain.periods import Period
from datm.ports.close import CloseBook
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard, Standings
from datm.ports.market import MarketLock
from datm.services.close import CloseService
from datm.services.results import LoginResult
from datm.settings import Settings

pytestmark = pytest.mark.postgres

LEAGUES = ("bronze", "silver", "gold")
STEPS = st.one_of(
    st.tuples(st.just("login")),
    st.tuples(st.just("buy"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("close")),
    st.tuples(st.just("days"), st.integers(1, 12)),  # across weeks and months
    st.tuples(st.just("reset"), st.integers(0, 5)),
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("flush")),  # Redis lost everything (a restart)
    st.tuples(st.just("behind"), st.integers(0, 5)),  # points changed by hand in SQL
    st.tuples(st.just("move"), st.integers(0, 5)),  # a league changed by hand in SQL
    st.tuples(st.just("midnight")),  # one second past the next midnight, UTC
    st.tuples(st.just("rebuild")),
)


@pytest.fixture
def no_background_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilds happen where the steps say: a rebuild left running in the
    background by one example must not land in the next one's game. And each read
    reads the epoch: the "behind" step bumps it by hand, as another process would."""
    monkeypatch.setattr(RedisLeaderboard, "_rebuild_in_background", lambda self, today: None)
    monkeypatch.setattr(leaderboard_module, "EPOCH_SECONDS", 0.0)


class World:
    def __init__(self) -> None:
        self.clock = ManualClock(START)
        injector = backends.build_injector("postgres-redis", self.clock)
        self.game = Game(injector, self.clock, injector.get(LastfmPort))  # type: ignore[type-abstract]
        self.board = injector.get(Leaderboard)  # type: ignore[type-abstract]
        self.standings = injector.get(Standings)  # type: ignore[type-abstract]
        self.engine = injector.get(Engine)
        self.redis = redis.Redis.from_url(backends.BOARD_REDIS_URL)
        self.players: list[LoginResult] = []
        self.artists = [a.mbid for a in self.game.affordable()[:6]]
        self.built = True  # the model is at the database's epoch

    def forget_model(self) -> None:
        """Everything Redis held of this game, gone (as a restart or FLUSHDB would;
        only this game's keys: another test run may share the Redis database)."""
        prefix: str = self.board._p()  # type: ignore[attr-defined]
        for key in self.redis.scan_iter(match=prefix + "*", count=1000):
            self.redis.delete(key)

    def who(self, index: int) -> LoginResult | None:
        return self.players[index % len(self.players)] if self.players else None

    def step(self, step: tuple[Any, ...]) -> None:
        game, kind = self.game, step[0]
        if kind == "login":
            self.players.append(game.login())
        elif kind == "buy" and (who := self.who(step[1])) is not None:
            mbid = self.artists[step[2] % len(self.artists)]
            held = {h.market.mbid for h in game.players.profile(who.player, False).holdings}
            if mbid not in held:
                with contextlib.suppress(NoneRemaining, NotEnoughMoney):  # the rules refuse
                    game.buy(who, mbid)
        elif kind == "close":
            assert game.close.run().finished
        elif kind == "days":
            game.next_day(step[1])
        elif kind == "reset" and (who := self.who(step[1])) is not None:
            game.players.reset(who.session_key)
        elif kind == "delete" and (who := self.who(step[1])) is not None:
            game.players.delete(who.session_key)
            self.players.remove(who)
        elif kind == "flush":
            self.forget_model()
            self.built = False
        elif kind == "behind" and (who := self.who(step[1])) is not None:
            with self.engine.begin() as conn:  # as an operator would, then says so
                conn.execute(
                    text(
                        "UPDATE players SET points_all_time = points_all_time + 7 WHERE name = :n"
                    ),
                    {"n": who.player},
                )
                conn.execute(text("SELECT nextval('board_epoch')"))
            self.built = False
        elif kind == "move" and (who := self.who(step[1])) is not None:
            with self.engine.begin() as conn:
                move = "UPDATE players SET league = CASE league WHEN 'bronze' THEN 'silver'"
                move += " WHEN 'silver' THEN 'gold' ELSE 'bronze' END WHERE name = :n"
                conn.execute(text(move), {"n": who.player})
                conn.execute(text("SELECT nextval('board_epoch')"))
            self.built = False
        elif kind == "midnight":
            now = self.clock.now()
            midnight = datetime.combine(now.date() + timedelta(days=1), dt_time(), tzinfo=UTC)
            self.clock.advance(midnight - now + timedelta(seconds=1))
        elif kind == "rebuild":
            self.board.rebuild(self.clock.today())
            self.built = True

    def check(self) -> None:
        today = self.clock.today()
        with self.engine.connect() as conn:
            names = [r[0] for r in conn.execute(text("SELECT name FROM players ORDER BY name"))]
        for period in Period:
            for league in LEAGUES:
                self.same(self.board.top(league, period, 1000, today),
                          self.standings.top(league, period, 1000, today))  # fmt: skip
                self.same(self.board.top(league, period, 3, today),
                          self.standings.top(league, period, 3, today))  # fmt: skip
            for name in names:
                self.same(self.board.near(name, period, today),
                          self.standings.near(name, period, today))  # fmt: skip
                self.same(self.board.position(name, period, today),
                          self.standings.position(name, period, today))  # fmt: skip

    def same(self, got: Any, counted: Any) -> None:
        if self.built:
            assert got is not None, "the model declined although it is built"
        if got is not None:
            assert got == counted


@pytest.fixture
def worlds() -> Iterator[list[World]]:
    made: list[World] = []
    yield made
    backends.close_all()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEPS, min_size=1, max_size=14))
def test_the_model_answers_as_the_database_after_any_game(
    no_background_rebuild: None, steps: list[tuple[Any, ...]]
) -> None:
    world = World()
    try:
        for _ in range(4):
            world.step(("login",))
        world.check()
        for step in steps:
            world.step(step)
            world.check()
    finally:
        backends.close_all()


def test_a_model_lost_with_redis_is_rebuilt_by_the_first_reader_who_finds_it_gone() -> None:
    world = World()
    try:
        for _ in range(3):
            world.step(("login",))
        world.step(("buy", 0, 0))
        world.game.next_day()
        world.step(("close",))
        today = world.clock.today()
        expected = world.standings.top("bronze", Period.ALL_TIME, 10, today)
        assert world.board.top("bronze", Period.ALL_TIME, 10, today) == expected

        world.forget_model()
        assert world.board.top("bronze", Period.ALL_TIME, 10, today) is None  # asks Postgres
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline:
            time.sleep(0.05)
            found = world.board.top("bronze", Period.ALL_TIME, 10, today)
        assert found == expected
    finally:
        backends.close_all()


def test_a_write_that_cannot_reach_redis_makes_the_model_step_aside(
    no_background_rebuild: None,
) -> None:
    world = World()
    try:
        for _ in range(2):
            world.step(("login",))
        today: date = world.clock.today()
        assert world.board.position(world.players[0].player, Period.ALL_TIME, today) is not None
        client: Any = world.board._redis  # type: ignore[attr-defined]

        def unreachable(*args: Any, **kwargs: Any) -> Any:
            raise redis.ConnectionError("Redis is unreachable (the test says so)")

        client.execute_command = unreachable
        try:
            world.step(("login",))  # a new player the model cannot be told of
        finally:
            del client.execute_command
        world.board._health.succeeded()  # type: ignore[attr-defined]
        newcomer = world.players[-1].player
        assert world.board.position(newcomer, Period.ALL_TIME, today) is None
        world.step(("rebuild",))
        counted = world.standings.position(newcomer, Period.ALL_TIME, today)
        assert world.board.position(newcomer, Period.ALL_TIME, today) == counted
    finally:
        backends.close_all()


def test_a_write_whose_process_died_before_redis_heard_of_it_sends_readers_to_postgres() -> None:
    """A pending write past its deadline: its process committed (perhaps) and died
    before it brought the model in step. Readers ask Postgres and have the model
    rebuilt, which forgets the dead write (the snapshot has it)."""
    world = World()
    try:
        for _ in range(3):
            world.step(("login",))
        today = world.clock.today()
        assert world.board.top("bronze", Period.ALL_TIME, 10, today) is not None
        prefix: str = world.board._p()  # type: ignore[attr-defined]
        seconds, _ = world.redis.time()
        long_ago = (seconds - 120) * 1000
        world.redis.zadd(prefix + "pending", {f"{long_ago}:died": long_ago + 60_000})

        assert world.board.top("bronze", Period.ALL_TIME, 10, today) is None
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline:
            time.sleep(0.05)
            found = world.board.top("bronze", Period.ALL_TIME, 10, today)
        assert found == world.standings.top("bronze", Period.ALL_TIME, 10, today)
        assert world.redis.zscore(prefix + "pending", f"{long_ago}:died") is None
    finally:
        backends.close_all()


def test_a_bump_of_the_epoch_by_another_process_is_seen_within_the_epoch_interval(
    no_background_rebuild: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaderboard_module, "EPOCH_SECONDS", 0.2)
    world = World()
    try:
        world.step(("login",))
        today = world.clock.today()
        assert world.board.top("bronze", Period.ALL_TIME, 10, today) is not None
        with world.engine.begin() as conn:
            conn.execute(text("SELECT nextval('board_epoch')"))  # another process missed Redis
        time.sleep(0.2)
        assert world.board.top("bronze", Period.ALL_TIME, 10, today) is None
    finally:
        backends.close_all()


def test_a_walk_past_its_budget_sends_the_reader_to_postgres_and_the_model_stays(
    no_background_rebuild: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 0-point neighbours walks the league's members, skipping players with
    points; a league where almost everyone has points would make it long."""
    world = World()
    try:
        for index in range(5):
            world.step(("login",))
            world.step(("buy", index, index))
        world.step(("login",))  # holds nothing: 0 points
        world.game.next_day()
        world.step(("close",))
        today = world.clock.today()
        idle = world.players[-1].player
        counted = world.standings.near(idle, Period.ALL_TIME, today)
        assert any(s.points for s in counted)  # the others have points
        assert world.board.near(idle, Period.ALL_TIME, today) == counted

        monkeypatch.setattr(leaderboard_module, "SCAN_BUDGET", 2)
        assert world.board.near(idle, Period.ALL_TIME, today) is None
        assert world.board.position(idle, Period.ALL_TIME, today) is not None  # no walk
        monkeypatch.setattr(leaderboard_module, "SCAN_BUDGET", 20_000)
        assert world.board.near(idle, Period.ALL_TIME, today) == counted
    finally:
        backends.close_all()


def test_the_model_stays_in_step_with_writes_from_many_threads_during_a_close(
    no_background_rebuild: None,
) -> None:
    """A close paying in small ranges while eight threads register players and reset
    them: every write goes through its own pending mark and the lock, in whatever
    order the commits land. Afterwards the model answers, and as Postgres counts."""
    world = World()
    try:
        for index in range(12):
            world.step(("login",))
            world.step(("buy", index, index))
        world.game.next_day()
        settings = world.game.get(Settings).replace(close_pay_holdings=2, close_pay_batch=2)
        close = CloseService(
            world.game.get(CloseBook),  # type: ignore[type-abstract]
            world.game.get(LastfmPort),  # type: ignore[type-abstract]
            world.game.get(MarketLock),  # type: ignore[type-abstract]
            world.clock,
            settings,
            world.board,
        )
        keys = [who.session_key for who in world.players]
        errors: list[BaseException] = []

        def churn(seed: int) -> None:
            try:
                for step in range(6):
                    if step % 2:
                        world.game.login()
                    with contextlib.suppress(TransientError):  # the market closed a moment
                        world.game.players.reset(keys[(seed + step) % len(keys)])
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=churn, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        report = close.run()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert report.finished and not any(t.is_alive() for t in threads)
        world.check()
    finally:
        backends.close_all()
