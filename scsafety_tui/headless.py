"""Headless runs: a Rich progress bar while the engine works, SC-Safety tables at the end.

Ctrl+C cancels cleanly: finished conversations are stored, streaming turns are stored as cancelled, and
the session is marked interrupted so `scsafety-tui resume` can finish it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scsafety_tui import report
from scsafety_tui.compare import judge_human_agreement as agreement_of
from scsafety_tui.config import Config
from scsafety_tui.cost import LiveCost, RunEstimate, fmt_money, session_costs, snapshot_prices
from scsafety_tui.engine.session import prepare
from scsafety_tui.events import CostLimitReached, Event, SessionStarted, TurnCompleted, TurnFailed
from scsafety_tui.events import Progress as ProgressEvent
from scsafety_tui.paths import rejudge_command, resume_command
from scsafety_tui.scoring import AnswerRow, unscored_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store, StoreWriteError
from scsafety_tui.store.usage import target_usage
from scsafety_tui.textsafe import visible

EXIT_OK, EXIT_ERRORS, EXIT_PAUSED, EXIT_INTERRUPTED = 0, 3, 4, 130


class ProgressView:
    """Turns engine events into a progress bar; ignores the high-rate ones cheaply."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[extra]}"),
            console=console, transient=False, refresh_per_second=8)
        self.task = self.progress.add_task("conversations", total=None, rate="", extra="")
        self.meter = LiveCost()
        self.limit: CostLimitReached | None = None
        """Set when [run] max_cost was reached (the run ends as 'paused')."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            elapsed = max(event.t, 1e-6)
            spent = self.meter.total_text()
            self.progress.update(self.task, completed=event.done, total=event.total,
                                 rate=f"{event.tokens / elapsed:,.0f} tok/s",
                                 extra=f"retries {event.retries} · errors {event.errors}"
                                       + (f" · {spent}" if spent else ""))
        elif isinstance(event, SessionStarted | TurnCompleted | TurnFailed):
            self.meter.add(event)
            if isinstance(event, SessionStarted):
                self.progress.update(self.task, description=f"session {event.session_id}")
        elif isinstance(event, CostLimitReached):
            self.limit = event
            self.progress.console.print(Text(
                f"max_cost {fmt_money(event.limit, event.currency)} reached ({fmt_money(event.spent, event.currency)}"
                " spent): no new conversation starts; the ones under way finish", style="yellow"))


async def run_headless(db: str, create: Callable[[Store], Awaitable[int]], *, config: Config | None = None,
                       retry_errors: bool = False, console: Console | None = None,
                       estimate: RunEstimate | None = None) -> int:
    """estimate: the run's bound, printed before it starts (cost.estimate_run)."""
    console = console or stdout_console()
    if estimate is not None:
        for line in estimate.lines():  # target keys come from the config: Text, never markup
            console.print(Text(visible(line)))
    store = await Store.open(db)
    try:
        sid = await create(store)
        view = ProgressView(console)
        srun = await prepare(store, sid, view, config=config, retry_errors=retry_errors)
        srun.runner.stop_at_budget = True  # nobody here to resume it: `scsafety-tui resume` goes on
        view.meter.seed(await target_usage(store, sid))  # a resumed session's cost so far: the bar shows show's
        interrupted = False

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            srun.runner.cancel()

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        loop.add_signal_handler(signal.SIGTERM, on_sigint)
        try:
            with view.progress:
                status = await srun.run()
        except StoreWriteError as e:
            # committed work is kept; the unfinished conversations are redone on resume
            raise StoreWriteError(f"{e}; session {sid} is kept: free some space, then finish it with"
                                  f" `{resume_command(sid, db)}`") from None
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
        if interrupted:
            await store.set_session_status(sid, "interrupted")
        errors = await print_tables(store, sid, console)
        if interrupted:
            console.print(Text.assemble(("Interrupted.", "yellow"),
                                        f" Finish it with: {visible(resume_command(sid, db))}"))
            return EXIT_INTERRUPTED
        if status == "paused" and view.limit is not None:
            console.print(Text.assemble(
                ("Paused: ", "yellow"), f"[run] max_cost {fmt_money(view.limit.limit, view.limit.currency)} "
                f"reached. Go on (up to max_cost more) with: {visible(resume_command(sid, db))}"))
            return EXIT_PAUSED
        console.print(f"Session [bold]{sid}[/] saved in {escape(visible(db))}")
        return EXIT_ERRORS if errors else EXIT_OK
    finally:
        await store.close()


