"""``datm demo``: a few simulated trading days on the in-memory store.

Players log in through the offline last.fm, trade from several threads, the
close pays them, and the ledger is checked: money and shares against the record.
Returns non-zero if a close did not finish or the record disagrees.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from injector import Injector
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain.errors import DataError, TransientError
from datm.ports.lastfm import LastfmPort
from datm.services.analytics import AnalyticsService
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.leagues import LeagueService
from datm.services.market import MarketService
from datm.services.trading import TradingService
from datm.settings import Settings
from datm.wiring import create_injector

DEMO_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SHOWN_MISMATCHES = 5  # a broken ledger usually breaks everywhere: show a few, count all


@dataclass(frozen=True, slots=True)
class DemoOptions:
    players: int = 12
    threads: int = 4
    days: int = 3
    trades_per_player: int = 25
    seed: int = 7


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Play the days, print the tables, check the ledger: 0 when every check holds."""
    demo = Demo(options, console)
    if not demo.play():
        return 1
    demo.print_tables()
    return 0 if demo.check_ledger() else 1


class Demo:
    """One demo game: ``play`` the days, then ``check_ledger``. Separate steps, so a
    test can tamper with the store in between and see the check fail."""

    def __init__(self, options: DemoOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console()
        self.clock = ManualClock(DEMO_START)
        self.injector = create_injector(Settings(), wiring="memory", clock=self.clock)
        self.outcomes: Counter[str] = Counter()

    def play(self) -> bool:
        """Log the players in and run the days; False if a close did not finish."""
        options, clock, injector = self.options, self.clock, self.injector
        lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
        assert isinstance(lastfm, OfflineLastfm)
        sessions = _log_in(injector, lastfm, options.players)
        artists = [a.mbid for a in lastfm.chart_top_artists(50, 1) if a.mbid]
        with Progress(console=self.console, transient=True) as progress:
            for day in range(options.days):
                clock.set(DEMO_START + timedelta(days=day))
                task = progress.add_task(f"day {day + 1}: trading", total=len(sessions))
                self.outcomes += _trade_day(
                    injector, sessions, artists, options, day, progress, task
                )
                clock.set(DEMO_START + timedelta(days=day, hours=14))
                closing = progress.add_task(f"day {day + 1}: daily close", total=None)

                def show(done: int, total: int, task: TaskID = closing) -> None:
                    progress.update(task, completed=done, total=total)

                report = injector.get(CloseService).run(progress=show)
                if not report.finished:
                    self.console.print(
                        f"[red]close of {report.day} did not finish: {report.failed}"
                    )
                    return False
        return True

    def print_tables(self) -> None:
        _print_tables(self.console, self.injector, self.outcomes)

    def check_ledger(self) -> bool:
        """Whether money and shares agree with the record (``AuditService``): every
        player's money is 20,000 plus their ledger, every artist's holders are the
        holdings counted and never more than its max shares.

        It judges the record, not the luck of the day: a run in which nobody could
        afford to buy, or nobody sold, has nothing wrong with it and passes."""
        audit = self.injector.get(AuditService).audit()
        self.console.print(
            f"ledger check: {audit.players} players, {audit.artists} artists, "
            f"{len(audit.money)} money mismatches, {len(audit.shares)} share mismatches: "
            + ("[green]OK" if audit.ok else "[red]FAILED")
        )
        for money in audit.money[:SHOWN_MISMATCHES]:
            self.console.print(
                f"  {money.player}: money {money.money}, but the ledger says {money.from_ledger}"
            )
        for share in audit.shares[:SHOWN_MISMATCHES]:
            self.console.print(
                f"  {share.mbid}: {share.holders} holders recorded, {share.counted_holders}"
                f" holdings counted, {share.max_shares} max shares"
            )
        return audit.ok


def _log_in(injector: Injector, lastfm: OfflineLastfm, players: int) -> list[str]:
    auth = injector.get(AuthService)
    keys = []
    for index in range(players):
        link = auth.login_link()
        assert link.token is not None
        lastfm.authorise(link.token, f"demo-player-{index:02d}")
        keys.append(auth.login(link.token).session_key)
    return keys


def _trade_day(
    injector: Injector,
    sessions: list[str],
    artists: list[str],
    options: DemoOptions,
    day: int,
    progress: Progress,
    task: TaskID,
) -> Counter[str]:
    trading = injector.get(TradingService)
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def work(worker: int) -> None:
        rng = random.Random(options.seed * 1000 + day * 100 + worker)
        mine = sessions[worker :: options.threads]
        local: Counter[str] = Counter()
        for key in mine:
            for _ in range(options.trades_per_player):
                mbid = rng.choice(artists)
                side = rng.choice(("buy", "buy", "sell"))
                try:
                    quote = trading.quote(key, mbid, side)
                    (trading.buy if side == "buy" else trading.sell)(key, quote.token)
                    local["bought" if side == "buy" else "sold"] += 1
                except (DataError, TransientError) as refused:
                    local[refused.code] += 1
            progress.advance(task, 1)
        with lock:
            totals.update(local)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(options.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return totals


def _print_tables(console: Console, injector: Injector, outcomes: Counter[str]) -> None:
    board = Table(title="Leaderboard: bronze, all time")
    for column in ("position", "player", "points"):
        board.add_column(column)
    for entry in injector.get(LeagueService).top("bronze", 10, days=0):
        board.add_row(str(entry.position), entry.name, str(entry.points))
    console.print(board)
    top = Table(title="Top artists by price")
    for column in ("artist", "price", "remaining/max", "points", "dividend"):
        top.add_column(column)
    for data in injector.get(MarketService).top_by_price(10):
        top.add_row(
            data.name,
            str(data.price),
            f"{data.remaining}/{data.max_shares}",
            str(data.points),
            str(data.dividend),
        )
    console.print(top)
    counts = injector.get(AnalyticsService).counts(days=31)
    trades = Table(title="Trading")
    trades.add_column("outcome")
    trades.add_column("count")
    for outcome, count in sorted(outcomes.items()):
        trades.add_row(outcome, str(count))
    for day, count in counts.trades_per_day:
        trades.add_row(f"trades on {day}", str(count))
    console.print(trades)
