"""The README's api example is real code: it runs, as a newcomer would paste it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- readme-example: this block is executed by tests/e2e/test_readme.py -->"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost its executed example"
    after = text.split(MARKER, 1)[1]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match is not None
    return match.group(1)


def test_readme_api_example_logs_in_buys_and_sells_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _example()],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "MarketData(mbid='bd13909f-1c29-4c27-a874-d4aaf27c5b1a'" in result.stdout
    assert "held=True" in result.stdout