async def follow_up_report(store: Store, sid: int, rows: list[AnswerRow], console: Console, *, human: bool,
                           tag: str = "") -> list[str]:
    """Past round 2, the per-round / worst-round / first-unsafe tables (printed), beside the headline;
    returns the lines on which follow-ups the conversations got."""
    from scsafety_tui.follow_ups import summary_lines
    from scsafety_tui.rounds import beyond_headline, rounds_summary

    summaries = rounds_summary(rows, human=human, block_as_refusal=await queries.block_as_refusal(store, sid))
    if beyond_headline(summaries):
        for table in report.rounds_tables(summaries, await queries.target_keys(store, sid)):
            console.print(report.rich_table(report.tagged(table, tag)))
    return summary_lines(await queries.follow_ups(store, sid))


async def print_tables(store: Store, sid: int, console: Console, *, human: bool = False, vset: str = "",
                       against: str | None = None) -> int:
    """Print the session's tables (from verdict set vset; '' is the run's own) and, when it has other sets,
    their agreement; returns errored conversations + unscored answers (exit 3 when any)."""
    from scsafety_tui.compare import set_report

    session = await queries.stored_session(store, sid)
    taxonomy = session.taxonomy
    chosen = await queries.require_set(store, sid, vset)
    rows = await queries.answer_rows(store, sid, vset)
    scores = await queries.session_scores(store, sid, human=human, rows=rows)
    judged_by = (", ".join(session.judge_labels) if session.judge_mode == "model"
                 else "heuristic (offline lexicon judge, coarse)") if not vset else ", ".join(chosen.judges)
    set_lines, differ = await set_report(store, sid, vset, against,
                                         {s.id: s.name_zh for s in taxonomy.sub_dimensions})
    # the set's name is named in every header once a session has several (user text: shown literally)
    several = len(await queries.verdict_sets(store, sid)) > 1
    tag = f"verdict set: {queries.set_label(vset)}" if several else ""
    # the name and keys come from users and prompts: Text, never markup, with control characters visible
    console.print(Text.assemble("\n", (visible(session.name), "bold"),
                                visible(f" (session {sid}, {session.status}; judge: {judged_by}"
                                        + (f"; {tag})" if tag else ")")),
                                " — human-adjusted" if human else ""))
    for table in report.all_tables(scores, taxonomy, session.keys):
        console.print(report.rich_table(report.tagged(table, tag)))
    for line in await follow_up_report(store, sid, rows, console, human=human, tag=tag):
        console.print(Text(visible(line)))
    if human:
        console.print(Text(agreement_of(rows).text()))
    for line in set_lines:
        console.print(Text(visible(line)))
    if differ is not None:
        console.print(report.rich_table(differ))
    costs = session_costs(await target_usage(store, sid), snapshot_prices(session.snapshot))
    console.print(report.rich_table(report.cost_table(costs)))
    if flags := queries.flags_line(*await queries.answer_flags(store, sid)):  # truncated / empty answers
        console.print(Text(flags))
    errored = (await queries.status_counts(store, sid)).get("error", 0)
    if errored:
        console.print(Text.assemble((f"{errored} conversation(s) ended with an error", "red"),
                                    f"; rerun them with `{visible(resume_command(sid, store.path, retry_errors=True))}`"))
    unscored = unscored_answers(rows)
    if unscored:
        console.print(Text.assemble((f"{unscored} answer(s) unscored: every judge failed on them", "red"),
                                    "; judge them again (the models are not asked again) with "
                                    f"`{visible(rejudge_command(sid, store.path, vset))}`"))
    return errored + unscored


PIPE_WIDTH = 100_000
"""Output that is not a terminal (a pipe, a file) is as wide as its content: Rich would otherwise lay it
out for 80 columns, cutting names to "…" and dropping columns (`sessions | cat`, `show > file`)."""


class ResultConsole(Console):
    """A command's results. A table too wide for the width asked for is printed as wide as it needs (the
    terminal wraps its lines): Rich would crop it, dropping columns and cutting numbers (an interval read
    "-52.89…-38.7"). A reader that went away (`show | head`) ends the command quietly with exit 0, as the
    CLI does for a plain print (Rich's own handler exits 1, the code of an internal error)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        wide = self.options.update_width(PIPE_WIDTH)  # measured unbounded: Measurement.get clamps to the width
        need = max((Measurement.get(self, wide, o).minimum for o in objects if isinstance(o, Table)),
                   default=0)
        if need <= self.width or "width" in kwargs:
            super().print(*objects, **kwargs)
            return
        asked = self.width
        self.width = need
        try:
            super().print(*objects, **kwargs)
        finally:
            self.width = asked

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe, at exit either
        raise BrokenPipeError


def stdout_console() -> Console:
    """The console for a command's results: the terminal's width, or unbounded when piped. An explicit
    COLUMNS still wins, so a user can ask for a given width (a table never narrower than it can be read)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return ResultConsole(file=sys.stdout)
    return ResultConsole(file=sys.stdout, width=PIPE_WIDTH)
