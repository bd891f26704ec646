"""``datm market status`` and ``datm market close``: in-process on the in-memory
store, and as the installed command against a seeded Postgres game."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cli_game
import postgres_support
import pytest
from click.testing import CliRunner

from datm.cli import main
from datm.cli.close_view import seconds
from datm.domain.artist import Artist
from datm.domain.errors import Busy, LastfmKeyRefused
from datm.fake_lastfm import FakeLastfm
from datm.fake_lastfm.faults import Fault
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.close import CloseService
from datm.services.results import CloseProgress, CloseReport, CloseStep, FailedArtist

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


STEPS = ("cut-off", "fetched", "holders", "paid")


def bars(stderr: str) -> dict[str, str]:
    """The close's bars, by label ("fetched", "paid (earlier day)"...), as rich draws a
    non-terminal's bars: once, as the display ends."""
    found = {}
    for line in stderr.splitlines():
        match = re.match(r"^((?:cut-off|fetched|holders|paid)(?: \(earlier day\))?)\s", line)
        if match:
            assert match.group(1) not in found, stderr
            found[match.group(1)] = line.rstrip()
    return found


def shown_seconds(output: str, name: str) -> str:
    """A duration of the summary: ``0.012 s`` (milliseconds under 10 s), ``12.5 s``..."""
    found = re.search(rf"^\s*{re.escape(name)}\s+(\S.*? s|\S.*? min)\s*$", output, re.M)
    assert found, f"no {name!r} in:\n{output}"
    return found.group(1)


def value(output: str, name: str) -> str:
    found = re.search(rf"^\s*{re.escape(name)}\s+(\S.*?)\s*$", output, re.MULTILINE)
    assert found, f"no {name!r} in:\n{output}"
    return found.group(1)


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
    code, out, err = invoke("market", "close")

    assert code == 0, out
    assert cli_game.figure(out, "artists closed") == 0
    assert cli_game.figure(out, "holders paid") == 0
    assert cli_game.figure(out, "kept their numbers") == 0
    assert value(out, "finished") == "yes"
    assert re.fullmatch(r"\d\.\d{3} s", shown_seconds(out, "trading refused"))
    drawn = bars(err)
    assert set(drawn) == set(STEPS), err
    assert all("0/0" in line and line.endswith("done") for line in drawn.values()), err
    assert "0 failed" in drawn["fetched"]


# --- in process, a scripted close: what the command makes of the service's events


