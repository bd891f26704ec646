"""Top by gain on Postgres (adapters/postgres/rankings.py) equals every artist
ranked from the records, at every moment of hypothesis-generated games: listings,
trades moving prices up and down, days passing with and without a close, reads
while a close is paying (closing prices changing under the window) and after it.
The walk's depths are made small so that the games reach every way out of it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import postgres_support
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

postgres_support.require_postgres_packages()

from sqlalchemy import Engine, text  # noqa: E402

from datm.adapters.postgres import migrate, rankings  # noqa: E402
from datm.adapters.postgres.engine import make_engine  # noqa: E402
from datm.adapters.postgres.rankings import PostgresArtistRankings  # noqa: E402
from datm.settings import Settings  # noqa: E402

FIRST = date(2026, 12, 1)
RESET = "TRUNCATE artists, history, closes, close_artists, gain_windows, gain_windows_built CASCADE"
LIST = text(
    "INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,"
    " last_listeners, last_playcount, listed_on) VALUES (:mbid, :mbid, :price, 100, 0, :price,"
    " 1, 1, :day);"
    " INSERT INTO history (mbid, day, price, points, dividend) VALUES (:mbid, :day, :price, 0, 0)"
)
MOVE = text("UPDATE artists SET price = greatest(1, price + :delta) WHERE mbid = :mbid")
START_CLOSE = text(
    "INSERT INTO closes (day, started_at, cut_off_at, paid_from) VALUES (:day, :at, :at, :at)"
)
# The close of ``day`` for the artists of ``mbids``: as the game's close leaves them.
CLOSE_ARTISTS = text(
    "INSERT INTO history (mbid, day, price, points, dividend)"
    " SELECT mbid, :day, price, length(mbid) % 7, length(mbid) % 3 FROM artists"
    " WHERE mbid = ANY(:mbids) ON CONFLICT (mbid, day) DO NOTHING;"
    " UPDATE artists SET last_close_price = price, last_closed_on = :day WHERE mbid = ANY(:mbids)"
)
FINISH = text("UPDATE closes SET finished_at = :at WHERE day = :day")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with postgres_support.fresh_database("datm_gains") as url:
        migrate.upgrade(url)
        made = make_engine(Settings(database_url=url))
        try:
            yield made
        finally:
            made.dispose()


def expected(conn: Any, since: date, limit: int) -> list[tuple[str, int, int, int, int]]:
    """(mbid, price, gain, points, dividend) of every artist ranked, by the rule."""
    prices = dict(conn.execute(text("SELECT mbid, price FROM artists")).all())
    first: dict[str, tuple[date, int]] = {}
    latest: dict[str, tuple[date, int, int]] = {}
    for mbid, day, price, points, dividend in conn.execute(
        text("SELECT mbid, day, price, points, dividend FROM history")
    ):
        if day >= since and (mbid not in first or day < first[mbid][0]):
            first[mbid] = (day, price)
        if mbid not in latest or day > latest[mbid][0]:
            latest[mbid] = (day, points, dividend)
    rows = []
    for mbid, price in prices.items():
        gain = price - first[mbid][1] if mbid in first else 0
        _, points, dividend = latest.get(mbid, (None, 0, 0))
        rows.append((mbid, price, gain, points, dividend))
    rows.sort(key=lambda r: (-r[2], r[0]))
    return rows[:limit]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("list"), st.integers(1, 60)),
        st.tuples(st.just("move"), st.integers(0, 200), st.integers(-6, 9)),
        st.tuples(st.just("move"), st.integers(0, 200), st.integers(1, 9)),
        st.tuples(st.just("move"), st.integers(0, 200), st.integers(1, 9)),
        st.tuples(st.just("pay"), st.integers(0, 100)),
        st.tuples(st.just("finish")),
        st.tuples(st.just("day")),
        st.tuples(st.just("read"), st.integers(1, 4), st.integers(1, 3)),
    ),
    max_size=60,
)


def small_walk(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Makes the walk start at depth 4 per artist asked for and give up past 128;
    returns the (depth, answered) of every step it takes from then on."""
    monkeypatch.setattr(rankings, "FIRST_DEPTH", 2)
    monkeypatch.setattr(rankings, "MAX_DEPTH", 128)
    steps: list[tuple[int, bool]] = []
    unbeaten = rankings._unbeaten

    def noted(rows: Any, limit: int, depth: int) -> bool:
        steps.append((depth, unbeaten(rows, limit, depth)))
        return steps[-1][1]

    monkeypatch.setattr(rankings, "_unbeaten", noted)
    return steps


def fresh_game(engine: Engine, prices: list[int]) -> list[str]:
    """A game of artists listed at ``prices`` on FIRST, by MBID order."""
    mbids = sorted(str(uuid.uuid4()) for _ in prices)
    with engine.begin() as conn:
        conn.execute(text(RESET))
        for mbid, price in zip(mbids, prices, strict=True):
            conn.execute(LIST, {"mbid": mbid, "price": price, "day": FIRST})
    return mbids


def ranked(got: list[Any]) -> list[tuple[str, int]]:
    return [(m.artist.mbid, gain) for m, gain in got]


