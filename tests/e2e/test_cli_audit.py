"""``datm audit``: money recomputed from the ledger, shares counted; 0 OK, 1 a
mismatch, 2 could not run."""

from __future__ import annotations

import cli_game
import pytest
from click.testing import CliRunner

from datm.cli import main
from datm.cli.audit import LISTED

CLEAN = {"DATM_DATABASE_URL": None, "DATM_LASTFM_API_KEY": None, "DATM_REDIS_URL": None}


def test_the_audit_of_an_empty_in_memory_game_is_ok() -> None:
    result = CliRunner().invoke(main, ["audit"], env=CLEAN)

    assert result.exit_code == 0, result.output
    assert "audit: 0 players, 0 artists checked: OK" in result.stdout


def test_the_audit_that_cannot_reach_its_database_exits_2_in_one_line() -> None:
    env = {**CLEAN, "DATM_DATABASE_URL": "postgresql://game:pw-9876@127.0.0.1:9/scrobble"}
    result = CliRunner().invoke(main, ["audit"], env=env)

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "pw-9876" not in result.output


@pytest.mark.postgres
def test_the_audit_of_a_game_after_a_close_is_ok() -> None:
    with cli_game.seeded_game(holders=2, unheld=1) as seeded:
        assert seeded.run("market", "close").returncode == 0

        result = seeded.run("audit")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit: 2 players, 3 artists checked: OK" in result.stdout


@pytest.mark.postgres
def test_the_audit_lists_money_and_shares_the_records_do_not_explain_and_exits_1() -> None:
    with cli_game.seeded_game(holders=2, unheld=0) as seeded:
        player = seeded.scalar("SELECT min(name) FROM players")
        mbid = seeded.held[0]
        # What a lost write would leave: money without its ledger entry, a holder
        # the artist no longer counts.
        seeded.scalar("UPDATE players SET money = money + 5 WHERE name = :p RETURNING 1", p=player)
        seeded.scalar("UPDATE artists SET holders = 0 WHERE mbid = :m RETURNING 1", m=mbid)

        result = seeded.run("audit")

    assert result.returncode == 1, result.stdout + result.stderr
    [money] = [line for line in result.stdout.splitlines() if player in line]
    assert "+5" in money
    [shares] = [line for line in result.stdout.splitlines() if mbid in line]
    assert shares.split()[1:] == ["0", "1", "1"]  # holders, counted, max shares
    assert "audit: 2 players, 2 artists checked: 2 mismatches" in result.stdout


@pytest.mark.postgres
def test_the_audit_lists_at_most_a_screenful_and_counts_the_rest() -> None:
    with cli_game.seeded_game(holders=0, unheld=0) as seeded:
        players = LISTED + 3
        for _ in range(players):
            seeded.game.login()
        seeded.scalar(
            "WITH changed AS (UPDATE players SET money = money + 1 RETURNING 1)"
            " SELECT count(*) FROM changed"
        )

        result = seeded.run("audit")

    assert result.returncode == 1
    assert result.stdout.count("+1") == LISTED
    assert "and 3 more" in result.stdout
    assert f"{players} mismatches" in result.stdout