def events(total: int, holdings: int, kept: int = 0) -> list[CloseProgress]:
    """One day's events as the close sends them: the cut-off, numbers in two
    stores, then, every artist's numbers in, the ``holdings`` of record paid in
    two ranges of names and the artists closed in two batches (each step first
    says what earlier runs did: nothing)."""
    half = total // 2
    return [
        CloseProgress(CloseStep.CUT_OFF, total, total),
        CloseProgress(CloseStep.FETCHED, half, total, 0, 2.5),
        CloseProgress(CloseStep.FETCHED, total, total, kept, 2.5),
        CloseProgress(CloseStep.HOLDERS, 0, holdings),
        CloseProgress(CloseStep.HOLDERS, holdings // 2, holdings),
        CloseProgress(CloseStep.HOLDERS, holdings, holdings),
        CloseProgress(CloseStep.PAID, 0, total),
        CloseProgress(CloseStep.PAID, half, total),
        CloseProgress(CloseStep.PAID, total, total),
    ]


def scripted(
    monkeypatch: pytest.MonkeyPatch,
    steps: list[CloseProgress],
    report: CloseReport | Exception,
) -> None:
    def run(
        self: CloseService, day: date | None = None, progress: object = None, on_step: object = None
    ) -> CloseReport:
        assert callable(on_step)
        for step in steps:
            on_step(step)
        if isinstance(report, Exception):
            raise report
        return report

    monkeypatch.setattr(CloseService, "run", run)


def report_of(**figures: Any) -> CloseReport:
    """A finished close of today that paid nothing, but for ``figures``."""
    today = datetime.now(UTC).date()
    return replace(CloseReport(today, False, True, 0, 0, (), 0, 0, 0, 12.5, 0.0123), **figures)


def test_kept_numbers_are_a_finding_exit_1_listed_with_their_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = tuple(
        FailedArtist(str(uuid.uuid4()), "unknown_artist", f"no artist called {n}") for n in range(3)
    )
    steps = events(10, holdings=14, kept=3)  # players hold several artists, kept ones too
    scripted(monkeypatch, steps, report_of(artists_closed=10, failed=kept))

    code, out, err = invoke("market", "close")

    assert code == 1, out + err
    assert cli_game.figure(out, "artists closed") == 10
    assert cli_game.figure(out, "kept their numbers") == 3
    assert value(out, "finished") == "yes"
    assert shown_seconds(out, "trading refused") == "0.012 s"
    assert shown_seconds(out, "duration") == "12.5 s"
    assert "kept their previous numbers" in out
    for artist in kept:
        [row] = [line for line in out.splitlines() if artist.mbid in line]
        assert "unknown_artist" in row and artist.reason in row
    drawn = bars(err)
    assert set(drawn) == set(STEPS), err
    assert "10/10" in drawn["cut-off"]
    assert "10/10" in drawn["fetched"] and "3 failed" in drawn["fetched"]
    assert "2.5/s" in drawn["fetched"]
    assert re.search(r"\s14/14\s", drawn["holders"]), drawn["holders"]
    assert "10/10" in drawn["paid"]
    assert all(line.endswith("done") for line in drawn.values()), err


def test_an_unfinished_close_exits_1_and_says_to_run_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # last.fm went away with 6 of 10 artists' numbers in: nothing is paid, no holder
    # and no artist (payment waits for every artist's numbers).
    steps = [*events(10, holdings=14)[:2], CloseProgress(CloseStep.FETCHED, 6, 10, 0, 1.5)]
    scripted(monkeypatch, steps, report_of(finished=False))

    code, out, err = invoke("market", "close")

    assert code == 1, out + err
    assert value(out, "finished") == "no: run the close again"
    assert "not finished" in out and "Run the close again" in out
    assert "kept their previous numbers" not in out
    drawn = bars(err)
    assert set(drawn) == set(STEPS), err
    assert "6/10" in drawn["fetched"] and drawn["fetched"].endswith("stopped")
    # No holders event: the holdings of record are not known to the bar.
    assert re.search(r"\s0/\?\s", drawn["holders"]), drawn["holders"]
    assert drawn["holders"].endswith("stopped")
    assert re.search(r"\s0/10\s", drawn["paid"]), drawn["paid"]
    assert drawn["paid"].endswith("stopped")
    assert "10/10" in drawn["cut-off"] and drawn["cut-off"].endswith("done")


def test_a_run_that_first_finishes_an_earlier_day_draws_that_days_bars_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = events(4, holdings=3) + events(6, holdings=9)
    scripted(monkeypatch, steps, report_of(artists_closed=10))

    code, out, err = invoke("market", "close")

    assert code == 0, out + err
    drawn = bars(err)
    assert set(drawn) == {*STEPS, *(f"{step} (earlier day)" for step in STEPS)}, err
    artists = [step for step in STEPS if step != "holders"]  # holdings: the holders' bar
    assert all("4/4" in drawn[f"{step} (earlier day)"] for step in artists)
    assert all("6/6" in drawn[step] for step in artists)
    assert re.search(r"\s3/3\s", drawn["holders (earlier day)"]), err
    assert re.search(r"\s9/9\s", drawn["holders"]), err
    assert all(line.endswith("done") for line in drawn.values()), err
    assert "first worked on an earlier day's close" in out


@pytest.mark.parametrize(
    ("payment", "holders"),
    [
        # What the close sends: each payment step says what earlier runs did.
        ([CloseProgress(CloseStep.HOLDERS, 7, 7), CloseProgress(CloseStep.PAID, 5, 5)], "7/7"),
        # No payment event at all: the holders' total never came, the bar ends empty.
        ([], "0/0"),
    ],
    ids=["paid-before", "no-payment-event"],
)
def test_a_close_finished_with_nothing_left_to_pay_shows_every_step_done(
    monkeypatch: pytest.MonkeyPatch, payment: list[CloseProgress], holders: str
) -> None:
    # A rerun of a close that died after paying everyone: nothing paid in this run.
    steps = [CloseProgress(CloseStep.CUT_OFF, 5, 5), CloseProgress(CloseStep.FETCHED, 5, 5)]
    scripted(monkeypatch, [*steps, *payment], report_of(artists_skipped=5))

    code, out, err = invoke("market", "close")

    assert code == 0, out + err
    drawn = bars(err)
    assert set(drawn) == set(STEPS), err
    assert all(line.endswith("done") for line in drawn.values()), err
    assert all("5/5" in drawn[step] for step in STEPS if step != "holders"), err
    assert re.search(rf"\s{holders}\s", drawn["holders"]), err


def test_an_error_after_the_cut_off_is_one_line_saying_to_run_it_again_with_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted(monkeypatch, events(10, holdings=14)[:2], LastfmKeyRefused(403))

    code, out, err = invoke("market", "close")

    assert code == 2
    line = one_error_line(err)
    assert "the close stopped" in line and "run it again" in line
    assert "artists closed" not in out
    drawn = bars(err)
    assert "5/10" in drawn["fetched"] and drawn["fetched"].endswith("stopped")
    assert re.search(r"\s0/\?\s", drawn["holders"]), err
    assert drawn["holders"].endswith("stopped")
    assert re.search(r"\s0/10\s", drawn["paid"]), err
    assert drawn["paid"].endswith("stopped")


def test_an_error_paying_the_holders_stops_their_bar_where_it_was_with_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first range of names paid; the second's transaction ran out of retries.
    steps = events(10, holdings=14)[:5]
    assert steps[-1] == CloseProgress(CloseStep.HOLDERS, 7, 14)
    scripted(monkeypatch, steps, Busy(attempts=5))

    code, out, err = invoke("market", "close")

    assert code == 2, out + err
    line = one_error_line(err)
    assert "the close stopped" in line and "run it again" in line
    assert "artists closed" not in out
    drawn = bars(err)
    assert set(drawn) == set(STEPS), err
    assert "10/10" in drawn["cut-off"] and drawn["cut-off"].endswith("done")
    assert "10/10" in drawn["fetched"] and drawn["fetched"].endswith("done")
    assert re.search(r"\s7/14\s", drawn["holders"]), err
    assert drawn["holders"].endswith("stopped")
    assert re.search(r"\s0/10\s", drawn["paid"]), err
    assert drawn["paid"].endswith("stopped")


@pytest.mark.parametrize(
    ("duration", "shown"),
    [(0.0004, "0.000 s"), (0.0123, "0.012 s"), (2.5, "2.500 s"), (12.34, "12.3 s"),
     (125, "2 min 5 s"), (7300, "2 h 1 min")],
)  # fmt: skip
def test_durations_are_shown_with_milliseconds_when_short(duration: float, shown: str) -> None:
    assert seconds(duration) == shown


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
def test_close_of_a_seeded_game_shows_the_bars_and_a_summary_the_database_bears_out() -> None:
    with cli_game.seeded_game(holders=3, unheld=1) as seeded:
        result = seeded.run("market", "close", "-v")

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
        of_record = seeded.scalar("SELECT artists_closed FROM closes WHERE day = :d", d=today)
        holdings = seeded.scalar("SELECT holdings FROM closes WHERE day = :d", d=today)
        dealt_with = seeded.scalar("SELECT holders_paid FROM closes WHERE day = :d", d=today)
        assert cli_game.figure(out, "artists closed") == closed == of_record == 4
        assert holdings == dealt_with == seeded.scalar("SELECT count(*) FROM holdings") == 3
        assert cli_game.figure(out, "artists skipped") == 0
        assert cli_game.figure(out, "kept their numbers") == 0
        assert cli_game.figure(out, "holders paid") == payments == 3
        assert cli_game.figure(out, "dividends paid") == paid > 0
        assert cli_game.figure(out, "points awarded") == points
        assert seeded.scalar("SELECT finished_at IS NOT NULL FROM closes WHERE day = :d", d=today)
        assert value(out, "finished") == "yes"
        assert "duration" in out
        # The report's own figure, as the close logs it (INFO, -v), to the millisecond.
        [logged] = re.findall(r"trading refused (\d+\.\d{3}) s", result.stderr)
        assert shown_seconds(out, "trading refused") == f"{logged} s"
        assert 0 < float(logged) < 10
        # rich draws a non-terminal's bars once, as they end: every step, every artist
        # (every holding of record, the holders' bar).
        drawn = bars(result.stderr)
        assert set(drawn) == set(STEPS), result.stderr
        assert all(line.endswith("done") for line in drawn.values()), result.stderr
        assert all("4/4" in drawn[step] for step in STEPS if step != "holders"), result.stderr
        assert re.search(rf"\s{holdings}/{holdings}\s", drawn["holders"]), drawn["holders"]
        assert re.search(r"4/4 +0 failed +[\d,.]+/s", drawn["fetched"]), drawn["fetched"]

        again = seeded.run("market", "close")

        assert again.returncode == 0, again.stdout + again.stderr
        assert f"{today} already closed" in again.stdout
        assert seeded.scalar(f"SELECT coalesce(sum(amount), 0) {todays}", r=ref) == paid


@pytest.mark.postgres
def test_an_artist_last_fm_does_not_know_keeps_its_numbers_is_listed_and_exits_1() -> None:
    # game-rules.md: it keeps its previous numbers, is reported, and the close goes on
    # to the end. The command exits 1: done, with a finding.
    with cli_game.seeded_game(holders=1, unheld=0) as seeded:
        gone = str(uuid.uuid4())  # listed, but last.fm does not know it (any more)
        with seeded.game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
            uow.artists.add(Artist(gone, "Gone", 100, 1, 100, 10, 10, seeded.game.clock.today()))
            uow.commit()

        result = seeded.run("market", "close")

        assert result.returncode == 1, result.stdout + result.stderr
        assert cli_game.figure(result.stdout, "artists closed") == 2  # paid 0 for the one kept
        assert cli_game.figure(result.stdout, "kept their numbers") == 1
        assert value(result.stdout, "finished") == "yes"
        [row] = [line for line in result.stdout.splitlines() if gone in line]
        assert "unknown_artist" in row
        assert f"artist {gone} keeps its numbers (unknown_artist)" in result.stderr  # WARNING
        drawn = bars(result.stderr)
        assert set(drawn) == set(STEPS), result.stderr
        assert "2/2" in drawn["fetched"] and "1 failed" in drawn["fetched"]
        assert all(line.endswith("done") for line in drawn.values()), result.stderr
        assert all("2/2" in drawn[step] for step in STEPS if step != "holders"), result.stderr
        # The one holder's holding of record (of the artist last.fm knows): one.
        assert seeded.scalar("SELECT holdings FROM closes") == 1
        assert re.search(r"\s1/1\s", drawn["holders"]), drawn["holders"]
        assert seeded.scalar("SELECT finished_at IS NOT NULL FROM closes")
        assert (
            seeded.scalar("SELECT failure_code FROM close_artists WHERE mbid = :m", m=gone)
            == "unknown_artist"
        )
        assert seeded.scalar("SELECT points + dividend FROM history WHERE mbid = :m", m=gone) == 0
        with seeded.game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
            kept = uow.artists.get(gone)
        assert (kept.last_listeners, kept.last_playcount) == (10, 10)  # its previous numbers


@contextmanager
def failing_lastfm() -> Iterator[dict[str, str]]:
    """The fake last.fm, answering the close's chart request (late, so that there is
    time to arm the rest) and failing every request after it with HTTP 503: the
    settings that point ``datm`` at it and end the close at the first outage."""
    with FakeLastfm(Path(__file__).resolve().parents[1] / "data" / "lastfm-recordings") as fake:
        fake.inject(Fault.SLOW, delay=2.0)

        def arm() -> None:
            deadline = time.monotonic() + cli_game.COMMAND_SECONDS
            while fake.requests.total < 1 and time.monotonic() < deadline:
                time.sleep(0.005)
            fake.inject(Fault.HTTP_503, times=1_000)

        armer = threading.Thread(target=arm, daemon=True)
        armer.start()
        yield {
            "lastfm_api_key": fake.api_key,
            "lastfm_api_secret": fake.api_secret,
            "lastfm_url": fake.url,
            "lastfm_ca_file": str(fake.ca_file),
            "lastfm_retries": "0",
            "close_outage_seconds": "0",
        }
        armer.join(cli_game.COMMAND_SECONDS)
        assert fake.requests.of("chart.getTopArtists") == 1
        assert fake.requests.of("artist.getInfo") >= 5  # an outage: five failures in a row


@pytest.mark.postgres
def test_a_close_last_fm_fails_exits_1_unfinished_and_the_next_run_finishes_it_first() -> None:
    with cli_game.seeded_game(holders=1, unheld=1) as seeded:
        yesterday = seeded.game.clock.today()
        with failing_lastfm() as lastfm:
            stopped = seeded.run("market", "close", "--day", yesterday.isoformat(), **lastfm)

        assert stopped.returncode == 1, stopped.stdout + stopped.stderr
        assert f"close of {yesterday}" in stopped.stdout
        assert value(stopped.stdout, "finished") == "no: run the close again"
        assert "not finished" in stopped.stdout
        # Not every artist's numbers in: nothing is paid, no holder and no artist.
        assert cli_game.figure(stopped.stdout, "artists closed") == 0
        assert cli_game.figure(stopped.stdout, "kept their numbers") == 0
        assert cli_game.figure(stopped.stdout, "holders paid") == 0
        assert cli_game.figure(stopped.stdout, "dividends paid") == 0
        assert cli_game.figure(stopped.stdout, "points awarded") == 0
        drawn = bars(stopped.stderr)
        assert set(drawn) == set(STEPS), stopped.stderr
        assert "2/2" in drawn["cut-off"] and drawn["cut-off"].endswith("done")
        assert "0/2" in drawn["fetched"] and drawn["fetched"].endswith("stopped")
        # No holders event: the bar never learnt the holdings of record.
        assert re.search(r"\s0/\?\s", drawn["holders"]), drawn["holders"]
        assert drawn["holders"].endswith("stopped")
        assert "0/2" in drawn["paid"] and drawn["paid"].endswith("stopped")
        assert seeded.scalar("SELECT finished_at IS NULL FROM closes WHERE day = :d", d=yesterday)
        record = "SELECT {} FROM closes WHERE day = :d"
        assert seeded.scalar(record.format("holdings"), d=yesterday) == 1  # on record, not paid
        assert seeded.scalar(record.format("holders_paid"), d=yesterday) == 0
        assert seeded.scalar(record.format("paid_from IS NULL"), d=yesterday)
        assert seeded.scalar("SELECT count(*) FROM ledger WHERE kind = 'dividend'") == 0
        assert seeded.scalar("SELECT count(*) FROM artists WHERE last_closed_on IS NOT NULL") == 0
        assert seeded.scalar("SELECT count(*) FROM close_artists WHERE paid") == 0
        refused = float(shown_seconds(stopped.stdout, "trading refused").removesuffix(" s"))
        assert 0 < refused < 10

        # Today's close, on the offline last.fm: it first finishes yesterday's.
        today = datetime.now(UTC).date()
        again = seeded.run("market", "close")

        assert again.returncode == 0, again.stdout + again.stderr
        assert f"close of {today}" in again.stdout
        assert "first worked on an earlier day's close" in again.stdout
        assert value(again.stdout, "finished") == "yes"
        days = "SELECT count(*) FROM closes WHERE finished_at IS NOT NULL AND day IN (:y, :t)"
        assert seeded.scalar(days, y=yesterday, t=today) == 2
        history = seeded.scalar("SELECT count(*) FROM history WHERE day IN (:y, :t)",
                                y=yesterday, t=today)  # fmt: skip
        assert cli_game.figure(again.stdout, "artists closed") == history == 4
        # One holding of record each day: the one holder's, held throughout.
        of_record = "SELECT holdings FROM closes WHERE day = :d AND holders_paid = holdings"
        assert seeded.scalar(of_record, d=yesterday) == seeded.scalar(of_record, d=today) == 1
        assert cli_game.figure(again.stdout, "holders paid") == 2
        drawn = bars(again.stderr)
        assert set(drawn) == {*STEPS, *(f"{step} (earlier day)" for step in STEPS)}, again.stderr
        assert all(line.endswith("done") for line in drawn.values()), again.stderr
        artists = [label for label in drawn if not label.startswith("holders")]
        assert all("2/2" in drawn[label] for label in artists), again.stderr
        for label in ("holders (earlier day)", "holders"):
            assert re.search(r"\s1/1\s", drawn[label]), again.stderr


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
