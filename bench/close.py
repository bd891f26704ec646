"""The daily close at full size against a hand-written set-based SQL close, in the same run.

    python bench/close.py [--template datm_seed_full] [--url postgresql://postgres@127.0.0.1:5432/]

The template is a game made by ``datm dev seed`` (at full size: 1,200,000 players,
100,000 artists, 1,000,000 holdings). The bench copies it (CREATE DATABASE ...
TEMPLATE), then on the copy, with every artist's fresh numbers given (a last.fm
stand-in answering at once from a table made here, so that last.fm's rate does
not hide the database's work):

1. the baseline: one transaction of hand-written SQL doing the same payments
   (history points, points into the period totals, dividends into money with one
   ledger row per holding and artist, closing prices and numbers, max shares,
   trophies) from a temporary table of the same numbers, with no cut-off and no
   batches; its totals are read, then it is rolled back;
2. datm: ``CloseService.run`` on the same data: the cut-off under the market lock,
   the numbers fetched (from the stand-in) and stored, payment (the holders in
   ranges of CLOSE_PAY_HOLDINGS holdings by name, then the artists closed in
   batches of CLOSE_PAY_BATCH), the finish.
Both end in the same game, checked by totals (money, points, ledger, history, max
shares, trophies). It prints both times and their ratio (target <= 1.5x), how long
trading was refused (target <= 2 s), and how long fetching would take at the real
rate limit (LASTFM_RATE_PER_SECOND x CLOSE_LASTFM_SHARE).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime
from typing import Any

import psycopg2
from injector import Binder, Module
from seeded import SERVER, connect, copy_template, drop_copy
from sqlalchemy import Engine, event

import datm
from datm.adapters.clock import SystemClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain import close as close_rules
from datm.domain import trophies
from datm.domain.closes import ArtistOfRecord
from datm.domain.errors import UnknownArtist
from datm.domain.lastfm import ArtistInfo, ChartArtist
from datm.domain.periods import Period
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard, Standings
from datm.services.close import CloseService
from datm.services.results import CloseProgress, CloseStep
from datm.settings import Settings
from datm.wiring import create_injector

COPY = "datm_bench_close"
SECRET = "bench-quote-secret-0123456789abcdef"
TOP_LISTENERS = 4_000_000


class GivenNumbers(OfflineLastfm):
    """last.fm's numbers, given: each artist's from a table, at once, past no cache."""

    def __init__(self, numbers: dict[str, tuple[int, int]], top: int) -> None:
        super().__init__(SystemClock(), api_key="bench")
        self._numbers = numbers
        self._top = top

    def artist_info(
        self, name: str | None = None, mbid: str | None = None, username: str | None = None
    ) -> ArtistInfo:
        if mbid not in self._numbers:
            raise UnknownArtist(str(mbid))
        listeners, playcount = self._numbers[mbid]
        return ArtistInfo("given", mbid, listeners, playcount)

    def chart_top_artists(self, limit: int, page: int) -> list[ChartArtist]:
        return [ChartArtist("top", "", self._top, 0)]


def fresh_numbers(
    cur: Any, seed: int
) -> tuple[dict[str, tuple[int, int]], dict[str, ArtistOfRecord]]:
    """Each listed artist's new listeners and playcount (a little up, some down),
    and its numbers before."""
    rng = random.Random(seed)
    cur.execute("SELECT mbid, last_listeners, last_playcount FROM artists ORDER BY mbid")
    numbers, last = {}, {}
    for mbid, listeners, playcount in cur.fetchall():
        last[mbid] = ArtistOfRecord(mbid, listeners, playcount)
        numbers[mbid] = (
            max(0, listeners + int(listeners * rng.uniform(-0.001, 0.01))),
            max(0, playcount + int(playcount * rng.uniform(-0.001, 0.02))),
        )
    return numbers, last


# --- the baseline: the same close as hand-written SQL, one transaction ---------------

BASELINE = [
    "INSERT INTO history (mbid, day, price, points, dividend)"
    " SELECT a.mbid, %(day)s, a.price, f.points, f.dividend FROM artists a"
    " JOIN fresh f ON f.mbid = a.mbid"
    " ON CONFLICT (mbid, day) DO UPDATE SET price = excluded.price,"
    " points = excluded.points, dividend = excluded.dividend",
    "UPDATE players p SET money = p.money + s.dividend,"
    " points_all_time = p.points_all_time + s.points,"
    " points_daily = CASE WHEN p.points_day = %(day)s THEN p.points_daily ELSE 0 END + s.points,"
    " points_weekly = CASE WHEN date_trunc('week', p.points_day) = date_trunc('week', %(day)s)"
    "  THEN p.points_weekly ELSE 0 END + s.points,"
    " points_monthly = CASE WHEN date_trunc('month', p.points_day) = date_trunc('month', %(day)s)"
    "  THEN p.points_monthly ELSE 0 END + s.points,"
    " points_day = %(day)s"
    " FROM (SELECT h.player, sum(f.points) AS points, sum(f.dividend) AS dividend"
    "  FROM holdings h JOIN fresh f ON f.mbid = h.mbid GROUP BY h.player) s"
    " WHERE p.name = s.player",
    "INSERT INTO ledger (player, amount, kind, at, reference)"
    " SELECT h.player, f.dividend, 'dividend', %(at)s, h.mbid || ':' || %(day_text)s"
    " FROM holdings h JOIN fresh f ON f.mbid = h.mbid WHERE f.dividend <> 0"
    " ORDER BY h.player, h.mbid",
    "UPDATE artists a SET last_close_price = a.price, last_listeners = f.listeners,"
    " last_playcount = f.playcount, last_closed_on = %(day)s,"
    " max_shares = GREATEST(a.holders, f.max_shares) FROM fresh f WHERE f.mbid = a.mbid",
    "INSERT INTO trophies (player, uid, awarded_at)"
    " SELECT s.name, r.uid, %(at)s FROM ("
    "  SELECT p.name, p.trades_made, count(h.mbid) AS held,"
    "   p.money + coalesce(sum(datm_sell_price(a.price)), 0) AS worth"
    "  FROM players p JOIN holdings h ON h.player = p.name JOIN artists a ON a.mbid = h.mbid"
    "  GROUP BY p.name) s"
    " CROSS JOIN (VALUES ('first_trade'), ('collector'), ('tycoon')) AS r(uid)"
    " WHERE CASE r.uid WHEN 'first_trade' THEN s.trades_made >= 1"
    "  WHEN 'collector' THEN s.held >= %(collector)s ELSE s.worth >= %(tycoon)s END"
    " ON CONFLICT DO NOTHING",
]

TOTALS = (
    "SELECT (SELECT sum(money) FROM players), (SELECT sum(points_all_time) FROM players),"
    " (SELECT sum(points_daily) FROM players), (SELECT sum(points_weekly) FROM players),"
    " (SELECT sum(points_monthly) FROM players),"
    " (SELECT count(*) FROM ledger), (SELECT sum(amount) FROM ledger),"
    " (SELECT count(*) FROM history), (SELECT sum(points) FROM history WHERE day = %(day)s),"
    " (SELECT sum(max_shares) FROM artists), (SELECT sum(last_listeners) FROM artists),"
    " (SELECT count(*) FROM trophies)"
)


def baseline(
    url: str, day: date, at: datetime, rows: list[tuple[Any, ...]], profile: bool
) -> tuple[float, Any]:
    conn = psycopg2.connect(url)
    params = {
        "day": day,
        "day_text": day.isoformat(),
        "at": at,
        "collector": trophies.COLLECTOR_HOLDINGS,
        "tycoon": trophies.TYCOON_NET_WORTH,
    }
    with conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(
            'CREATE TEMP TABLE fresh (mbid text COLLATE "C" PRIMARY KEY, listeners bigint,'
            " playcount bigint, points bigint, dividend bigint, max_shares integer)"
        )
        values = ",".join(cur.mogrify("(%s,%s,%s,%s,%s,%s)", r).decode() for r in rows)
        cur.execute(f"INSERT INTO fresh VALUES {values}")
        cur.execute("ANALYZE fresh")
        for statement in BASELINE:
            began = time.perf_counter()
            cur.execute(statement, params)
            if profile:
                print(f"  {time.perf_counter() - began:7.2f} s  {' '.join(statement.split())[:70]}")
        seconds = time.perf_counter() - started
        cur.execute(TOTALS, params)
        totals = cur.fetchone()
    conn.rollback()
    conn.close()
    return seconds, totals


def datm_close(
    url: str,
    day: date,
    numbers: dict[str, tuple[int, int]],
    batch: int,
    holdings: int,
    profile: bool,
    redis_url: str | None,
) -> Any:
    given = GivenNumbers(numbers, TOP_LISTENERS)

    class Given(Module):
        def configure(self, binder: Binder) -> None:
            binder.bind(LastfmPort, to=given)  # type: ignore[type-abstract]

    settings = Settings(
        database_url=url,
        quote_secret=SECRET,
        close_pay_batch=batch,
        close_pay_holdings=holdings,
        redis_url=redis_url,
    )
    injector = create_injector(settings, wiring="postgres", extra=[Given()])
    if redis_url:  # the leaderboards' model built before the close, kept in step by it
        built = time.perf_counter()
        count = injector.get(Leaderboard).rebuild(day)  # type: ignore[type-abstract]
        print(f"leaderboards' model built in Redis: {count:,} players, "
              f"{time.perf_counter() - built:.1f} s (not counted)")  # fmt: skip
    statements: dict[str, list[float]] = {}
    if profile:
        engine = injector.get(Engine)

        @event.listens_for(engine, "before_cursor_execute")
        def _start(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            conn.info["datm_bench_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _end(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            took = time.perf_counter() - conn.info.pop("datm_bench_started")
            statements.setdefault(" ".join(statement.split())[:70], []).append(took)

    steps: dict[str, float] = {}
    started = time.perf_counter()

    def on_step(event: CloseProgress) -> None:
        steps.setdefault(str(event.step), time.perf_counter() - started)
        if event.step in (CloseStep.HOLDERS, CloseStep.PAID) and event.done == event.total:
            steps[f"{event.step} all"] = time.perf_counter() - started

    report = injector.get(CloseService).run(day=day, on_step=on_step)
    seconds = time.perf_counter() - started
    if redis_url:
        print(f"leaderboards' model agrees with the database: {model_agrees(injector, day)}")
    datm.close(injector)
    for text, times in sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:12]:
        print(f"  {sum(times):7.2f} s {len(times):6d}x  {text}")
    return seconds, report, steps


def model_agrees(injector: Any, day: date) -> bool:
    """The model's answers against the database's own counting (seconds each at
    this size, so a sample): bronze's top 10 of every period, and where a few
    holders of record stand."""
    board = injector.get(Leaderboard)
    counted = injector.get(Standings)
    engine = injector.get(Engine)
    with engine.connect() as conn:
        names = list(conn.exec_driver_sql(
            "SELECT player FROM holdings ORDER BY player LIMIT 3"
        ).scalars())  # fmt: skip
    agree = True
    for period in Period:
        agree &= board.top("bronze", period, 10, day) == counted.top("bronze", period, 10, day)
        for name in names:
            mine = board.position(name, period, day)
            agree &= mine is not None and mine == counted.position(name, period, day)
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=SERVER, help="server URL, ending in '/'")
    parser.add_argument("--template", default="datm_seed_full")
    parser.add_argument("--batch", type=int, default=Settings().close_pay_batch)
    parser.add_argument("--holdings", type=int, default=Settings().close_pay_holdings)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the closed copy")
    parser.add_argument("--profile", action="store_true", help="time datm's statements")
    parser.add_argument(
        "--redis", default=None, help="a Redis URL: the close keeps the leaderboards' model too"
    )
    args = parser.parse_args()

    made = time.perf_counter()
    url = copy_template(args.server, args.template, COPY)
    print(f"copied {args.template} to {COPY} in {time.perf_counter() - made:.1f} s")
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM players")
        players = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM holdings")
        holdings = cur.fetchone()[0]
        cur.execute("SELECT max(day) FROM closes")
        latest = cur.fetchone()[0]
        numbers, last = fresh_numbers(cur, args.seed)
    conn.close()
    day = datetime.now(UTC).date()
    assert latest is None or latest < day, f"the template's latest close is {latest}"
    at = datetime.now(UTC)
    rows = []
    for mbid, (listeners, playcount) in numbers.items():
        n = close_rules.numbers(last[mbid], listeners, playcount, players, TOP_LISTENERS)
        rows.append((mbid, listeners, playcount, n.points, n.dividend, n.max_shares))
    print(
        f"game: {players:,} players, {len(numbers):,} artists, {holdings:,} holdings; close {day}"
    )

    base_seconds, base_totals = baseline(url, day, at, rows, args.profile)
    print(f"baseline (hand-written SQL, one transaction, rolled back): {base_seconds:.1f} s")
    datm_seconds, report, steps = datm_close(
        url, day, numbers, args.batch, args.holdings, args.profile, args.redis
    )
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(TOTALS, {"day": day})
        datm_totals = cur.fetchone()
    conn.close()
    same = datm_totals == base_totals
    batches = f"holdings {args.holdings:,}, artists {args.batch:,} per transaction"
    reached = ", ".join(f"{step} {at:.1f} s" for step, at in steps.items())
    print(f"datm CloseService.run ({batches}): {datm_seconds:.1f} s  (reached: {reached})")
    print(
        f"  report: finished={report.finished} closed={report.artists_closed:,}"
        f" holders paid={report.holders_paid:,} dividends={report.dividends_paid:,}"
    )
    print(f"same totals as the baseline: {same}")
    if not same:
        print(f"  baseline {base_totals}\n  datm     {datm_totals}")
    print(f"ratio datm / baseline: {datm_seconds / base_seconds:.2f}x (target <= 1.5x)")
    print(f"trading refused: {report.trading_refused_seconds:.3f} s (target <= 2 s)")
    settings = Settings()
    rate = settings.lastfm_rate_per_second * settings.close_lastfm_share
    hours = len(numbers) / rate / 3600
    print(f"fetching {len(numbers):,} artists at {rate:g}/s (the close's share): {hours:.1f} h")
    if not args.keep:
        drop_copy(args.server, COPY)


if __name__ == "__main__":
    main()
