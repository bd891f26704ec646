"""How ``datm market close`` shows a close: a bar per step while it runs, a summary after.

The bar follows the close's steps (``CloseProgress``), not today's loop: the cut-off,
artists fetched, artists paid; each with its count, failures, rate and time left.
"""

from __future__ import annotations

from types import TracebackType

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from datm.services.results import CloseProgress, CloseReport, CloseStep

LISTED_FAILURES = 20  # the rest are counted; the log has every one


class RateColumn(ProgressColumn):
    """Artists a second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  -/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class CloseBar:
    """A ``CloseService.run(on_step=...)`` listener drawing the close on ``console``."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
        )
        self._tasks: dict[CloseStep, TaskID] = {}

    def __enter__(self) -> CloseBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._tasks:
            self._progress.stop()

    def __call__(self, event: CloseProgress) -> None:
        # Started by the first event: a close refused, or of a day already closed,
        # draws no bar at all.
        if not self._tasks:
            self._progress.start()
        steps = [event.step]
        if event.step is CloseStep.CUT_OFF:  # the artists are known: every bar appears
            steps += [CloseStep.FETCHED, CloseStep.PAID]
        for step in steps:
            if step not in self._tasks:
                self._tasks[step] = self._progress.add_task(str(step), total=event.total, failed=0)
        self._progress.update(
            self._tasks[event.step], completed=event.done, total=event.total, failed=event.failed
        )


def summary(report: CloseReport) -> list[Table]:
    """The figures of one run, then the artists it left open and why."""
    figures = Table(title=f"close of {report.day}", box=box.SIMPLE, show_header=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    rows = (
        ("artists closed", f"{report.artists_closed:,}"),
        ("artists skipped", f"{report.artists_skipped:,}"),
        ("artists failed", f"{len(report.failed):,}"),
        ("holders paid", f"{report.holders_paid:,}"),
        ("dividends paid", f"{report.dividends_paid:,}"),
        ("points awarded", f"{report.points_awarded:,}"),
        ("duration", seconds(report.duration_seconds)),
        ("trading refused", seconds(report.trading_refused_seconds)),
    )
    for row in rows:
        figures.add_row(*row)
    if not report.failed:
        return [figures]
    failed = Table(title="artists left open (run the close again)", box=box.SIMPLE)
    for column in ("mbid", "reason", "message"):
        failed.add_column(column)
    for artist in report.failed[:LISTED_FAILURES]:
        failed.add_row(artist.mbid, artist.code, artist.reason)
    rest = len(report.failed) - LISTED_FAILURES
    if rest > 0:
        failed.caption = f"and {rest:,} more (each is in the log, at WARNING)"
    return [figures, failed]


def seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
