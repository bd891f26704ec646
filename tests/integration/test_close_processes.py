"""The daily close in real processes on one Postgres: killed at every step and
run again, and paying while other processes trade.

A close runs in a process of its own (``spawn``, its own injector from the URL,
``close_workers.run_close``); the offline last.fm it reads grows every artist's
numbers by a fixed amount per close (``close_workers.CloseLastfm``), so that
closes on the real dates pay dividends. Every join and wait is bounded; no test
asserts a timing.

What the close did is read from the database, and from a log that triggers of
this test's own database keep (``RECORD_LOG``): the holders of record as the
cut-off copied them (``close_holders`` is emptied when a close finishes), each
reset's number (``players.reset_seq``: a holder of record whose number is past
the cut-off's ``reset_mark`` is not paid), each artist marked paid and each
dividend entry, numbered in the order they happened. A reset and a dividend are
written under the lock of their player, an artist marked paid after the lock of
each of its holders: the numbers order them per player.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from typing import Any

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import close_workers as workers  # noqa: E402
from close_workers import KILL_POINTS, REACHED, Call, ClosePlan, TradePlan  # noqa: E402
from process_workers import Outcome, Trader  # noqa: E402
from process_world import (  # noqa: E402
    WAIT,
    World,
    advisory_locks,
    assert_invariants,
    open_world,
    other_backends,
    stop_process,
    wait_for,
)

from datm.services.analytics import AnalyticsService  # noqa: E402
from datm.services.close import CloseService  # noqa: E402
from datm.services.results import CloseReport  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SPAWN = get_context("spawn")

PLAYERS = 40
TRADED = 30  # artists the players hold, of the 48 the offline chart lists
SHARES = 8
BATCH = 5  # close_pay_batch and close_pay_holdings while killing

# The record of what the closes did, kept by triggers (test instrumentation only).
RECORD_LOG = """
CREATE TABLE test_close_log (
    seq bigserial PRIMARY KEY,
    event text NOT NULL,  -- record, reset, paid, dividend
    day date,
    mbid text,
    player text,
    reset_seq bigint  -- reset: the player's new players.reset_seq
);
CREATE FUNCTION test_log_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO test_close_log (event, day, mbid, player)
    SELECT 'record', day, mbid, player FROM changed ORDER BY day, mbid, player;
    RETURN NULL; END $$;
CREATE TRIGGER test_log_record AFTER INSERT ON close_holders
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION test_log_record();
CREATE FUNCTION test_log_reset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO test_close_log (event, player, reset_seq)
    VALUES ('reset', NEW.name, NEW.reset_seq);
    RETURN NULL; END $$;
CREATE TRIGGER test_log_reset AFTER UPDATE OF reset_seq ON players
    FOR EACH ROW EXECUTE FUNCTION test_log_reset();
CREATE FUNCTION test_log_paid() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO test_close_log (event, day, mbid)
    SELECT 'paid', n.day, n.mbid FROM now_rows n JOIN then_rows t USING (day, mbid)
    WHERE n.paid AND NOT t.paid ORDER BY n.day, n.mbid;
    RETURN NULL; END $$;
CREATE TRIGGER test_log_paid AFTER UPDATE ON close_artists
    REFERENCING OLD TABLE AS then_rows NEW TABLE AS now_rows
    FOR EACH STATEMENT EXECUTE FUNCTION test_log_paid();
CREATE FUNCTION test_log_dividend() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO test_close_log (event, day, mbid, player)
    SELECT 'dividend', CAST(split_part(reference, ':', 2) AS date),
           split_part(reference, ':', 1), player
    FROM changed WHERE kind = 'dividend' ORDER BY player, reference;
    RETURN NULL; END $$;
