"""How ``datm market close`` shows a close: a bar per step while it runs, a summary after.

The bars follow the close's steps (``CloseProgress``, game-rules.md "The daily
close"): the cut-off (drawn from the start, so that waiting for the market lock
shows), numbers fetched (with this run's fetch rate and the artists that kept
their previous numbers), holdings of record paid, artists closed; each with its
count, the time it took and the time left. A run that first finishes an earlier
day's close draws four bars per day, the earlier day's marked as such.
"""

from __future__ import annotations

from types import TracebackType

from rich import box
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from datm.services.results import CloseProgress, CloseReport, CloseStep

LISTED_KEPT = 20  # the rest are counted; the log has every one
SPEED_WINDOW = 300.0  # seconds of payment batches the paid bar's rate is taken over
EARLIER = " (earlier day)"


def _step(task: Task) -> CloseStep:
    step: CloseStep = task.fields["step"]
    return step


class CountColumn(ProgressColumn):
    """Artists (holdings, for the holders' bar) done of those of record, with
    thousands separators."""

    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else f"{int(task.total):,}"
        return Text(f"{int(task.completed):,}/{total}", style="progress.download")


class FailedColumn(ProgressColumn):
    """Fetched: the artists whose numbers could not be had (they keep their previous ones)."""

    def render(self, task: Task) -> Text:
        if _step(task) is not CloseStep.FETCHED:
            return Text("")
        failed: int = task.fields["failed"]
        return Text(f"{failed:,} failed", style="red" if failed else "progress.data.speed")


class RateColumn(ProgressColumn):
    """Artists a second: fetched, this run's rate as the close measures it; paid,
    over the recent batches (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        step = _step(task)
        if step is CloseStep.CUT_OFF:
            return Text("")
        speed = task.fields["per_second"] if step is CloseStep.FETCHED else task.speed
        shown = f"{speed:,.1f}/s" if speed else "-/s"
        return Text(shown, style="progress.data.speed")


class LeftColumn(ProgressColumn):
    """The time left of a step: ``done``, an estimate, or ``stopped`` when the run
    ended before the step did."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("done", style="progress.elapsed")
        if task.fields["stopped"]:
            return Text("stopped", style="yellow")
        left = _time_left(task)
        if left is None:
            return Text("-:--:-- left", style="progress.remaining")
        minutes, secs = divmod(int(left + 0.999), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"{hours}:{minutes:02d}:{secs:02d} left", style="progress.remaining")


def _time_left(task: Task) -> float | None:
    step = _step(task)
    if step is CloseStep.FETCHED:
        rate: float | None = task.fields["per_second"]
        if not rate or task.total is None:
            return None
        return max(0.0, task.total - task.completed) / rate
    if step in (CloseStep.HOLDERS, CloseStep.PAID):
        return task.time_remaining
    return None  # the cut-off is one statement under the lock: no estimate


