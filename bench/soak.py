"""A soak with faults (issue 15, item 3): ``bench/soak.py --seconds N``.

4 api processes of 8 threads (logins through the fake last.fm, quotes, buys,
sells, resets, deletions, profile and leaderboard reads) and the daily close, on a
PostgreSQL cluster, a redis-server and a fake last.fm of the soak's own (never the
machine's shared servers), while faults come on a schedule: Postgres restarted,
Redis stopped and started, last.fm errors and slow replies, a worker killed with
SIGKILL (and replaced), a close killed with SIGKILL (and run again). Every child
logs each call's outcome as it returns; at the end the soak checks every
invariant against the database and prints a table. Exit status 1 when a raw (not
datm) exception reached a caller, an invariant broke or a kind of fault was never
injected; 2 when the soak itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import soak_workers as workers
from soak_infra import Cluster, RedisServer, write_recordings
from soak_infra import workdir as make_workdir
from sqlalchemy import create_engine, pool, text

import datm
from datm.adapters.postgres import migrate
from datm.fake_lastfm import FakeLastfm, Fault
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.market import MarketService

SPAWN = get_context("spawn")
STARTING_MONEY = 20_000
JOIN_SECONDS = 60.0
KINDS = (
    "postgres_restart",
    "redis_stop_start",
    "lastfm_errors",
    "lastfm_slow",
    "worker_sigkill",
    "close_sigkill",
)
LASTFM_ERRORS = (
    Fault.HTTP_500,
    Fault.HTTP_503,
    Fault.OPERATION_FAILED,
    Fault.SERVICE_OFFLINE,
    Fault.TEMPORARILY_UNAVAILABLE,
    Fault.RATE_LIMITED,
    Fault.MALFORMED_XML,
    Fault.DROP,
)

# Test instrumentation in the soak's own database: what the closes did, in order.
RECORD_LOG = """
CREATE TABLE soak_close_log (
    seq bigserial PRIMARY KEY, event text NOT NULL, day date, mbid text, player text,
    reset_seq bigint);
CREATE FUNCTION soak_log_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO soak_close_log (event, day, mbid, player)
    SELECT 'record', day, mbid, player FROM changed ORDER BY day, mbid, player;
    RETURN NULL; END $$;
CREATE TRIGGER soak_log_record AFTER INSERT ON close_holders
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION soak_log_record();
CREATE FUNCTION soak_log_reset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO soak_close_log (event, player, reset_seq) VALUES ('reset', NEW.name, NEW.reset_seq);
    RETURN NULL; END $$;
CREATE TRIGGER soak_log_reset AFTER UPDATE OF reset_seq ON players
    FOR EACH ROW EXECUTE FUNCTION soak_log_reset();
CREATE FUNCTION soak_log_dividend() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO soak_close_log (event, day, mbid, player)
    SELECT 'dividend', CAST(split_part(reference, ':', 2) AS date),
           split_part(reference, ':', 1), player
    FROM changed WHERE kind = 'dividend' ORDER BY player, reference;
    RETURN NULL; END $$;
