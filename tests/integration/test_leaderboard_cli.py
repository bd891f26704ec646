"""``datm leaderboard rebuild`` on a real database and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import postgres_support
import pytest
import redis

pytestmark = pytest.mark.postgres

from click.testing import CliRunner, Result  # noqa: E402
from sqlalchemy import create_engine, pool, text  # noqa: E402

from datm.adapters.postgres import migrate  # noqa: E402
from datm.adapters.postgres.board_source import PostgresLeaderboardSource  # noqa: E402
from datm.cli import main  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_support.fresh_database("datm_board_cli") as made:
        migrate.upgrade(made)
        engine = create_engine(migrate.normalise_url(made), poolclass=pool.NullPool)
        with engine.begin() as conn:
            for number in range(3):
                conn.execute(
                    text(
                        "INSERT INTO players (name, league, money, created_at, points_all_time)"
                        " VALUES (:name, 'bronze', 20000, now(), :points)"
                    ),
                    {"name": f"p{number}", "points": 10 * number},
                )
        engine.dispose()
        yield made


def datm(*args: str, env: dict[str, str | None]) -> Result:
    return CliRunner(env={"DATM_REDIS_URL": None, **env}).invoke(main, list(args))


def test_rebuild_puts_every_player_on_the_boards(url: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        result = datm(
            "leaderboard", "rebuild", env={"DATM_DATABASE_URL": url, "DATM_REDIS_URL": REDIS_URL}
        )

        assert result.exit_code == 0, result.output
        assert "leaderboards rebuilt: 3 players" in result.stdout
        engine = create_engine(migrate.normalise_url(url), poolclass=pool.NullPool)
        prefix = f"datm:board:{PostgresLeaderboardSource(engine).identity()}:"
        engine.dispose()
        assert client.zrange(prefix + "m:bronze", 0, -1) == [b"p0", b"p1", b"p2"]
        all_time = client.zrange(prefix + "p:all:bronze", 0, -1, withscores=True)
        assert all_time == [(b"p2", -20.0), (b"p1", -10.0)]
    finally:
        for key in client.scan_iter(match="datm:board:*", count=1000):
            client.delete(key)


def test_rebuild_without_redis_says_there_is_nothing_to_rebuild(url: str) -> None:
    result = datm("leaderboard", "rebuild", env={"DATM_DATABASE_URL": url})

    assert result.exit_code == 0, result.output
    assert "nothing to rebuild" in result.output