def test_a_walk_that_cannot_rule_out_an_artist_it_did_not_meet_goes_deeper(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked = small_walk(monkeypatch)
    mbids = fresh_game(engine, [20] * 12)
    day = FIRST + timedelta(days=1)
    at = datetime(2026, 12, 2, 23, tzinfo=UTC)
    with engine.begin() as conn:
        for mbid in mbids[:6]:  # the first six close 5 up: first in the window
            conn.execute(MOVE, {"mbid": mbid, "delta": 5})
        conn.execute(START_CLOSE, {"day": day, "at": at})
        conn.execute(CLOSE_ARTISTS, {"day": day, "mbids": mbids})
        conn.execute(FINISH, {"day": day, "at": at})
        for mbid in mbids[:6]:  # then fall 3, while the other six rise 4
            conn.execute(MOVE, {"mbid": mbid, "delta": -3})
        for mbid in mbids[6:]:
            conn.execute(MOVE, {"mbid": mbid, "delta": 4})
    got = PostgresArtistRankings(engine).top_by_gain(FIRST, 1)
    assert ranked(got) == [(mbids[6], 4)]
    # At depth 4 the window's fourth gained 5 by the close: an artist not met
    # could still gain 5. At 32 the walk has met every artist that moved or closed up.
    assert walked == [(4, False), (32, True)]


def test_a_close_paying_is_ranked_whole_and_a_finished_close_makes_the_window_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked = small_walk(monkeypatch)
    mbids = fresh_game(engine, [10, 20, 30, 40])
    ranking = PostgresArtistRankings(engine)
    at = datetime(2026, 12, 1, 23, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(MOVE, {"mbid": mbids[0], "delta": 7})
        conn.execute(MOVE, {"mbid": mbids[1], "delta": 5})
        conn.execute(START_CLOSE, {"day": FIRST, "at": at})
        conn.execute(CLOSE_ARTISTS, {"day": FIRST, "mbids": mbids[:1]})
    assert ranked(ranking.top_by_gain(FIRST, 2)) == [(mbids[0], 7), (mbids[1], 5)]
    assert walked == []  # paying: every artist ranked
    with engine.begin() as conn:
        conn.execute(CLOSE_ARTISTS, {"day": FIRST, "mbids": mbids[1:]})
        conn.execute(FINISH, {"day": FIRST, "at": at})
        conn.execute(MOVE, {"mbid": mbids[1], "delta": 4})
    assert ranked(ranking.top_by_gain(FIRST, 2)) == [(mbids[1], 9), (mbids[0], 7)]
    assert walked == [(8, True)]
    with engine.connect() as conn:
        built = conn.execute(text("SELECT first_day, closed_through FROM gain_windows_built"))
        assert built.all() == [(FIRST, FIRST)]


def test_top_by_gain_equals_every_artist_ranked_at_every_moment(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked = small_walk(monkeypatch)
    ranking = PostgresArtistRankings(engine)
    reads = []

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(ops=OPS, initial=st.lists(st.integers(1, 60), min_size=8, max_size=30))
    def game(ops: list[tuple[Any, ...]], initial: list[int]) -> None:
        with engine.begin() as conn:
            conn.execute(text(RESET))
        today = FIRST
        paying: list[str] | None = None  # the artists the close has still to pay
        artists: list[str] = []

        def run(statement: Any, **params: Any) -> None:
            with engine.begin() as conn:
                conn.execute(statement, params)

        def listing(price: int) -> None:
            mbid = str(uuid.uuid4())
            run(LIST, mbid=mbid, price=price, day=today)
            artists.append(mbid)

        def read(since: date, limit: int) -> None:
            got = ranking.top_by_gain(since, limit)
            with engine.connect() as conn:
                want = expected(conn, since, limit)
            reads.append(since)
            event(f"answered by the walk: {bool(walked) and walked[-1][1]}")
            assert [
                (m.artist.mbid, m.artist.price, gain, m.points, m.dividend) for m, gain in got
            ] == want
            assert not any(m.held for m, _ in got)

        for price in initial:
            listing(price)
        for op in ops:
            at = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
            if op[0] == "list" and paying is None:
                listing(op[1])
            elif op[0] == "move":
                run(MOVE, mbid=artists[op[1] % len(artists)], delta=op[2])
            elif op[0] == "pay" and paying is None:
                run(START_CLOSE, day=today, at=at)
                cut = op[1] * len(artists) // 100
                run(CLOSE_ARTISTS, day=today, mbids=artists[:cut])
                paying = artists[cut:]
            elif op[0] == "finish" and paying is not None:
                run(CLOSE_ARTISTS, day=today, mbids=paying)
                run(FINISH, day=today, at=at)
                paying = None
                today += timedelta(days=1)
            elif op[0] == "day" and paying is None:
                today += timedelta(days=1)
            elif op[0] == "read":
                read(today - timedelta(days=op[1]), op[2])
        for days in (1, 2, 4):  # and at the end, whatever the game was
            for limit in (1, 3):
                read(today - timedelta(days=days), limit)

    game()
    assert reads and walked  # the walk ran (which way each read ends is the game's)


def test_readers_at_once_after_a_close_write_the_window_once_and_answer_alike(
    engine: Engine,
) -> None:
    mbids = fresh_game(engine, list(range(10, 410)))  # enough rows to take a while
    with engine.begin() as conn:
        for mbid in mbids[::7]:
            conn.execute(MOVE, {"mbid": mbid, "delta": 3})
    ranking = PostgresArtistRankings(engine)
    start = threading.Barrier(6)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            start.wait(timeout=10)
            answers.append(ranked(ranking.top_by_gain(FIRST, 5)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with engine.connect() as conn:
        want = [(m, g) for m, _, g, _, _ in expected(conn, FIRST, 5)]
        windows = conn.execute(text("SELECT count(*) FROM gain_windows_built")).scalar()
    assert answers == [want] * 6
    assert windows == 1