CREATE TRIGGER soak_log_dividend AFTER INSERT ON ledger
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION soak_log_dividend();
"""

# Hand-written checks over the whole database (process_world's, for a game where
# deleted players' trades stay anonymised and their ledger goes).
VIOLATIONS = {
    "money is not 20,000 plus the ledger": f"""
        SELECT p.name FROM players p LEFT JOIN ledger l ON l.player = p.name GROUP BY p.name
        HAVING p.money <> {STARTING_MONEY} + COALESCE(SUM(l.amount), 0) OR p.money < 0""",
    "holders miscounted or over max shares": """
        SELECT a.mbid FROM artists a LEFT JOIN holdings h ON h.mbid = a.mbid GROUP BY a.mbid
        HAVING a.holders <> COUNT(h.player) OR COUNT(h.player) > a.max_shares""",
    "an artist held twice by one player": """
        SELECT player, mbid FROM holdings GROUP BY player, mbid HAVING COUNT(*) > 1""",
    "trades and buy/sell ledger entries differ": """
        WITH t AS (SELECT player, side AS kind, COUNT(*) AS n,
                          SUM(CASE side WHEN 'buy' THEN -price ELSE price END) AS total
                   FROM trades WHERE player IS NOT NULL GROUP BY player, side),
             l AS (SELECT player, kind, COUNT(*) AS n, SUM(amount) AS total
                   FROM ledger WHERE kind IN ('buy', 'sell') GROUP BY player, kind)
        SELECT player FROM t FULL JOIN l USING (player, kind)
        WHERE t.n IS DISTINCT FROM l.n OR t.total IS DISTINCT FROM l.total""",
    "buys minus sells is not the holding": """
        WITH net AS (SELECT player, mbid, SUM(CASE side WHEN 'buy' THEN 1 ELSE -1 END) AS n
                     FROM trades WHERE player IS NOT NULL GROUP BY player, mbid)
        SELECT player FROM net FULL JOIN holdings h USING (player, mbid)
        WHERE COALESCE(net.n, 0) <> CASE WHEN h.since IS NULL THEN 0 ELSE 1 END""",
    "a quote traded twice": """
        SELECT quote_id FROM trades WHERE quote_id <> '' GROUP BY quote_id HAVING COUNT(*) > 1""",
    "an unfinished close left": """
        SELECT day FROM closes WHERE finished_at IS NULL""",
}


@dataclass
class Soak:
    args: argparse.Namespace
    workdir: Path
    config: dict[str, Any] = field(default_factory=dict)
    ca_file: str = ""
    fake: FakeLastfm | None = None
    cluster: Cluster | None = None
    redis: RedisServer | None = None
    url: str = ""
    mbids: tuple[str, ...] = ()
    shared: tuple[tuple[str, str], ...] = ()
    own: list[tuple[tuple[str, ...], ...]] = field(default_factory=list)  # per slot
    faults: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, detail)
    breaks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stop: workers.Flag | None = None
    procs: dict[int, Any] = field(default_factory=dict)  # slot -> process
    generations: Counter[int] = field(default_factory=Counter)
    closes: list[str] = field(default_factory=list)  # log paths of every close run
    close_days: list[date] = field(default_factory=list)
    kill_close: threading.Event = field(default_factory=threading.Event)
    quiet_from: float = 0.0  # wall time the last fault was over
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def sql(self, statement: str, **params: Any) -> list[Any]:
        engine = create_engine(
            migrate.normalise_url(self.url), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                result = conn.execute(text(statement), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()


# --- setting up -----------------------------------------------------------------------


def set_up(soak: Soak, stack: ExitStack) -> None:
    args, work = soak.args, soak.workdir
    soak.logs.mkdir()
    started = time.monotonic()
    cluster = Cluster(work)
    soak.cluster = cluster
    cluster.init()
    stack.callback(cluster.stop)
    cluster.start()
    soak.url = cluster.create_database("soak")
    migrate.upgrade(soak.url)
    soak.sql(RECORD_LOG)
    redis = RedisServer(work)
    soak.redis = redis
    stack.callback(redis.stop)
    redis.start()
    soak.mbids = tuple(write_recordings(work / "recordings", args.artists, args.players, args.seed))
    fake = FakeLastfm(work / "recordings", ca_file=work / "fake-ca.pem")
    soak.fake = fake
    stack.callback(fake.stop)
    fake.start()
    soak.ca_file = str(fake.ca_file)
    soak.config = {
        "DATABASE_URL": soak.url,
        "REDIS_URL": redis.url,
        "QUOTE_SECRET": "soak-quote-secret-0123456789abcdef",
        "LASTFM_API_KEY": fake.api_key,
        "LASTFM_API_SECRET": fake.api_secret,
        "LASTFM_URL": fake.url,
        "LASTFM_CA_FILE": soak.ca_file,
        "LASTFM_RATE_PER_SECOND": 100,
        "LASTFM_RETRIES": 2,
        "LASTFM_TIMEOUT_SECONDS": 2,
        "CLOSE_FETCH_WORKERS": 4,
        "CLOSE_LASTFM_SHARE": 0.3,
        "CLOSE_PAY_HOLDINGS": 20,
        "CLOSE_PAY_BATCH": 10,
        "CLOSE_OUTAGE_SECONDS": 15,
        "MARKET_LOCK_TIMEOUT_SECONDS": 20,
    }
    with datm.open_injector(soak.config, wiring="postgres", environ={}) as injector:
        market = injector.get(MarketService)
        for mbid in soak.mbids:  # listed as the api lists them: on demand
            market.market_data(mbid)
        auth = injector.get(AuthService)
        names = [f"soak{n:04d}" for n in range(args.players)]
        with ThreadPoolExecutor(8) as pool_:
            keys = list(
                pool_.map(lambda n: workers.log_in(auth, soak.ca_file, n), names[: args.shared])
            )
            list(pool_.map(lambda n: workers.log_in(auth, soak.ca_file, n), names[args.shared :]))
    soak.shared = tuple(zip(names[: args.shared], keys, strict=True))
    rest = names[args.shared :]
    per_thread = len(rest) // (args.processes * args.threads)
    for slot in range(args.processes):
        groups = []
        for index in range(args.threads):
            start = (slot * args.threads + index) * per_thread
            groups.append(tuple(rest[start : start + per_thread]))
        soak.own.append(tuple(groups))
    print(
        f"set up in {time.monotonic() - started:.1f} s: Postgres :{cluster.port}, Redis"
        f" :{redis.port}, fake last.fm :{fake.port}; {args.players} players"
        f" ({args.shared} shared), {args.artists} artists; work in {work}",
        flush=True,
    )


# --- the processes ----------------------------------------------------------------------


def start_worker(soak: Soak, slot: int) -> None:
    generation = soak.generations[slot]
    soak.generations[slot] += 1
    plan = workers.WorkerPlan(
        slot=slot,
        generation=generation,
        config=soak.config,
        ca_file=soak.ca_file,
        shared=soak.shared,
        own=soak.own[slot],
        mbids=soak.mbids,
        hot=soak.mbids[:5],
        log_path=str(soak.logs / f"worker-{slot}-{generation}.jsonl"),
        seed=soak.args.seed * 100 + slot,
    )
    assert soak.stop is not None
    process = SPAWN.Process(target=workers.work, args=(plan, soak.stop), name=f"worker-{slot}")
    process.start()
    soak.procs[slot] = process


def run_close(soak: Soak, day: date, end: float) -> tuple[str, str]:
    """One close process for ``day``, SIGKILLed a moment after the fault schedule asks
    for it (before ``end``), whether it asked before this run or during it.
    (outcome, detail): ``killed``, ``finished``, ``unfinished``, ``error``."""
    path = str(soak.logs / f"close-{len(soak.closes):03d}.jsonl")
    soak.closes.append(path)
    started = workers.Flag(path + ".started")
    process = SPAWN.Process(target=workers.close, args=(soak.config, day, path, started))
    process.start()
    try:
        deadline = time.monotonic() + 2 * JOIN_SECONDS
        while process.is_alive() and time.monotonic() < deadline:
            if soak.kill_close.is_set() and time.monotonic() < end and started.is_set():
                time.sleep(random.uniform(0.05, 1.0))
                if process.is_alive() and process.pid is not None:
                    os.kill(process.pid, signal.SIGKILL)
                    process.join(JOIN_SECONDS)
                    return "killed", close_stage(soak, day)
            process.join(0.1)
        if process.is_alive():
            soak.breaks.append(f"a close of {day} still running after {2 * JOIN_SECONDS:.0f} s")
            return "error", "wedged"
    finally:
        if process.is_alive():
            process.kill()
            process.join(JOIN_SECONDS)
    records = read_log(Path(path))
    if not records:
        return "error", f"no report (exit code {process.exitcode})"
    last = records[-1]
    if not last["ok"]:
        return "error", str(last.get("code") or last.get("error"))
    return ("finished" if last["finished"] else "unfinished"), ""


def close_stage(soak: Soak, day: date) -> str:
    try:
        rows = soak.sql(
            "SELECT c.cut_off_at IS NOT NULL AS cut, c.finished_at IS NOT NULL AS done,"
            " (SELECT count(listeners) FROM close_artists a WHERE a.day = c.day) AS fetched,"
            " coalesce(c.holders_paid, 0) AS paid FROM closes c WHERE c.day = :day",
            day=day,
        )
    except Exception as error:  # a fault at the same moment
        return f"unknown ({type(error).__name__})"
    if not rows:
        return "before the cut-off"
    row = rows[0]
    if row.done:
        return "after it finished"
    if not row.cut:
        return "during the cut-off"
    return f"after the cut-off: {row.fetched} artists fetched, {row.paid} holdings paid"


def closer(soak: Soak, end: float) -> None:
    """The daily closes, one day after another, every ``--close-every`` seconds (at
    once when the fault schedule asks for a close to kill); a killed close is run
    again until it finishes."""
    try:
        days = iter(soak.close_days)
        next_at = time.monotonic() + soak.args.close_every / 2
        while time.monotonic() < end:
            if time.monotonic() < next_at and not soak.kill_close.is_set():
                time.sleep(0.1)
                continue
            next_at = time.monotonic() + soak.args.close_every
            day = next(days, None)
            if day is None:
                return
            finish_close(soak, day, end)
    except BaseException:
        soak.breaks.append(f"the closer failed: {traceback.format_exc()}")


def finish_close(soak: Soak, day: date, end: float) -> None:
    for _ in range(30):
        outcome, detail = run_close(soak, day, end)
        if outcome == "killed":
            soak.kill_close.clear()
            with soak.lock:
                soak.faults.append((time.time(), "close_sigkill", f"{day}: {detail}"))
            continue
        if outcome == "finished":
            return
        time.sleep(1.0)  # an error (a fault) or a run ended by an outage: again
    soak.breaks.append(f"the close of {day} did not finish in 30 runs")


# --- faults -------------------------------------------------------------------------------


def inject(soak: Soak, kind: str, rng: random.Random) -> str:
    assert soak.cluster is not None and soak.redis is not None and soak.fake is not None
    if kind == "postgres_restart":
        mode = rng.choice(("fast", "immediate"))
        soak.cluster.restart(mode)
        return f"pg_ctl restart -m {mode}"
    if kind == "redis_stop_start":
        down = rng.uniform(1.0, 3.0)
        soak.redis.stop()
        time.sleep(down)
        soak.redis.start()
        return f"down {down:.1f} s"
    if kind == "lastfm_errors":
        fault = rng.choice(LASTFM_ERRORS)
        times = rng.randint(10, 40)
        soak.fake.inject(fault, times=times)
        return f"{fault.value} x{times}"
    if kind == "lastfm_slow":
        delay, times = rng.uniform(0.5, 3.0), rng.randint(5, 20)
        soak.fake.inject(Fault.SLOW, times=times, delay=delay)
        return f"{delay:.1f} s x{times}"
    if kind == "worker_sigkill":
        slot = rng.randrange(len(soak.procs))
        process = soak.procs[slot]
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join(JOIN_SECONDS)
        start_worker(soak, slot)
        return f"worker {slot} (exit {process.exitcode}), replaced"
    if kind == "close_sigkill":
        soak.kill_close.set()  # the closer kills its next run and records it
        return ""
    raise ValueError(kind)


def faulter(soak: Soak, start: float, end: float) -> None:
    """One fault every ``interval`` seconds, the kinds in turn (shuffled per round),
    none in the last ``interval`` seconds (the quiet end, where every worker must
    succeed again)."""
    rng = random.Random(soak.args.seed)
    duration = end - start
    interval = min(10.0, duration / (len(KINDS) + 1))
    # Slots counted in whole numbers: comparing float sums at the quiet end's edge
    # once dropped the last slot, and with it the last kind of the round.
    slots = int(duration / interval + 1e-9) - 1
    order: list[str] = []
    try:
        for number in range(slots):
            at = start + (number + 1) * interval
            while time.monotonic() < at:
                time.sleep(0.05)
            if not order:
                order = list(KINDS)
                rng.shuffle(order)
            kind = order.pop()
            detail = inject(soak, kind, rng)
            if kind != "close_sigkill":
                with soak.lock:
                    soak.faults.append((time.time(), kind, detail))
            print(f"  {time.monotonic() - start:6.1f} s  fault {kind} {detail}", flush=True)
    except BaseException:
        soak.breaks.append(f"the fault injector failed: {traceback.format_exc()}")
    soak.quiet_from = time.time()


# --- checking -----------------------------------------------------------------------------


def read_log(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.endswith("}"):
            records.append(json.loads(line))
    return records


@dataclass
class Tally:
    operations: Counter[str] = field(default_factory=Counter)
    successes: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    raw: list[dict[str, Any]] = field(default_factory=list)


def tally_of(records: list[dict[str, Any]]) -> Tally:
    tally = Tally()
    for r in records:
        if r["op"] in ("started", "stopped"):
            continue
        tally.operations[r["op"]] += 1
        if r["ok"]:
            tally.successes[r["op"]] += 1
        else:
            tally.families[r["family"]] += 1
            tally.codes[f"{r['family']}:{r['code'] or r['error']}"] += 1
            if not r["datm"]:
                tally.raw.append(r)
    return tally


def check(soak: Soak, records: list[dict[str, Any]]) -> dict[str, int]:
    """Every invariant; the breaks are appended to ``soak.breaks``. Counts for the table."""
    found: dict[str, int] = {}
    with datm.open_injector(soak.config, wiring="postgres", environ={}) as injector:
        report = injector.get(AuditService).audit()
    if not report.ok:
        soak.breaks.append(f"the audit: {report}")
    for violation, query in VIOLATIONS.items():
        rows = soak.sql(query)
        if rows:
            soak.breaks.append(f"{violation}: {[tuple(r) for r in rows[:5]]}")

    # Every success a worker saw is in the database; every failure left nothing.
    trades = {
        r.quote_id: (r.player, r.mbid, r.side, r.price)
        for r in soak.sql("SELECT * FROM trades WHERE quote_id <> ''")
    }
    released = Counter(
        (r.mbid, r.price, r.at.isoformat())
        for r in soak.sql("SELECT mbid, price, at FROM trades WHERE quote_id = ''")
    )
    deleted_at: dict[str, float] = {}
    missing, left, in_doubt, in_doubt_committed = [], [], 0, 0
    for r in records:
        if r["op"] in ("buy", "sell"):
            row = trades.get(r["quote_id"])
            if r["ok"]:
                same = row is not None and row[1:] == (r["mbid"], r["op"], r["price"])
                if not same or row is None or row[0] not in (r["player"], None):
                    missing.append(f"{r['op']} {r['quote_id']}")
            elif r["code"] == "database_unavailable":
                in_doubt += 1  # the connection died: the commit may have landed
                in_doubt_committed += row is not None
            elif row is not None:
                left.append(f"{r['op']} {r['quote_id']} failed ({r['code']}) but traded")
        elif r["op"] == "reset" and r["ok"]:
            for mbid, price, at in r["sold"]:
                key = (mbid, price, datetime.fromisoformat(at).isoformat())
                if released[key] <= 0:
                    missing.append(f"reset sale {key}")
                released[key] -= 1
        elif r["op"] == "delete" and r["ok"]:
            deleted_at[r["player"]] = max(deleted_at.get(r["player"], 0.0), r["t"])
    created = {r.name: r.created_at.timestamp() for r in soak.sql("SELECT * FROM players")}
    for player, at in deleted_at.items():
        if player in created and created[player] <= at:
            missing.append(f"deletion of {player}: still there")
    if missing:
        soak.breaks.append(f"successes not in the database: {missing[:10]} ({len(missing)})")
    if left:
        soak.breaks.append(f"failures that left a trade: {left[:10]} ({len(left)})")
    found["in doubt"], found["in doubt, committed"] = in_doubt, in_doubt_committed
    found["closes"] = check_closes(soak)
    return found


def check_closes(soak: Soak) -> int:
    """Each close paid each holder of record once, except those reset or gone
    since its cut-off (paid at most once, and then before that), and nobody else;
    every dividend entry is its artist's dividend of the day."""
    days = [r.day for r in soak.sql("SELECT day FROM closes ORDER BY day")]
    for day in days:
        (mark,) = [r.reset_mark for r in soak.sql("SELECT * FROM closes WHERE day = :d", d=day)]
        log = soak.sql(
            "SELECT * FROM soak_close_log WHERE day = :d OR event = 'reset' ORDER BY seq", d=day
        )
        of_record = Counter((r.player, r.mbid) for r in log if r.event == "record")
        if of_record and max(of_record.values()) > 1:
            soak.breaks.append(f"{day}: a holder recorded twice")
        reset_at: dict[str, int] = {}
        for r in log:
            if r.event == "reset" and r.reset_seq > mark:
                reset_at.setdefault(r.player, r.seq)
        paid: dict[tuple[str, str], list[int]] = defaultdict(list)
        for r in log:
            if r.event == "dividend":
                paid[(r.player, r.mbid)].append(r.seq)
        dividend = {
            r.mbid: r.dividend for r in soak.sql("SELECT * FROM history WHERE day = :d", d=day)
        }
        twice = [pair for pair, seqs in paid.items() if len(seqs) > 1]
        stranger = [pair for pair in paid if pair not in of_record]
        late = [
            pair
            for pair, seqs in paid.items()
            if pair[0] in reset_at and seqs[0] > reset_at[pair[0]]
        ]
        missed = [
            pair
            for pair in of_record
            if pair[0] not in reset_at and dividend.get(pair[1], 0) != 0 and pair not in paid
        ]
        amounts = soak.sql(
            "SELECT l.player, split_part(l.reference, ':', 1) AS mbid, l.amount FROM ledger l"
            " WHERE l.kind = 'dividend' AND split_part(l.reference, ':', 2) = :d",
            d=day.isoformat(),
        )
        wrong = [(r.player, r.mbid) for r in amounts if r.amount != dividend.get(r.mbid)]
        for what, pairs in (
            ("paid twice", twice),
            ("paid without holding at the cut-off", stranger),
            ("paid after a reset or deletion since the cut-off", late),
            ("holders of record missed", missed),
            ("a dividend entry not the artist's dividend", wrong),
        ):
            if pairs:
                soak.breaks.append(f"close of {day}: {what}: {pairs[:5]} ({len(pairs)})")
    return len(days)


