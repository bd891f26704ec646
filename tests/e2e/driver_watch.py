"""The start of a script run in a fresh interpreter to show that a wiring never
imports a database driver: it records every attempt, and ``DRIVERS_LOADED``
says which got loaded anyway. ``run_watched`` runs such a script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, sys

class Watch:
    attempted = []
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("sqlalchemy", "psycopg2"):
            self.attempted.append(name)
        return None

sys.meta_path.insert(0, Watch())

def DRIVERS_LOADED():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "psycopg2"))
"""


def run_watched(script: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``script`` (which starts with ``PRELUDE``) in a fresh interpreter at the
    project's root; the JSON report it prints on its last line."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report
