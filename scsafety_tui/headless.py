"""Headless runs: a Rich progress bar while the engine works, SC-Safety tables at the end.

Ctrl+C cancels cleanly: finished conversations are stored, streaming turns are stored as cancelled, and
the session is marked interrupted so `scsafety-tui resume` can finish it.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from scsafety_tui import report
from scsafety_tui.compare import judge_human_agreement as agreement_of
from scsafety_tui.config import Config
from scsafety_tui.engine.session import prepare
from scsafety_tui.events import Event, SessionStarted
from scsafety_tui.events import Progress as ProgressEvent
from scsafety_tui.scoring import unscored_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store, StoreWriteError
from scsafety_tui.textsafe import visible

EXIT_OK, EXIT_ERRORS, EXIT_INTERRUPTED = 0, 3, 130


class ProgressView:
    """Turns engine events into a progress bar; ignores the high-rate ones cheaply."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[extra]}"),
            console=console, transient=False, refresh_per_second=8)
        self.task = self.progress.add_task("conversations", total=None, rate="", extra="")

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            elapsed = max(event.t, 1e-6)
            self.progress.update(self.task, completed=event.done, total=event.total,
                                 rate=f"{event.tokens / elapsed:,.0f} tok/s",
                                 extra=f"retries {event.retries} · errors {event.errors}")
        elif isinstance(event, SessionStarted):
            self.progress.update(self.task, description=f"session {event.session_id}")


async def run_headless(db: str, create: Callable[[Store], Awaitable[int]], *, config: Config | None = None,
                       retry_errors: bool = False, console: Console | None = None) -> int:
    console = console or Console(stderr=False)
    store = await Store.open(db)
    try:
        sid = await create(store)
        view = ProgressView(console)
        srun = await prepare(store, sid, view, config=config, retry_errors=retry_errors)
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
                await srun.run()
        except StoreWriteError as e:
            # committed work is kept; the unfinished conversations are redone on resume
            raise StoreWriteError(f"{e}; session {sid} is kept: free some space, then finish it with"
                                  f" `scsafety-tui resume {sid}`") from None
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
        if interrupted:
            await store.set_session_status(sid, "interrupted")
        errors = await print_tables(store, sid, console)
        if interrupted:
            console.print(f"[yellow]Interrupted.[/] Finish it with: scsafety-tui resume {sid} --db "
                          f"{escape(visible(db))}")
            return EXIT_INTERRUPTED
        console.print(f"Session [bold]{sid}[/] saved in {escape(visible(db))}")
        return EXIT_ERRORS if errors else EXIT_OK
    finally:
        await store.close()


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
    judged_by = (", ".join(session.judge_keys) if session.judge_mode == "model"
                 else "heuristic (offline lexicon judge, coarse)") if not vset else ", ".join(chosen.judges)
    set_lines, differ = await set_report(store, sid, vset, against,
                                         {s.id: s.name_zh for s in taxonomy.sub_dimensions})
    # the set's name is named in every header once a session has several (user text: shown literally)
    tag = f"verdict set: {queries.set_label(vset)}" if set_lines else ""
    # the name and keys come from users and prompts: Text, never markup, with control characters visible
    console.print(Text.assemble("\n", (visible(session.name), "bold"),
                                visible(f" (session {sid}, {session.status}; judge: {judged_by}"
                                        + (f"; {tag})" if tag else ")")),
                                " — human-adjusted" if human else ""))
    for table in report.all_tables(scores, taxonomy, session.keys):
        console.print(report.rich_table(report.tagged(table, tag)))
    if human:
        console.print(Text(agreement_of(rows).text()))
    for line in set_lines:
        console.print(Text(visible(line)))
    if differ is not None:
        console.print(report.rich_table(differ))
    if flags := queries.flags_line(*await queries.answer_flags(store, sid)):  # truncated / empty answers
        console.print(Text(flags))
    errored = (await queries.status_counts(store, sid)).get("error", 0)
    if errored:
        console.print(f"[red]{errored} conversation(s) ended with an error[/]; rerun them with "
                      f"`scsafety-tui resume {sid} --retry-errors`")
    unscored = unscored_answers(rows)
    if unscored:
        again = f"rejudge {sid}" + (f" --set {shlex.quote(vset)}" if vset else "")
        console.print(f"[red]{unscored} answer(s) unscored: every judge failed on them[/]; judge them again "
                      f"(the models are not asked again) with `scsafety-tui {escape(visible(again))}`")
    return errored + unscored


def stdout_console() -> Console:
    return Console(file=sys.stdout)
