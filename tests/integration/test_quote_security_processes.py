"""Quotes attacked from several api processes at once, on one Postgres (issue 15,
part 5): one quote executed by four processes trades once; replayed, altered and
borrowed quotes sent at the same moment as the real one are all refused.

Real processes (``spawn``, each with its own injector on the URL, as an api
process has), released together at a barrier each round; every wait is bounded
and no assertion is about time. Afterwards the database is checked: the trades
are exactly the winning executions, the ledger and the holdings agree with them
(``process_world.assert_invariants``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from multiprocessing import get_context
from typing import Any

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import quote_security_workers as workers  # noqa: E402
from process_workers import Outcome  # noqa: E402
from process_world import WAIT, World, assert_invariants, open_world, stop_process  # noqa: E402
from quote_security_workers import Attempt, altered  # noqa: E402

from datm.services.trading import TradingService  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SPAWN = get_context("spawn")
PROCESSES = 4


@pytest.fixture
def world() -> Iterator[World]:
    with ExitStack() as stack:
        yield stack.enter_context(open_world(2, 1))


Plan = Callable[[int, str, str, list[tuple[str, str]]], list[list[Attempt]]]


def run_rounds(
    world: World, rounds: int, plan: Plan
) -> list[tuple[int, list[tuple[str, Outcome]]]]:
    """Each round: the first player quotes the world's artist (buy, then sell, in
    turn); ``plan(round, side, token, earlier)`` gives each process its attempts,
    ``earlier`` being the (side, token) of every round before. Returns every
    process's report of every round, in round order."""
    (_, key), _ = world.sessions
    mbid = world.mbids[0]
    keys = tuple(k for _, k in world.sessions)
    barrier = SPAWN.Barrier(PROCESSES)
    inboxes = [SPAWN.Queue() for _ in range(PROCESSES)]
    outbox = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=workers.contest, args=(world.url, w, keys, inboxes[w], outbox, barrier)
        )
        for w in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    trading = world.get(TradingService)
    earlier: list[tuple[str, str]] = []
    reports: list[tuple[int, list[tuple[str, Outcome]]]] = []
    try:
        for number in range(rounds):
            side = "buy" if number % 2 == 0 else "sell"
            token = trading.quote(key, mbid, side).token
            for inbox, attempts in zip(inboxes, plan(number, side, token, earlier), strict=True):
                inbox.put((number, attempts))
            answers = [outbox.get(timeout=WAIT) for _ in processes]
            assert {n for _, n, _ in answers} == {number}
            reports += [(number, seen) for _, _, seen in sorted(answers, key=lambda a: a[0])]
            earlier.append((side, token))
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for process in processes:
            stop_process(process, grace=10)
    assert [p.exitcode for p in processes] == [0] * PROCESSES
    return reports


def traded_quote_ids(world: World) -> Counter[str]:
    return Counter(row.quote_id for row in world.sql("SELECT quote_id FROM trades"))


def test_one_quote_executed_by_four_processes_at_once_trades_once_every_round(
    world: World,
) -> None:
    (player, key), _ = world.sessions

    def plan(number: int, side: str, token: str, earlier: list[Any]) -> list[list[Attempt]]:
        return [[Attempt("valid", key, side, token)] for _ in range(PROCESSES)]

    rounds = 30
    reports = run_rounds(world, rounds, plan)

    wins: Counter[int] = Counter()
    for number, seen in reports:
        for _, outcome in seen:
            if outcome.ok:
                wins[number] += 1
            else:
                assert outcome.code == "quote_invalid", (number, outcome)
    assert wins == Counter(dict.fromkeys(range(rounds), 1))
    winners = {o.quote_id for _, seen in reports for _, o in seen if o.ok}
    assert traded_quote_ids(world) == Counter(dict.fromkeys(winners, 1))
    sides = world.sql(
        "SELECT kind, COUNT(*) AS n FROM ledger WHERE player = :p AND kind IN ('buy', 'sell')"
        " GROUP BY kind ORDER BY kind",
        p=player,
    )
    assert [(r.kind, r.n) for r in sides] == [("buy", rounds // 2), ("sell", rounds // 2)]
    assert world.count("SELECT COUNT(*) FROM holdings") == 0  # the last round sold
    assert_invariants(world)


def test_replayed_altered_and_borrowed_quotes_sent_with_the_real_one_are_all_refused(
    world: World,
) -> None:
    (owner, key), (other, other_key) = world.sessions

    def plan(number: int, side: str, token: str, earlier: list[Any]) -> list[list[Attempt]]:
        flip = "sell" if side == "buy" else "buy"
        # Every used quote again: the one that undoes this round's trade would
        # trade if replay were not refused (a buy after the sell, a sell after the buy).
        replays = [Attempt("replay", key, s, t) for s, t in earlier[-4:]]
        return [
            [Attempt("valid", key, side, token), *replays],
            [Attempt("borrowed", other_key, side, token), *replays],
            [
                Attempt("price altered", key, side, altered(token, c=1)),
                Attempt("player altered", other_key, side, altered(token, p=other)),
                Attempt("side altered", key, flip, altered(token, s=flip)),
                Attempt("id altered", key, side, altered(token, i=f"x{number}")),
                Attempt("expiry altered", key, side, altered(token, e=2**41)),
            ],
            [
                Attempt("forged", key, side, f"{token.split('.')[0]}.{'0' * 64}"),
                Attempt("valid", key, side, token),
                *replays,
            ],
        ]

    rounds = 20
    reports = run_rounds(world, rounds, plan)

    wins: Counter[int] = Counter()
    refused: Counter[str] = Counter()
    for number, seen in reports:
        for label, outcome in seen:
            if label == "valid" and outcome.ok:
                wins[number] += 1
                continue
            assert not outcome.ok, (number, label, outcome)
            assert outcome.code == "quote_invalid", (number, label, outcome)
            refused[label] += 1
    print(f"\nrefused: {dict(refused)}")
    assert wins == Counter(dict.fromkeys(range(rounds), 1))
    assert refused["valid"] == rounds  # the second try of each round's quote
    assert refused["replay"] > 0
    winners = {o.quote_id for _, seen in reports for label, o in seen if o.ok}
    assert traded_quote_ids(world) == Counter(dict.fromkeys(winners, 1))
    assert world.count("SELECT COUNT(*) FROM trades WHERE player = :p", p=other) == 0
    assert world.count("SELECT COUNT(*) FROM ledger WHERE player = :p", p=other) == 0
    assert world.count("SELECT COUNT(*) FROM trades WHERE player = :p", p=owner) == rounds
    assert world.count("SELECT COUNT(*) FROM holdings") == 0
    assert_invariants(world)
