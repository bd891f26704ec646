"""``datm demo``: the installed command runs simulated days and checks the ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATM = Path(sys.executable).with_name("datm")


def test_datm_demo_plays_two_days_and_its_ledger_check_is_ok() -> None:
    assert DATM.exists(), f"{DATM} is missing: install datm into this environment"

    result = subprocess.run(
        [str(DATM), "demo", "--players", "4", "--days", "2", "--trades", "5"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200"},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    [check] = [line for line in result.stdout.splitlines() if "ledger check" in line]
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
