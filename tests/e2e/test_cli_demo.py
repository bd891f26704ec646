"""``datm demo``: the installed command runs simulated days and checks the ledger.

The check judges the record, not the luck of the run: it passes whenever money
and shares agree with the ledger, sale or no sale, and fails when they do not.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from datm import demo
from datm.adapters.memory.store import InMemoryStore

ROOT = Path(__file__).resolve().parents[2]
DATM = Path(sys.executable).with_name("datm")


def run_datm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DATM), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200"},
    )


def ledger_line(stdout: str) -> str:
    [check] = [line for line in stdout.splitlines() if "ledger check" in line]
    return check


def test_datm_demo_plays_two_days_and_its_ledger_check_is_ok() -> None:
    assert DATM.exists(), f"{DATM} is missing: install datm into this environment"

    result = run_datm("demo", "--players", "4", "--days", "2", "--trades", "5")

    assert result.returncode == 0, result.stdout + result.stderr
    check = ledger_line(result.stdout)
    assert "4 players" in check
    assert "0 money mismatches, 0 share mismatches" in check
    assert check.rstrip().endswith("OK")


def test_datm_demo_refuses_a_bad_option_with_a_usage_error() -> None:
    result = subprocess.run(
        [str(DATM), "demo", "--players", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )

    assert result.returncode == 2
    assert "--players" in result.stderr


def test_a_day_on_which_nobody_sold_still_passes_the_ledger_check() -> None:
    # Three players, one day (the command): they buy a little and, with the
    # default seed, sell nothing. Nothing about that is wrong with the ledger.
    result = run_datm("demo", "--days", "1", "--players", "3")

    assert result.returncode == 0, result.stdout + result.stderr
    check = ledger_line(result.stdout)
    assert "3 players" in check and check.rstrip().endswith("OK")


def give_a_player_money(store: InMemoryStore) -> None:
    with store.mutex:
        player = store.players[min(store.players)]
        player.money += 1  # money the ledger does not record


def hand_out_a_share(store: InMemoryStore) -> None:
    with store.mutex:
        artist = store.artists[min(store.artists)]
        artist.holders += 1  # a holder no holding accounts for


@pytest.mark.parametrize(
    ("tamper", "mismatch"),
    [(give_a_player_money, "1 money mismatches"), (hand_out_a_share, "1 share mismatches")],
)
def test_the_ledger_check_fails_when_money_or_shares_disagree_with_the_record(
    monkeypatch: pytest.MonkeyPatch, tamper: Callable[[InMemoryStore], None], mismatch: str
) -> None:
    played = demo.Demo.play

    def play_then_tamper(self: demo.Demo) -> bool:
        finished = played(self)
        tamper(self.injector.get(InMemoryStore))
        return finished

    monkeypatch.setattr(demo.Demo, "play", play_then_tamper)
    out = io.StringIO()
    options = demo.DemoOptions(players=3, threads=2, days=1, trades_per_player=5)

    status = demo.run_demo(options, Console(file=out, width=200))

    assert status == 1
    check = ledger_line(out.getvalue())
    assert mismatch in check and check.rstrip().endswith("FAILED")
