"""The README's code is real code, and the runner that proves it is itself tested.

``tools/readme_blocks.py`` runs every fenced block of README.md; CI runs all of them
from the installed wheel, outside the source tree (``tools/check_wheel.sh``: that is
the run that counts). Here the suite runs the README's python blocks against this
environment's datm (the in-memory wiring and the offline last.fm), and checks the
runner's convention on small READMEs of its own: sessions, skips, timeouts, servers in
the background, the environment blocks export, and the loopback-only network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tools" / "readme_blocks.py"
FENCE = "```"


def run(readme: Path, *options: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), str(readme), *options],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin"},
    )


def readme(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "README.md"
    path.write_text(textwrap.dedent(text).replace("~~~", FENCE), encoding="utf-8")
    return path


def test_the_readme_python_blocks_run_against_the_in_memory_wiring() -> None:
    result = run(ROOT / "README.md", "--only", "python")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "MarketData(mbid='bd13909f-1c29-4c27-a874-d4aaf27c5b1a'" in out  # the api
    assert "held=True" in out
    assert "set DATM_DATABASE_URL" in out  # the web's wiring names what it lacks
    assert re.search(r"closed \d+ of \d+ artists", out)  # analytics, after the api's trades
    assert "not run: .ci/run runs both" in out  # the one skip states its reason
    assert "readme_blocks: every block ok" in out


def test_the_readme_follows_the_convention_and_needs_a_database_to_run_whole() -> None:
    listed = run(ROOT / "README.md", "--list")
    whole = run(ROOT / "README.md")

    assert listed.returncode == 0, listed.stderr
    assert "background until 'fake last.fm at'" in listed.stdout
    assert whole.returncode == 2
    assert "need --database-url" in whole.stderr


def test_a_python_block_goes_on_in_its_session_and_a_fresh_one_starts_clean(
    tmp_path: Path,
) -> None:
    path = readme(
        tmp_path,
        """\
        <!-- readme-run: session: first -->
        ~~~python
        kept = 1
        ~~~
        ~~~python
        assert "kept" not in globals()
        other = 2
        ~~~
        <!-- readme-run: continue: first -->
        ~~~python
        assert kept == 1 and "other" not in globals()
        kept += 1
        ~~~
        <!-- readme-run: continue -->
        ~~~python
        assert kept == 2
        print("sessions ok")
        ~~~
        """,
    )

    result = run(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "sessions ok" in result.stdout
    assert "4 ran" in result.stdout


def test_a_failing_block_stops_the_run_with_a_traceback_at_the_readme_line(
    tmp_path: Path,
) -> None:
    path = readme(
        tmp_path,
        """\
        ~~~python
        defined = 1
        ~~~
        ~~~python
        print(defined)
        ~~~
        ~~~sh
        echo never-reached
        ~~~
        """,
    )

    result = run(path)

    assert result.returncode == 1
    assert 'File "README.md", line 5' in result.stdout
    assert "NameError" in result.stdout
    assert "never-reached" not in result.stdout
    assert "FAILED: README.md:4 python failed" in result.stdout


def test_an_sh_block_fails_at_its_first_failing_command(tmp_path: Path) -> None:
    path = readme(tmp_path, "~~~sh\necho first-line-ran\nfalse\necho third-line-ran\n~~~\n")

    result = run(path)

    assert result.returncode == 1
    assert "first-line-ran" in result.stdout
    assert "third-line-ran" not in result.stdout


def test_a_skipped_block_is_not_run_and_its_reason_is_printed(tmp_path: Path) -> None:
    path = readme(
        tmp_path,
        "<!-- readme-run: skip: CI itself runs this -->\n~~~sh\nexit 1\n~~~\n"
        "~~~text\nnot code\n~~~\n",
    )

    result = run(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "not run: CI itself runs this" in result.stdout
    assert "1 skipped, 1 text" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("~~~\nls\n~~~\n", "without a language"),
        ("~~~ruby\nputs 1\n~~~\n", "language 'ruby'"),
        ("<!-- readme-run: skip -->\n~~~sh\nls\n~~~\n", "skip needs a reason"),
        ("<!-- readme-run: frobnicate -->\n~~~sh\nls\n~~~\n", "unknown directive"),
        ("<!-- readme-run: continue -->\n~~~python\npass\n~~~\n", "no python block before"),
        ("<!-- readme-run: continue: nobody -->\n~~~python\npass\n~~~\n", "session: nobody"),
        ("<!-- readme-run: replace: absent => x -->\n~~~sh\nls\n~~~\n", "is not in the block"),
        ("<!-- readme-run: background: up -->\n~~~python\npass\n~~~\n", "for sh blocks"),
        ("<!-- readme-run: timeout: soon -->\n~~~sh\nls\n~~~\n", "needs seconds"),
        ("<!-- readme-run: skip: x -->\n\nprose\n~~~sh\nls\n~~~\n", "not directly above"),
        ("<!-- readme-run skip: x -->\n~~~sh\nls\n~~~\n", "malformed marker"),
        ("~~~sh\nls\n", "never closed"),
    ],
)
def test_a_readme_that_breaks_the_convention_runs_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    marker = tmp_path / "ran"
    path = readme(tmp_path, f"~~~sh\ntouch {marker}\n~~~\n{text}")

    result = run(path)

    assert result.returncode == 2
    assert message in result.stderr
    assert not marker.exists()


def test_a_block_that_outruns_its_timeout_is_killed_and_fails(tmp_path: Path) -> None:
    path = readme(
        tmp_path,
        """\
        <!-- readme-run: timeout: 1 -->
        ~~~python
        import time
        time.sleep(60)
        ~~~
        """,
    )

    result = run(path, timeout=30)

    assert result.returncode == 1
    assert "Timeout" in result.stdout  # the stack of the block, dumped before the kill
    assert 'File "README.md", line 4' in result.stdout


def test_an_sh_block_that_outruns_its_timeout_is_killed_and_fails(tmp_path: Path) -> None:
    path = readme(tmp_path, "<!-- readme-run: timeout: 1 -->\n~~~sh\nsleep 60\n~~~\n")

    result = run(path, timeout=30)

    assert result.returncode == 1
    assert "timed out after 1 s" in result.stdout


GUARD_CHECK = """\
import socket, sys
sock = socket.socket()
sys.audit("socket.connect", sock, ("127.0.0.1", 9))  # loopback: allowed
try:
    sys.audit("socket.connect", sock, ("192.0.2.1", 9))  # audited only: nothing is sent