CREATE TRIGGER test_log_dividend AFTER INSERT ON ledger
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION test_log_dividend();
"""

Pair = tuple[str, str]  # (player, mbid)


@pytest.fixture
def make_world() -> Iterator[Callable[[int], World]]:
    """A game database of the test's own with ``players`` logged in, the offline
    chart listed and the record log installed."""

    def make(players: int) -> World:
        world = stack.enter_context(open_world(players, 0))  # lists the whole chart
        world.setup(RECORD_LOG)
        return world

    with ExitStack() as stack:
        yield make


def utc_today() -> date:
    return datetime.now(UTC).date()


# --- what a close did, from the database ---------------------------------------


def holdings(world: World) -> set[Pair]:
    return {(r.player, r.mbid) for r in world.sql("SELECT player, mbid FROM holdings")}


def recorded(world: World, day: date) -> Counter[Pair]:
    """The holders of record the cut-off of ``day`` copied (each copy counted)."""
    rows = world.sql(
        "SELECT player, mbid FROM test_close_log WHERE event = 'record' AND day = :day", day=day
    )
    return Counter((r.player, r.mbid) for r in rows)


def close_holders(world: World, day: date) -> set[Pair]:
    rows = world.sql("SELECT player, mbid FROM close_holders WHERE day = :day", day=day)
    return {(r.player, r.mbid) for r in rows}


def dividend_entries(world: World, day: date) -> dict[Pair, list[int]]:
    """Every dividend ledger entry of the close of ``day``: amounts by (player, mbid)."""
    rows = world.sql(
        "SELECT player, split_part(reference, ':', 1) AS mbid, amount FROM ledger"
        " WHERE kind = 'dividend' AND split_part(reference, ':', 2) = :day ORDER BY id",
        day=day.isoformat(),
    )
    entries: dict[Pair, list[int]] = {}
    for row in rows:
        entries.setdefault((row.player, row.mbid), []).append(row.amount)
    return entries


def history(world: World, day: date) -> dict[str, tuple[int, int]]:
    """(points, dividend) of every artist of ``day``'s history (the artists listed
    that day have a point from their listing until the close of the day pays them)."""
    rows = world.sql("SELECT mbid, points, dividend FROM history WHERE day = :day", day=day)
    return {r.mbid: (r.points, r.dividend) for r in rows}


def closed_on(world: World, day: date) -> set[str]:
    """The artists the close of ``day`` has paid (and closed)."""
    rows = world.sql("SELECT mbid FROM artists WHERE last_closed_on = :day", day=day)
    return {r.mbid for r in rows}


def progress(world: World, day: date) -> tuple[int, int, int]:
    """(artists of record, with numbers, paid) of the close of ``day``."""
    row = world.sql(
        "SELECT count(*), count(listeners), count(*) FILTER (WHERE paid)"
        " FROM close_artists WHERE day = :day",
        day=day,
    )[0]
    artists, fetched, paid = (int(value) for value in row)
    return artists, fetched, paid


def fingerprint(world: World) -> list[Any]:
    """Everything a close writes, to tell that a close changed nothing."""
    return [
        world.sql(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in (
            "players",
            "ledger",
            "history",
            "closes",
            "close_artists",
            "close_holders",
            "trophies",
            "test_close_log",
        )
    ] + [world.sql("SELECT * FROM artists ORDER BY mbid")]


def assert_paid_once(
    world: World,
    day: date,
    of_record: AbstractSet[Pair],
    forgotten: AbstractSet[Pair] = frozenset(),
) -> dict[Pair, list[int]]:
    """Every holder of record of ``day`` got the dividend of each artist exactly
    once, unless forgotten (a reset since the cut-off): then at most once; nobody
    else got any. The entries, by (player, mbid)."""
    paid = history(world, day)
    entries = dividend_entries(world, day)
    twice = {pair: amounts for pair, amounts in entries.items() if len(amounts) > 1}
    assert twice == {}, f"paid twice: {twice}"
    assert set(entries) - of_record == set(), "paid without holding at the cut-off"
    wrong = {p: a for p, a in entries.items() if a != [paid[p[1]][1]]}
    assert wrong == {}, "a dividend entry differs from the artist's dividend of the day"
    due = {(player, mbid) for player, mbid in of_record - forgotten if paid[mbid][1] != 0}
    assert due - set(entries) == set(), "holders of record missed"
    return entries


def finished(world: World, day: date) -> bool:
    return bool(
        world.count(
            "SELECT count(*) FROM closes WHERE day = :day AND finished_at IS NOT NULL", day=day
        )
    )


# --- processes ----------------------------------------------------------------


Closing = tuple[Any, Any, Any]  # (the process, its ``reached``, its outbox)


def start_close(plan: ClosePlan, go: Any = None) -> Closing:
    """A new process running ``plan`` (once ``go`` is set, if given)."""
    reached = SPAWN.Value("i", 0)
    outbox = SPAWN.Queue()
    process = SPAWN.Process(target=workers.run_close, args=(plan, reached, outbox, go))
    process.start()
    return process, reached, outbox


def run_close(plan: ClosePlan) -> tuple[int | None, int, list[CloseReport]]:
    """Run ``plan`` in a new process: (its exit code, what ``reached`` says, its reports)."""
    return end_of(start_close(plan))


def end_of(closing: Closing) -> tuple[int | None, int, list[CloseReport]]:
    """Wait for a close process to end: (its exit code, what ``reached`` says, its reports)."""
    process, reached, outbox = closing
    reports: list[CloseReport] = []
    try:
        deadline = time.monotonic() + WAIT
        while process.is_alive() and outbox.empty() and time.monotonic() < deadline:
            process.join(0.05)
        if not outbox.empty():
            status, answer = outbox.get(timeout=WAIT)
            assert status == "ok", answer
            reports = answer
        process.join(WAIT)
    finally:
        stop_process(process)
    return process.exitcode, int(reached.value), reports


def assert_market_open_and_nothing_left(world: World) -> None:
    """Whatever the dead close held is released: its transaction, its market lock."""
    busy = "(state LIKE 'idle in transaction%' OR state = 'active')"
    wait_for(lambda: other_backends(world, busy) == 0, "no open transaction", 10)
    wait_for(lambda: advisory_locks(world) == 0, "no advisory lock", 10)
    assert world.get(AnalyticsService).is_market_open()


# --- 1. killed at every step, then run again -------------------------------------


def set_up_holdings(world: World) -> tuple[str, ...]:
    """Make ``TRADED`` listed artists affordable, with ``SHARES`` shares each, and
    have every player buy 2 or 3 of them through the trading service (about 100
    holdings). The artists, by MBID."""
    mbids = tuple(r.mbid for r in world.sql("SELECT mbid FROM artists ORDER BY mbid"))[:TRADED]
    for number, mbid in enumerate(mbids):
        price = 400 + 25 * number
        world.setup(
            "UPDATE artists SET price = :price, last_close_price = :price, max_shares = :shares"
            " WHERE mbid = :mbid",
            price=price,
            shares=SHARES,
            mbid=mbid,
        )
    trader = Trader(world.injector)
    for number, (player, key) in enumerate(world.sessions):
        for k in range(2 + number % 2):
            outcomes = trader.trade(player, key, mbids[(3 * number + k) % TRADED], "buy")
            assert all(o.ok for o in outcomes), outcomes
    return mbids


def trade_between_runs(world: World) -> None:
    """Five holders sell one holding each; five others buy those artists: trades
    after a cut-off, which count for the next close, not this one."""
    trader = Trader(world.injector)
    keys = dict(world.sessions)
    held = holdings(world)
    sold: dict[str, str] = {}  # mbid -> seller
    for player, mbid in sorted(held):
        if mbid not in sold and player not in sold.values() and len(sold) < 5:
            sold[mbid] = player
    for mbid, player in sold.items():
        outcomes = trader.trade(player, keys[player], mbid, "sell")
        assert all(o.ok for o in outcomes), outcomes
    for mbid, seller in sold.items():
        buyer = next(
            p
            for p, _ in world.sessions
            if p != seller and (p, mbid) not in held and p not in sold.values()
        )
        outcomes = trader.trade(buyer, keys[buyer], mbid, "buy")
        assert all(o.ok for o in outcomes), outcomes


AFTER_CUT_OFF = ("fetching", "paying", "finishing")


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_close_killed_at_any_step_is_finished_by_a_rerun_paying_each_holder_of_record_once(
    make_world: Callable[[int], World], kill_at: str
) -> None:
    world = make_world(PLAYERS)
    set_up_holdings(world)
    day = utc_today()
    before = holdings(world)
    assert 90 <= len(before) <= 110
    plan = ClosePlan(world.url, (day,), batch=BATCH, kill_at=kill_at)

    exitcode, reached, _ = run_close(plan)
    assert exitcode == -signal.SIGKILL, f"the close was not killed (exit code {exitcode})"
    assert reached == REACHED, f"killed at {kill_at!r}, but not where intended ({reached})"
    assert_market_open_and_nothing_left(world)

    # The step was partly done, and only that.
    artists, fetched, paid = progress(world, day)
    entries = dividend_entries(world, day)
    if kill_at not in AFTER_CUT_OFF:
        assert world.sql("SELECT * FROM closes WHERE day = :day", day=day) == []
        assert (artists, close_holders(world, day), recorded(world, day)) == (0, set(), Counter())
    else:
        assert world.count("SELECT count(*) FROM closes WHERE cut_off_at IS NOT NULL") == 1
        assert artists == world.count("SELECT count(*) FROM artists") > TRADED
        assert close_holders(world, day) == before == set(recorded(world, day))
        assert not finished(world, day)
    if kill_at == "fetching":
        assert 0 < fetched < artists
        assert (paid, entries) == (0, {})
    if kill_at == "paying":
        assert (fetched, paid) == (artists, 0)  # the holders first: no artist closed yet
        (mark,) = world.sql(
            "SELECT holders_paid_through, holders_paid FROM closes WHERE day = :day", day=day
        )
        dividend = {
            r.mbid: r.dividend
            for r in world.sql("SELECT mbid, dividend FROM close_artists WHERE day = :day", day=day)
        }
        # Ranges of about BATCH holdings by name, each player's holdings whole.
        done = {pair for pair in before if pair[0] <= mark.holders_paid_through}
        assert mark.holders_paid == len(done) >= (workers.PAYING_BATCH - 1) * BATCH
        rest = sorted(pair for pair in before if pair not in done)
        killed = {pair for pair in rest if pair[0] <= rest[BATCH - 1][0]}
        owed = {pair for pair in killed if dividend[pair[1]] != 0}
        assert owed, "the killed range owed no dividend: choose another PAYING_BATCH"
        assert set(entries) == {pair for pair in done if dividend[pair[1]] != 0}
        assert all(len(amounts) == 1 for amounts in entries.values())
        assert closed_on(world, day) == set()
    if kill_at == "finishing":
        assert fetched == paid == artists == len(closed_on(world, day))
    assert_invariants(world)

    # Trading goes on; then a new process finishes the same close.
    trade_between_runs(world)
    expected = before if kill_at in AFTER_CUT_OFF else holdings(world)
    exitcode, _, reports = run_close(ClosePlan(world.url, (day,), batch=BATCH))
    assert exitcode == 0
    (report,) = reports
    assert (report.day, report.already_closed, report.finished, report.failed) == (
        day,
        False,
        True,
        (),
    )
    closed = history(world, day)
    skipped = {"finishing": len(closed)}  # "paying" died paying holders: no artist closed
    assert (report.artists_closed, report.artists_skipped) == (
        len(closed) - skipped.get(kill_at, 0),
        skipped.get(kill_at, 0),
    )
    assert len(closed) == world.count("SELECT count(*) FROM artists")
    assert recorded(world, day) == Counter(expected), "not the same holders of record"
    assert close_holders(world, day) == set()  # forgotten at the finish
    assert finished(world, day)
    entries = assert_paid_once(world, day, expected)
    assert any(closed[mbid][1] > 0 for _, mbid in expected)
    assert sum(len(e) for e in entries.values()) < len(expected)  # some artists pay none
    points = {r.name: r.points_all_time for r in world.sql("SELECT * FROM players")}
    due = Counter[str]()
    for player, mbid in expected:
        due[player] += closed[mbid][0]
    assert points == {player: due[player] for player in points}
    assert_invariants(world)

    # Once more: already closed, nothing changes.
    state = fingerprint(world)
    again = world.get(CloseService).run(day=day)
    assert (again.already_closed, again.finished, again.artists_closed) == (True, True, 0)
    assert fingerprint(world) == state


# --- 2. payment while four processes trade ----------------------------------------

HOT_PLAYERS = 10
HOT_ARTISTS = 5


def set_up_hot_set(world: World) -> tuple[str, ...]:
    """``HOT_ARTISTS`` affordable artists, the first (the hot one) with shares for
    everyone. The artists, hot first."""
    rows = world.sql("SELECT mbid FROM artists ORDER BY mbid LIMIT :n", n=HOT_ARTISTS)
    mbids = tuple(r.mbid for r in rows)
    for number, mbid in enumerate(mbids):
        world.setup(
            "UPDATE artists SET price = :price, last_close_price = :price, max_shares = :shares"
            " WHERE mbid = :mbid",
            price=500 + 100 * number,
            shares=HOT_PLAYERS if number == 0 else 4,
            mbid=mbid,
        )
    return mbids


def deadlocks(world: World) -> int:
    return world.count("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")


def test_closes_paying_in_small_batches_while_four_processes_trade_pay_every_holder_of_record_once(
    make_world: Callable[[int], World],
) -> None:
    world = make_world(HOT_PLAYERS)
    mbids = set_up_hot_set(world)
    today = utc_today()
    days = (today - timedelta(days=1), today)
    deadlocks_before = deadlocks(world)
    plan = TradePlan(world.url, world.sessions, mbids, threads=4)
    stop, go = SPAWN.Event(), SPAWN.Event()
    results = SPAWN.Queue()
    traders = [
        SPAWN.Process(target=workers.trade_until_stopped, args=(plan, w, stop, results))
        for w in range(4)
    ]
    for process in traders:
        process.start()
    closing = start_close(ClosePlan(world.url, days, batch=2, pause=0.3), go)
    try:
        wait_for(lambda: world.count("SELECT count(*) FROM holdings") >= 10, "10 holdings")
        go.set()
        exitcode, _, reports = end_of(closing)
        time.sleep(0.3)  # trades after the last close's payment
        stop.set()
        answers = [results.get(timeout=WAIT) for _ in traders]
        for process in traders:
            process.join(WAIT)
    finally:
        stop.set()
        for process in [*traders, closing[0]]:
            stop_process(process)
    assert [p.exitcode for p in traders] == [0, 0, 0, 0]
    assert [problem for _, _, problems in answers for problem in problems] == []
    assert exitcode == 0
    calls: list[Call] = [c for _, seen, _ in answers for c in seen]
    outcomes: list[Outcome] = [o for c in calls for a in c.attempts for o in a]
    tally = Counter(f"{o.op}:{o.code or 'ok'}" for o in outcomes)
    print(f"\n{len(calls)} calls, {len(outcomes)} outcomes: {sorted(tally.items())}")
    print(
        f"retried {sum(c.retried for c in calls)}; deadlocks {deadlocks(world) - deadlocks_before}"
    )

    # No error but datm's, none a programming error, no Busy nor Conflict left.
    assert [o for o in outcomes if not o.is_datm] == []
    assert [o for o in outcomes if o.family in ("programming", "service")] == []
    assert [c for c in calls if c.last.code in workers.RETRIED] == []
    assert tally["buy:ok"] and tally["sell:ok"] and tally["reset:ok"]

    # Every success a trader saw is in the database, and nothing else.
    executed = [o for o in outcomes if o.op in ("buy", "sell")]
    succeeded = {o.quote_id: o for o in executed if o.ok}
    traded = {
        row.quote_id: (row.player, row.mbid, row.side, row.price)
        for row in world.sql("SELECT * FROM trades WHERE quote_id <> ''")
    }
    assert traded == {q: (o.player, o.mbid, o.op, o.price) for q, o in succeeded.items()}
    released = sum(o.sold for o in outcomes if o.op == "reset" and o.ok)
    assert world.count("SELECT count(*) FROM trades WHERE quote_id = ''") == released

    # Every close finished and paid each holder of record once.
    assert [(r.day, r.already_closed, r.finished, r.failed) for r in reports] == [
        (day, False, True, ()) for day in days
    ]
    reset_players = {o.player for o in outcomes if o.op == "reset" and o.ok}
    trades_while_paying: list[int] = []
    for report in reports:
        day = report.day
        of_record = recorded(world, day)
        assert max(of_record.values(), default=1) == 1, "a holder recorded twice"
        mark = world.count("SELECT reset_mark FROM closes WHERE day = :day", day=day)
        log = world.sql(
            "SELECT * FROM test_close_log WHERE day = :day OR event = 'reset' ORDER BY seq",
            day=day,
        )
        reset_since: dict[str, int] = {}  # player -> the log's number of their first reset
        for row in log:
            if row.event == "reset" and row.reset_seq > mark:
                reset_since.setdefault(row.player, row.seq)
        paid_at = {r.mbid: r.seq for r in log if r.event == "paid"}
        dividend_at = {(r.player, r.mbid): r.seq for r in log if r.event == "dividend"}
        assert set(reset_since) <= reset_players
        forgotten = {(player, mbid) for player, mbid in of_record if player in reset_since}
        entries = assert_paid_once(world, day, set(of_record), forgotten)
        closed = history(world, day)
        for player, mbid in forgotten:
            reset_at = reset_since[player]
            if (player, mbid) in entries:  # paid, then reset
                assert dividend_at[player, mbid] < reset_at, f"{player} paid after a reset"
            elif closed[mbid][1] != 0:  # reset, then its artist's batch paid the others
                assert reset_at < paid_at[mbid], f"{player} missed for {mbid}: reset after"
        assert sum(a for amounts in entries.values() for a in amounts) == report.dividends_paid
        assert set(closed) == set(paid_at)
        assert finished(world, day)
        paying = world.count(
            "SELECT count(*) FROM trades t JOIN closes c ON c.day = :day"
            " WHERE t.at > c.paid_from AND t.at < c.finished_at",
            day=day,
        )
        trades_while_paying.append(paying)
        reset_first = sum(reset_since[p] < paid_at[m] for p, m in forgotten)
        print(
            f"{day}: {len(of_record)} holdings of record, {reset_first} of players reset"
            f" before their artist was paid, {sum(map(len, entries.values()))} dividends,"
            f" {paying} trades while paying; the close took {report.duration_seconds:.2f} s,"
            f" trading refused {report.trading_refused_seconds * 1000:.0f} ms"
        )
    assert sum(trades_while_paying) > 0, "no trade while a close was paying"
    assert world.count("SELECT count(*) FROM close_holders") == 0
    assert_invariants(world)
