"""Most traded and the counts on Postgres with real threads: readers (which build
and move the summaries' marks, adapters/postgres/trade_summaries.py) at once with
writers committing trades stamped up to 4 minutes before the clock (within
SETTLE), across midnight. Buys and trades only grow, so each answer must lie
between the trades table counted directly before the read and after it; once the
writers stop, every answer and every summary must equal the direct count.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import psycopg2  # noqa: E402

from datm.adapters.postgres import migrate  # noqa: E402
from datm.adapters.postgres.engine import make_engine  # noqa: E402
from datm.adapters.postgres.market_reads import PostgresMarketReads  # noqa: E402
from datm.settings import Settings  # noqa: E402

pytestmark = pytest.mark.postgres

ARTISTS = 12
SEEDED = f"""
INSERT INTO players (name, league, money, created_at)
    SELECT 'p' || i, (SELECT uid FROM leagues ORDER BY rank LIMIT 1), 20000, now()
    FROM generate_series(1, 20) AS i;
INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,
                     last_listeners, last_playcount, listed_on)
    SELECT md5('a' || i)::uuid::text, 'artist ' || i, 100, 1000, 0, 100, 1, 1, current_date
    FROM generate_series(1, {ARTISTS}) AS i;
"""
DAY = date(2026, 11, 2)
BEGIN = datetime.combine(DAY, time(23, 10), tzinfo=UTC)
STEP = timedelta(seconds=40)
ROUNDS = 120  # to 00:30 the next day
LATE = 240  # seconds: a trade's stamp is up to this before the clock at its commit


def start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_support.fresh_database("datm_summaries_race") as url:
        migrate.upgrade(url)
        postgres_support.execute(url, SEEDED)
        yield url


class Direct:
    """The trades table counted directly, on a connection of its own."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg2.connect(migrate.normalise_url(url).replace("+psycopg2", ""))
        self.conn.autocommit = True

    def buys(self, since: date | None) -> Counter[str]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT mbid, count(*) FROM trades WHERE side = 'buy' AND at >= %s GROUP BY 1",
                (start(since or date(1, 1, 1)),),
            )
            return Counter(dict(cur.fetchall()))

    def per_day(self, since: date) -> Counter[date]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT (at AT TIME ZONE 'UTC')::date, count(*) FROM trades WHERE at >= %s"
                " GROUP BY 1",
                (start(since),),
            )
            return Counter(dict(cur.fetchall()))

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())


def between(low: Counter[object], got: Counter[object], high: Counter[object]) -> bool:
    return all(low[k] <= got[k] <= high[k] for k in set(low) | set(got) | set(high))


def test_readers_and_writers_at_once_count_every_trade_once(url: str) -> None:
    engine = make_engine(Settings(database_url=url, pool_size=8, max_overflow=4))
    reads = PostgresMarketReads(engine)
    clock = [BEGIN]
    writing = threading.Lock()  # writers take turns: the clock moves after each commit
    done = threading.Event()
    failures: list[str] = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        conn = psycopg2.connect(migrate.normalise_url(url).replace("+psycopg2", ""))
        try:
            for _ in range(ROUNDS // 2):
                with writing:
                    now = clock[0]
                    with conn, conn.cursor() as cur:  # commits at the block's end
                        for _ in range(rng.randint(0, 8)):
                            stamp = now - timedelta(seconds=rng.randint(0, LATE))
                            cur.execute(
                                "INSERT INTO trades (player, mbid, side, price, at) VALUES"
                                " ('p' || %s, md5('a' || %s)::uuid::text, %s, 100, %s)",
                                (
                                    rng.randint(1, 20),
                                    rng.randint(1, ARTISTS),
                                    rng.choice(["buy", "buy", "sell"]),
                                    stamp,
                                ),
                            )
                    clock[0] = now + STEP  # after the commit
        finally:
            conn.close()

    def read(seed: int) -> None:
        rng = random.Random(seed)
        direct = Direct(url)
        try:
            while not done.is_set():
                now = clock[0]
                today = now.date()
                since = rng.choice([None, today, today - timedelta(days=1)])
                low = direct.buys(since)
                got = Counter({m: n for m, _, n in reads.most_bought(ARTISTS, since, now)})
                if not between(low, got, direct.buys(since)):
                    failures.append(f"most_bought({since}) at {now}: {got} not from {low}")
                yesterday = today - timedelta(days=1)
                low_days = direct.per_day(yesterday)
                counted = reads.counts(yesterday, now).trades_per_day
                if not between(low_days, Counter(dict(counted)), direct.per_day(yesterday)):
                    failures.append(f"counts at {now}: {counted} not from {low_days}")
        finally:
            direct.conn.close()

    writers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    readers = [threading.Thread(target=read, args=(10 + n,)) for n in range(4)]
    try:
        for thread in writers + readers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        for thread in readers:
            thread.join()
        assert not failures, failures[:3]

        direct = Direct(url)
        now = clock[0] + timedelta(minutes=20)  # every mark moves on once more
        for since in (None, now.date(), now.date() - timedelta(days=1)):
            for _ in range(2):
                got = Counter({m: n for m, _, n in reads.most_bought(ARTISTS, since, now)})
                assert got == direct.buys(since)
        for _ in range(2):
            counted = reads.counts(now.date() - timedelta(days=1), now).trades_per_day
            assert dict(counted) == direct.per_day(now.date() - timedelta(days=1))
        # Each window holds exactly the buys before its mark, each part the trades.
        assert (
            direct.rows(
                "SELECT b.first_day, w.mbid, w.buys, (SELECT count(*) FROM trades t"
                "  WHERE t.side = 'buy' AND t.mbid = w.mbid"
                "  AND t.at >= b.first_day::timestamp AT TIME ZONE 'UTC' AND t.at < b.through)"
                " FROM trade_windows w JOIN trade_windows_built b USING (first_day)"
                " WHERE w.buys <> (SELECT count(*) FROM trades t WHERE t.side = 'buy'"
                "  AND t.mbid = w.mbid AND t.at >= b.first_day::timestamp AT TIME ZONE 'UTC'"
                "  AND t.at < b.through)"
            )
            == []
        )
        assert (
            direct.rows(
                "SELECT d.day FROM trade_days d WHERE d.through IS NOT NULL AND d.trades <>"
                " (SELECT count(*) FROM trades t WHERE (t.at AT TIME ZONE 'UTC')::date = d.day"
                "  AND t.at < d.through)"
            )
            == []
        )
        assert direct.rows("SELECT count(*) FROM trade_windows_built") != [(0,)]
        direct.conn.close()
    finally:
        done.set()
        engine.dispose()