except PermissionError as refused:
    print("refused:", refused)
else:
    raise SystemExit("the network guard let a connection beyond loopback through")
try:
    sys.audit("socket.getaddrinfo", "example.org", 443, 0, 0, 0)
except PermissionError:
    print("refused: a look-up")
else:
    raise SystemExit("the network guard let a name look-up through")
"""


def test_blocks_and_the_python_commands_they_start_may_reach_only_loopback(
    tmp_path: Path,
) -> None:
    (tmp_path / "guard_check.py").write_text(GUARD_CHECK, encoding="utf-8")
    path = readme(
        tmp_path,
        f"~~~python\n{GUARD_CHECK}~~~\n"
        f"<!-- readme-run: replace: guard_check.py => {{source}}/guard_check.py -->\n"
        "~~~sh\npython3 guard_check.py\n~~~\n",
    )

    result = run(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("refused: readme_blocks: network to '192.0.2.1' refused") == 2
    assert result.stdout.count("refused: a look-up") == 2


def test_a_background_server_serves_later_blocks_through_what_its_block_exports(
    tmp_path: Path,
) -> None:
    path = readme(
        tmp_path,
        """\
        <!-- readme-run: background: Serving HTTP -->
        <!-- readme-run: replace: 8000 => {port} -->
        ~~~sh
        python3 -u -m http.server --bind 127.0.0.1 8000
        export SERVER_URL=http://127.0.0.1:8000/
        ~~~
        ~~~python
        import os
        import urllib.request

        with urllib.request.urlopen(os.environ["SERVER_URL"], timeout=10) as response:
            print("status", response.status)
        ~~~
        """,
    )

    result = run(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "status 200" in result.stdout
    stopped = re.search(r"stopped the server of README.md:3 \(pid (\d+)\)", result.stdout)
    assert stopped, result.stdout
    with pytest.raises(ProcessLookupError):
        os.kill(int(stopped.group(1)), 0)


def test_a_background_server_that_dies_early_fails_the_run(tmp_path: Path) -> None:
    path = readme(
        tmp_path,
        """\
        <!-- readme-run: background: ready -->
        ~~~sh
        python3 -u -c "print('ready'); import time; time.sleep(0.5)"
        ~~~
        ~~~sh
        sleep 2
        ~~~
        """,
    )

    result = run(path)

    assert result.returncode == 1
    assert "had exited early" in result.stdout


def test_the_database_url_comes_from_the_runner_and_must_be_on_loopback(
    tmp_path: Path,
) -> None:
    path = readme(
        tmp_path,
        """\
        <!-- readme-run: replace: postgresql://game@db.internal/x => {database_url} -->
        ~~~sh
        test "postgresql://game@db.internal/x" = postgresql://postgres@127.0.0.1:5432/scratch
        ~~~
        """,
    )

    assert (
        run(path, "--database-url", "postgresql://postgres@127.0.0.1:5432/scratch").returncode == 0
    )
    refused = run(path, "--database-url", "postgresql://postgres@db.example.org/scratch")
    assert refused.returncode == 2
    assert "must be on 127.0.0.1" in refused.stderr


def test_a_python_block_imports_what_an_sh_block_wrote_and_sees_no_caller_variables(
    tmp_path: Path,
) -> None:
    path = readme(
        tmp_path,
        """\
        ~~~sh
        echo 'DATABASE_URL = None' > config.py
        export DATM_LASTFM_RETRIES=2
        ~~~
        ~~~python
        import os

        import config

        assert config.DATABASE_URL is None
        assert os.environ["DATM_LASTFM_RETRIES"] == "2"  # exported by the block above
        assert "DATM_POOL_SIZE" not in os.environ  # the caller's
        print("clean", not os.path.exists("README.md"))  # the work directory, not the tree
        ~~~
        """,
    )

    result = subprocess.run(
        [sys.executable, str(RUNNER), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DATM_POOL_SIZE": "1"},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean True" in result.stdout
