"""A game on a scratch Postgres database, seeded through the services, for tests
that run the installed ``datm`` command against it in a subprocess.

The seed is played yesterday (a manual clock); the command runs on the system
clock, so its close is today's, with the offline last.fm's numbers of today.
Import the module (``import cli_game``), as the tests do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import postgres_support
from harness import QUOTE_SECRET, Game

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.ports.lastfm import LastfmPort
from datm.wiring import create_injector

DATM = Path(sys.executable).with_name("datm")
COMMAND_SECONDS = 120
# Takes the market lock in a process of its own and keeps it until its stdin closes.
HOLD_THE_LOCK = """
import sys
from datm import create_injector
from datm.services.analytics import AnalyticsService
analytics = create_injector().get(AnalyticsService)
analytics.acquire_market_lock(timeout=10)
print("held", flush=True)
sys.stdin.read()
analytics.release_market_lock()
"""


def environment(url: str, **settings: str) -> dict[str, str]:
    """A clean environment for ``datm``: the game's database and secret, no last.fm key
    (so the offline catalogue), a wide terminal for rich's tables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "COLUMNS": "160",
        "DATM_DATABASE_URL": url,
        "DATM_QUOTE_SECRET": QUOTE_SECRET,
    }
    env.update({f"DATM_{name.upper()}": value for name, value in settings.items()})
    return env


def datm(url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DATM), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        env=environment(url, **settings),
    )


@dataclass
class SeededGame:
    url: str
    game: Game
    held: list[str] = field(default_factory=list)  # one artist per holder
    unheld: list[str] = field(default_factory=list)

    def run(self, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return datm(self.url, *args, **settings)

    def scalar(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import Engine, text

        with self.game.get(Engine).connect() as connection:
            return connection.execute(text(sql), params).scalar_one()


@contextmanager
def seeded_game(holders: int = 3, unheld: int = 1) -> Iterator[SeededGame]:
    """``holders`` players who each bought a different artist yesterday, and
    ``unheld`` more artists listed; on a fresh, migrated database, dropped after."""
    postgres_support.require_postgres_packages()
    from sqlalchemy import Engine

    from datm.adapters.postgres import migrate

    with postgres_support.fresh_database("datm_cli") as url:
        migrate.upgrade(url)
        clock = ManualClock(datetime.now(UTC) - timedelta(days=1))
        config = {"DATABASE_URL": url, "QUOTE_SECRET": QUOTE_SECRET}
        injector = create_injector(config, wiring="postgres", clock=clock, environ={})
        try:
            lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
            assert isinstance(lastfm, OfflineLastfm)
            seeded = SeededGame(url, Game(injector, clock, lastfm))
            artists = [a.mbid for a in seeded.game.affordable()[: holders + unheld]]
            seeded.held, seeded.unheld = artists[:holders], artists[holders:]
            for mbid in seeded.held:
                seeded.game.buy(seeded.game.login(), mbid)
            for mbid in seeded.unheld:
                seeded.game.market.market_data(mbid)  # lists it
            yield seeded
        finally:
            injector.get(Engine).dispose()


@contextmanager
def lock_holder(url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the market lock of the database at ``url``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(url),
    )
    watchdog = threading.Timer(COMMAND_SECONDS, holder.kill)  # bounds the readline
    watchdog.start()
    try:
        assert holder.stdout is not None and holder.stdin is not None
        line = holder.stdout.readline()
        watchdog.cancel()
        assert line.strip() == "held", f"the holder did not take the lock: {line!r}"
        yield holder
        holder.stdin.close()  # lets it release the lock and end
        holder.wait(COMMAND_SECONDS)
    finally:
        watchdog.cancel()
        if holder.poll() is None:
            holder.kill()
            holder.wait(COMMAND_SECONDS)


def figure(output: str, name: str) -> int:
    """A number of a summary table: the row ``name``, its value (1,234 or -5)."""
    found = re.search(rf"^\s*{re.escape(name)}\s+(-?[\d,]+)\s*$", output, re.MULTILINE)
    assert found, f"no {name!r} in:\n{output}"
    return int(found.group(1).replace(",", ""))
