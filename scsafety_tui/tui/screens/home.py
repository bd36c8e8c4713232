"""The home screen: recent sessions, a new run from the config, the demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Header, Static

from scsafety_tui.store import queries
from scsafety_tui.tui import keymap
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.confirm import ConfirmScreen
from scsafety_tui.tui.text import raw, visible

if TYPE_CHECKING:
    from scsafety_tui.engine.plan import RunPlan
    from scsafety_tui.tui.app import ScSafetyApp

INTRO = ("SC-Safety (SuperCLUE-Safety) runs: [b]enter[/] opens a session ([b]space[/] on it resumes an "
         "unfinished one), [b]r[/] starts a run from your config, [b]d[/] runs the built-in demo personas, "
         "[b]?[/] lists every key.")


class HomeScreen(WorkerScreen):
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings(
        "app.help", "new_run", "demo", "app.spot", "app.sessions", "toggle_pause", "refresh", hide=("toggle_pause",))
    HELP_TITLE = "Home screen"
    HELP_NOTES = "enter opens the highlighted session; space resumes its run."
    app: ScSafetyApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(INTRO, id="intro")
        table: DataTable[Text | str] = DataTable(cursor_type="row", id="sessions")
        table.border_title = "sessions"
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.title, self.sub_title = "scsafety-tui", Path(self.app.db).name
        table = self.query_one("#sessions", DataTable)
        for col in ("id", "name", "created", "kind", "status", "targets", "done", "errors"):
            table.add_column(col, key=col)

    async def on_screen_resume(self) -> None:
        await self.action_refresh()

    async def action_refresh(self) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for s in (await queries.list_sessions(self.app.store))[:200]:
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at))
            table.add_row(str(s.id), raw(s.name), created, s.kind, s.status, raw(", ".join(s.targets)),
                          f"{s.done}/{s.conversations}", str(s.errors), key=str(s.id))

    @on(DataTable.RowSelected, "#sessions")
    def open_session(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_session(int(event.row_key.value), start=False)

    def action_toggle_pause(self) -> None:
        """Open the highlighted session and start it running (what the intro promises for space)."""
        table = self.query_one("#sessions", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.app.open_session(int(key), start=True)

    def action_new_run(self) -> None:
        if self.app.config is None or not self.app.config.targets:
            self.notify("No config with [[targets]]: pass --config, or press d for the demo.", severity="warning")
            return
        self.create_and_open(demo=False)

    def action_demo(self) -> None:
        self.create_and_open(demo=True)

    @work(exclusive=True, exit_on_error=False, group="create", description="Creating the session")
    async def create_and_open(self, demo: bool) -> None:
        from scsafety_tui.engine.plan import RunChoices, demo_plan, plan_run, session_creator

        if demo:
            plan = demo_plan(self.app.demo_url())
        else:
            assert self.app.config is not None
            plan = plan_run(self.app.config, RunChoices())  # the config's own [run] choices
            if not await self.app.push_screen_wait(estimate_dialog(plan)):
                return  # nothing stored: the estimate was all it cost
        sid = await session_creator(plan)(self.app.store)
        self.app.open_session(sid, start=True, config=plan.config)


def estimate_dialog(plan: RunPlan) -> ConfirmScreen:
    """Before a run from the config: answers and judge calls to be made, the token bound and the cost
    bound where prices are known (cost.estimate_run), and whether to start."""
    from scsafety_tui.cost import estimate_run

    lines = estimate_run(plan.config, plan.items, plan.taxonomy).lines()
    return ConfirmScreen(visible("\n".join(lines)) + "\n\nStart this run?", yes="Start")

