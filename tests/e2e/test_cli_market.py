"""``datm market status`` and ``datm market close``: in-process on the in-memory
store, and as the installed command against a seeded Postgres game."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import cli_game
import postgres_support
import pytest
from click.testing import CliRunner

from datm.cli import main
from datm.domain.artist import Artist
from datm.ports.unit_of_work import UnitOfWorkFactory

# No DATM_* from the developer's shell: the in-memory store, the offline last.fm.
CLEAN = {"DATM_DATABASE_URL": None, "DATM_LASTFM_API_KEY": None, "DATM_REDIS_URL": None}


def invoke(*args: str, **env: str | None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={**CLEAN, **env})
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str) -> str:
    """The error of a refused command: exactly one ``Error:`` line, no traceback."""
    assert "Traceback" not in stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("Error:")]
    return line


# --- in process, in memory ------------------------------------------------------


def test_version_comes_from_the_installed_distribution() -> None:
    code, out, _ = invoke("--version")

    assert (code, out.strip()) == (0, f"datm {version('datm')}")


@pytest.mark.parametrize(
    "command", [[], ["market"], ["market", "status"], ["market", "close"], ["audit"], ["db"]]
)
def test_dash_h_is_help_everywhere(command: list[str]) -> None:
    code, out, _ = invoke(*command, "-h")

    assert code == 0
    assert out.startswith("Usage: ")


def test_status_of_the_in_memory_store_is_open_with_exit_0() -> None:
    code, out, _ = invoke("market", "status")

    assert code == 0
    assert "market: open" in out
    assert "in-memory" in out


def test_close_of_an_empty_in_memory_game_finishes_with_exit_0() -> None:
    code, out, _ = invoke("market", "close")

    assert code == 0, out
    assert cli_game.figure(out, "artists closed") == 0
    assert cli_game.figure(out, "holders paid") == 0


@pytest.mark.parametrize("day", ["yesterday", "2026-02-30", "01/12/2026"])
def test_a_day_that_is_not_a_date_is_a_usage_error(day: str) -> None:
    code, _, err = invoke("market", "close", "--day", day)

    assert code == 2
    assert "Invalid value for '--day'" in err


def test_a_day_in_the_future_is_refused_in_one_line_with_exit_2() -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).date()

    code, out, err = invoke("market", "close", "--day", future.isoformat())

    assert code == 2
    assert "future" in one_error_line(err)
    assert "artists closed" not in out


def test_a_bad_setting_is_one_line_with_exit_2() -> None:
    code, _, err = invoke("market", "close", DATM_MARKET_LOCK_TIMEOUT_SECONDS="soon")

    assert code == 2
    assert "market_lock_timeout_seconds" in one_error_line(err).lower()


def test_an_unreachable_database_is_one_line_and_never_shows_its_password() -> None:
    postgres_support.require_postgres_packages()
    url = "postgresql://game:s3cr%40t-pw@127.0.0.1:9/scrobble"  # nothing listens on port 9

    for command in (["market", "status"], ["market", "close"], ["audit"]):
        code, out, err = invoke(*command, DATM_DATABASE_URL=url)

        assert code == 2, (command, out, err)
        one_error_line(err)
        for shown in (out, err):
            assert "s3cr" not in shown and "s3cr@t-pw" not in shown


def test_minus_v_logs_the_close_at_info_and_log_level_chooses_the_level() -> None:
    quiet = invoke("market", "close")
    verbose = invoke("-v", "market", "close")
    after = invoke("market", "close", "--log-level", "info")
    errors_only = invoke("--log-level", "error", "market", "close")

    assert "datm.services.close" not in quiet[2]
    for _, _, err in (verbose, after):
        assert "INFO datm.services.close: close of" in err
        assert "finished: 0 artists closed" in err
    assert "datm.services.close" not in errors_only[2]


# --- the installed command on a seeded Postgres game ----------------------------


@pytest.mark.postgres
def test_close_of_a_seeded_game_shows_the_bar_and_a_summary_the_database_bears_out() -> None:
    with cli_game.seeded_game(holders=3, unheld=1) as seeded:
        result = seeded.run("market", "close")

        assert result.returncode == 0, result.stdout + result.stderr
        today = datetime.now(UTC).date()  # the command's day (the seed was yesterday's)
        out = result.stdout
        assert f"close of {today}" in out
        closed = seeded.scalar("SELECT count(*) FROM history WHERE day = :d", d=today)
        todays = "FROM ledger WHERE kind = 'dividend' AND reference LIKE :r"
        ref = f"%:{today.isoformat()}"  # a dividend's reference: mbid:day
        payments = seeded.scalar(f"SELECT count(*) {todays}", r=ref)
        paid = seeded.scalar(f"SELECT coalesce(sum(amount), 0) {todays}", r=ref)
        points = seeded.scalar("SELECT coalesce(sum(points_all_time), 0) FROM players")
        assert cli_game.figure(out, "artists closed") == closed == 4
        assert cli_game.figure(out, "artists skipped") == 0
        assert cli_game.figure(out, "artists failed") == 0
        assert cli_game.figure(out, "holders paid") == payments == 3
        assert cli_game.figure(out, "dividends paid") == paid > 0
        assert cli_game.figure(out, "points awarded") == points
        assert seeded.scalar("SELECT finished_at IS NOT NULL FROM closes WHERE day = :d", d=today)
        assert "trading refused" in out and "duration" in out
        # rich draws a non-terminal's bars once, as they end: every step, every artist.
        bars = {line.split()[0]: line for line in result.stderr.splitlines() if "/4" in line}
        assert set(bars) == {"cut-off", "fetched", "paid"}
        assert all("4/4" in line and "0 failed" in line for line in bars.values())

        again = seeded.run("market", "close")

        assert again.returncode == 0, again.stdout + again.stderr
        assert f"{today} already closed" in again.stdout
        assert seeded.scalar(f"SELECT coalesce(sum(amount), 0) {todays}", r=ref) == paid


@pytest.mark.postgres
def test_a_close_that_leaves_an_artist_open_exits_1_and_lists_it_with_its_reason() -> None:
    with cli_game.seeded_game(holders=1, unheld=0) as seeded:
        gone = str(uuid.uuid4())  # listed, but last.fm does not know it (any more)
        with seeded.game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
            uow.artists.add(Artist(gone, "Gone", 100, 1, 100, 10, 10, seeded.game.clock.today()))
            uow.commit()

        result = seeded.run("market", "close")

        assert result.returncode == 1, result.stdout + result.stderr
        assert cli_game.figure(result.stdout, "artists closed") == 1
        assert cli_game.figure(result.stdout, "artists failed") == 1
        [row] = [line for line in result.stdout.splitlines() if gone in line]
        assert "unknown_artist" in row
        assert f"artist {gone} left open (unknown_artist)" in result.stderr  # WARNING, default
        assert seeded.scalar("SELECT finished_at IS NULL FROM closes")


@pytest.mark.postgres
def test_status_names_the_process_holding_the_lock_and_close_is_refused_with_exit_2() -> None:
    with cli_game.seeded_game(holders=1, unheld=0) as seeded:
        with cli_game.lock_holder(seeded.url) as holder:
            status = seeded.run("market", "status")
            refused = seeded.run("market", "close", market_lock_timeout_seconds="0.5")

        assert status.returncode == 1, status.stdout + status.stderr
        assert "market: closed" in status.stdout
        assert f"held by: pid {holder.pid} on " in status.stdout
        assert "since: " in status.stdout
        assert "postgres backend pid: " in status.stdout
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "refused" in one_error_line(refused.stderr)
        assert seeded.scalar("SELECT count(*) FROM closes") == 0

        after = seeded.run("market", "status")

        assert after.returncode == 0, after.stdout + after.stderr
        assert "market: open" in after.stdout


@pytest.mark.postgres
def test_the_market_lock_of_another_database_on_the_server_leaves_ours_open() -> None:
    with (
        cli_game.seeded_game(holders=1, unheld=0) as seeded,
        postgres_support.fresh_database("datm_other") as other,
        cli_game.lock_holder(other),
    ):
        ours = seeded.run("market", "status")
        theirs = cli_game.datm(other, "market", "status")
        closed = seeded.run("market", "close", market_lock_timeout_seconds="5")

    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert "market: open" in ours.stdout
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    assert closed.returncode == 0, closed.stdout + closed.stderr