class CloseBar:
    """A ``CloseService.run(on_step=...)`` listener drawing the close on ``console``;
    a context manager around the run."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            CountColumn(table_column=Column(justify="right")),
            FailedColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            LeftColumn(),
            console=console,
            speed_estimate_period=SPEED_WINDOW,
        )
        self._days: list[dict[CloseStep, TaskID]] = []  # the bars of each day's close
        self._waiting: TaskID | None = None  # the cut-off's bar, before its event
        self._last = 0.0  # when the latest event came (or the run began)

    @property
    def days(self) -> int:
        """How many days' closes this run worked on (2 when it first finished an
        earlier day's)."""
        return len(self._days)

    def __enter__(self) -> CloseBar:
        self._progress.start()
        self._waiting = self._add(CloseStep.CUT_OFF, None)
        self._progress.start_task(self._waiting)
        self._last = self._progress.get_time()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self._days:
            # No cut-off: a day already closed, a refusal. No bar is left behind.
            if self._waiting is not None:
                self._progress.remove_task(self._waiting)
            self._progress.live.transient = True
        for task in self._progress.tasks:
            self._stop(task.id)
        self._progress.stop()

    def __call__(self, event: CloseProgress) -> None:
        now = self._progress.get_time()
        if event.step is CloseStep.CUT_OFF:
            self._cut_off(event.total, now)
        elif self._days:
            bars = self._days[-1]
            task = bars[event.step]
            if event.step in (CloseStep.HOLDERS, CloseStep.PAID):
                self._stop(bars[CloseStep.FETCHED])  # fetching is over, done or not
                self._start(task, self._last)  # a payment began after the step before
            self._progress.update(
                task,
                completed=event.done,
                total=event.total,
                failed=event.failed,
                per_second=event.per_second,
            )
            if event.step is CloseStep.FETCHED and event.done >= event.total:
                self._start(bars[CloseStep.HOLDERS], now)
        self._last = now

    def end(self, report: CloseReport) -> None:
        """The run returned ``report``: a finished close has every step done, even
        those with nothing left to do in this run (which send no event)."""
        if not report.finished:
            return
        for bars in self._days:
            for task in bars.values():
                self._start(task, self._last)
                total = self._total(task)
                self._progress.update(task, completed=total, total=total)

    def _cut_off(self, total: int, now: float) -> None:
        """The artists of record are known: a day's four bars appear."""
        for bars in self._days:  # another day follows: these were an earlier day's
            for step, task in bars.items():
                self._progress.update(task, description=f"{step}{EARLIER}")
                self._stop(task)
        if self._waiting is not None:
            cut = self._waiting
            self._waiting = None
        else:
            cut = self._add(CloseStep.CUT_OFF, total)
            self._start(cut, self._last)
        bars = {
            CloseStep.CUT_OFF: cut,
            CloseStep.FETCHED: self._add(CloseStep.FETCHED, total),
            CloseStep.HOLDERS: self._add(CloseStep.HOLDERS, None),  # holdings: in its events
            CloseStep.PAID: self._add(CloseStep.PAID, total),
        }
        self._days.append(bars)
        self._progress.update(cut, completed=total, total=total)
        self._start(bars[CloseStep.FETCHED], now)
        if total == 0:  # nothing to fetch or pay: done as soon as begun
            for step in (CloseStep.FETCHED, CloseStep.HOLDERS, CloseStep.PAID):
                self._start(bars[step], now)
                self._progress.update(bars[step], completed=0)

    def _add(self, step: CloseStep, total: int | None) -> TaskID:
        return self._progress.add_task(
            str(step), total=total, start=False, step=step, failed=0, per_second=0.0, stopped=False
        )

    def _start(self, task_id: TaskID, at: float) -> None:
        """Start a bar's clock at ``at`` (a step begins when the one before it ends),
        unless it runs already."""
        for task in self._progress.tasks:
            if task.id == task_id and task.start_time is None:
                self._progress.start_task(task_id)
                task.start_time = at

    def _stop(self, task_id: TaskID) -> None:
        """Freeze an unfinished bar's clock: its step is over, done or not."""
        for task in self._progress.tasks:
            if task.id != task_id or task.finished:
                continue
            self._progress.update(task_id, stopped=True)
            if task.start_time is not None and task.stop_time is None:
                self._progress.stop_task(task_id)

    def _total(self, task_id: TaskID) -> float:
        return next(task.total or 0.0 for task in self._progress.tasks if task.id == task_id)


def summary(report: CloseReport, days: int = 1) -> list[RenderableType]:
    """The figures of one run, a note if it was not finished or worked on more
    than one day, then the artists that kept their previous numbers and why.
    ``days``: how many days' closes the run worked on."""
    figures = Table(title=f"close of {report.day}", box=box.SIMPLE, show_header=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    rows = (
        ("artists closed", f"{report.artists_closed:,}"),
        ("artists skipped", f"{report.artists_skipped:,}"),
        ("kept their numbers", f"{len(report.failed):,}"),
        ("holders paid", f"{report.holders_paid:,}"),
        ("dividends paid", f"{report.dividends_paid:,}"),
        ("points awarded", f"{report.points_awarded:,}"),
        ("duration", seconds(report.duration_seconds)),
        ("trading refused", seconds(report.trading_refused_seconds)),
        ("finished", "yes" if report.finished else "no: run the close again"),
    )
    for row in rows:
        figures.add_row(*row)
    shown: list[RenderableType] = [figures]
    if days > 1:
        shown.append(f"this run first worked on {_earlier(days)}; the figures count every day")
    if not report.finished:
        shown.append(
            Text(
                "not finished: last.fm failed for too long. Run the close again: it resumes "
                "where this run stopped and pays nobody twice.",
                style="yellow",
            )
        )
    if not report.failed:
        return shown
    kept = Table(
        title="artists that kept their previous numbers (no points, no dividend)", box=box.SIMPLE
    )
    for column in ("mbid", "reason", "message"):
        kept.add_column(column)
    for artist in report.failed[:LISTED_KEPT]:
        kept.add_row(artist.mbid, artist.code, artist.reason)
    rest = len(report.failed) - LISTED_KEPT
    if rest > 0:
        kept.caption = f"and {rest:,} more (each logged at WARNING by the run that fetched it)"
    return [*shown, kept]


def _earlier(days: int) -> str:
    return "an earlier day's close" if days == 2 else f"{days - 1} earlier days' closes"


def seconds(value: float) -> str:
    """A duration for people: milliseconds under 10 s (a cut-off's), minutes and
    hours for a whole close."""
    if value < 10:
        return f"{value:.3f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