def liveness(soak: Soak, by_slot: dict[int, list[dict[str, Any]]]) -> None:
    """Every worker of the last generation succeeded after the last fault, and
    stopped in time."""
    for slot, records in sorted(by_slot.items()):
        late = [r for r in records if r["ok"] and r["t"] > soak.quiet_from + 2 and "player" in r]
        if not late:
            soak.breaks.append(f"worker {slot}: no success after the last fault (wedged?)")
        stopped = [r for r in records if r["op"] == "stopped"]
        if not stopped or stopped[-1]["wedged"]:
            soak.breaks.append(f"worker {slot}: did not stop cleanly: {stopped[-1:]}")


# --- the run ------------------------------------------------------------------------------


def run(soak: Soak) -> int:
    args = soak.args
    soak.stop = workers.Flag(str(soak.workdir / "stop"))
    today = datetime.now(UTC).date()
    count = 2 * int(args.seconds // args.close_every) + 4  # a kill asks for a close early
    soak.close_days = [today - timedelta(days=count - 1 - n) for n in range(count)]
    for slot in range(args.processes):
        start_worker(soak, slot)
    start = time.monotonic()
    end = start + args.seconds
    print(f"soak for {args.seconds:.0f} s: {args.processes} processes x {args.threads} threads")
    threads = [
        threading.Thread(target=closer, args=(soak, end), name="closer", daemon=True),
        threading.Thread(target=faulter, args=(soak, start, end), name="faults", daemon=True),
    ]
    for thread in threads:
        thread.start()
    while time.monotonic() < end:
        time.sleep(0.2)
    soak.stop.set()
    print("stopping; checking", flush=True)
    for thread in threads:
        thread.join(JOIN_SECONDS * 3)
        if thread.is_alive():
            soak.breaks.append(f"the {thread.name} thread did not end")
    for slot, process in soak.procs.items():
        process.join(JOIN_SECONDS)
        if process.is_alive():
            soak.breaks.append(f"worker {slot} still running {JOIN_SECONDS:.0f} s after the stop")
            process.kill()
            process.join(JOIN_SECONDS)
        elif process.exitcode != 0:
            soak.breaks.append(f"worker {slot} exited with {process.exitcode}")
    # Whatever close is unfinished is finished now, with no fault.
    unfinished = soak.sql("SELECT day FROM closes WHERE finished_at IS NULL ORDER BY day DESC")
    if unfinished:
        finish_close(soak, unfinished[0].day, 0.0)
    elapsed = time.monotonic() - start

    records: list[dict[str, Any]] = []
    by_slot: dict[int, list[dict[str, Any]]] = {}
    for path in sorted(soak.logs.glob("worker-*.jsonl")):
        lines = read_log(path)
        records += lines
        slot, generation = (int(x) for x in path.stem.split("-")[1:])
        if generation == soak.generations[slot] - 1:
            by_slot[slot] = lines
    close_records = [r for path in soak.closes for r in read_log(Path(path))]
    found = check(soak, records)
    liveness(soak, by_slot)
    tally = tally_of(records)
    close_tally = tally_of(close_records)
    return report(soak, tally, close_tally, found, elapsed)


def report(soak: Soak, tally: Tally, closes: Tally, found: dict[str, int], elapsed: float) -> int:
    raw = tally.raw + closes.raw
    injected = Counter(kind for _, kind, _ in soak.faults)
    never = [kind for kind in KINDS if not injected[kind]]
    rows: list[tuple[str, str]] = [
        ("seconds", f"{elapsed:.0f}"),
        ("operations", str(sum(tally.operations.values()))),
        ("successes", str(sum(tally.successes.values()))),
    ]
    for op in sorted(tally.operations):
        rows.append((f"  {op}", f"{tally.successes[op]} ok of {tally.operations[op]}"))
    for family in ("transient", "authentication", "data", "programming", "service"):
        rows.append((f"{family} errors", str(tally.families[family])))
    for code, n in sorted(tally.codes.items()):
        if not code.startswith("raw:"):
            rows.append((f"  {code}", str(n)))
    rows += [
        ("close runs", str(sum(closes.operations.values()))),
        ("  ok (finished or ended by an outage)", str(closes.successes["close"])),
    ]
    for code, n in sorted(closes.codes.items()):
        rows.append((f"  {code}", str(n)))
    rows += [
        ("days closed", str(found["closes"])),
        ("trades in doubt (connection lost)", f"{found['in doubt']}"),
        ("  of which committed", f"{found['in doubt, committed']}"),
        ("raw exceptions", str(len(raw))),
        ("invariant breaks", str(len(soak.breaks))),
    ]
    rows.append(("faults injected", str(sum(injected.values()))))
    for kind in KINDS:
        rows.append((f"  {kind}", str(injected[kind])))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14}")
    for t, kind, detail in soak.faults:
        stamp = datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")
        print(f"fault {stamp} {kind}: {detail}")
    for problem in soak.breaks:
        print(f"INVARIANT BREAK: {problem}")
    for r in raw[:5]:
        print(f"RAW EXCEPTION in {r['op']}: {r['error']}\n{r.get('trace', '')}")
    if never:
        print(f"FAULT KINDS NEVER INJECTED: {never}")
    ok = not raw and not soak.breaks and not never
    print("soak: OK" if ok else "soak: FAILED")
    return 0 if ok else 1


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM ends the soak as Ctrl-C does: through the teardown."""

    def to_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, to_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--shared", type=int, default=40, help="players every thread uses")
    parser.add_argument("--artists", type=int, default=50)
    parser.add_argument("--close-every", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    random.seed(args.seed)
    soak = Soak(args, make_workdir())
    status = 2
    try:
        with interruptible(), ExitStack() as stack:
            set_up(soak, stack)
            try:
                status = run(soak)
            finally:
                if soak.stop is not None:
                    soak.stop.set()
                for process in soak.procs.values():
                    process.join(5)
                    if process.is_alive():
                        process.kill()
                        process.join(JOIN_SECONDS)
    except KeyboardInterrupt:
        print("soak: interrupted; servers torn down", file=sys.stderr)
        status = 130
    finally:
        if args.keep:
            print(f"work directory kept: {soak.workdir}")
        else:
            shutil.rmtree(soak.workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
