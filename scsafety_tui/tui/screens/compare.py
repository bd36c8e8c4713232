"""Comparing two sessions that share items (compare.compare_sessions): per target and per sub-dimension the
two scores and their difference, and the answers whose score changed (enter shows both conversations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from scsafety_tui.compare import Comparison, compare_sessions, sub_table, totals_table
from scsafety_tui.store import queries
from scsafety_tui.tui import keymap
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.transcript import Pane, TranscriptScreen
from scsafety_tui.tui.text import raw
from scsafety_tui.tui.widgets.answer_table import score_text
from scsafety_tui.tui.widgets.report_table import NARROW_WIDTH, ReportTable

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp

class SessionPicker(ModalScreen[int | None]):
    """The second session of a comparison: those sharing items with the first can be picked."""

    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("back")
    app: ScSafetyApp

    def __init__(self, session_id: int) -> None:
        super().__init__(classes="session-menu")
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield OptionList(id="session-menu")

    async def on_mount(self) -> None:
        store = self.app.store
        mine = {it.id for it in await queries.items(store, self.session_id)}
        menu = self.query_one(OptionList)
        menu.border_title = f"compare session {self.session_id} with… (sessions sharing items)"
        first: int | None = None
        for s in await queries.list_sessions(store):
            if s.id == self.session_id:
                continue
            shared = len(mine & {it.id for it in await queries.items(store, s.id)})
            label = Text.assemble(raw(f"#{s.id} {s.name}"), (f" · {s.status} · {shared} shared items", "dim"))
            menu.add_option(Option(label, id=str(s.id), disabled=not shared))
            if shared and first is None:
                first = menu.option_count - 1
        menu.highlighted = first
        menu.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_back(self) -> None:
        self.dismiss(None)


def pick_and_compare(screen: Screen[Any], session_id: int, *, human: bool = False) -> None:
    def picked(other: int | None) -> None:
        if other:
            screen.app.push_screen(CompareScreen(session_id, other, human=human))

    screen.app.push_screen(SessionPicker(session_id), picked)


class CompareScreen(WorkerScreen):
    CSS_PATH = "../browse.tcss"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "toggle_human", "back")
    HELP_TITLE = "Compare"
    HELP_NOTES = "enter on an answer scored differently shows both conversations side by side."
    app: ScSafetyApp

    def __init__(self, a: int, b: int, *, human: bool = False) -> None:
        super().__init__()
        self.a, self.b, self.human = a, b, human
        self.comparison: Comparison | None = None
        self.names: dict[str, str] = {}

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#cmp-body").set_class(event.size.width < NARROW_WIDTH, "narrow")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="cmp-info")
        with Horizontal(id="cmp-body"):
            with VerticalScroll(id="cmp-tables"):
                yield ReportTable(id="cmp-totals")
                yield ReportTable(id="cmp-subs")
            changed: DataTable[Text | str] = DataTable(cursor_type="row", zebra_stripes=True, id="cmp-changed")
            changed.border_subtitle = "enter shows both conversations"
            yield changed
        yield Footer()

    async def on_mount(self) -> None:
        a = await queries.stored_session(self.app.store, self.a)
        b = await queries.stored_session(self.app.store, self.b)
        self.title = f"compare #{self.a} ⇄ #{self.b}"
        self.names = {s.id: s.name_zh for s in a.taxonomy.sub_dimensions}
        self.heads = (a.name, b.name)
        changed = self.query_one("#cmp-changed", DataTable)
        for key in ("item", "sub-dimension", "target", "R", "A", "B"):
            changed.add_column(key, key=key)
        await self.reload()
        changed.focus()

    async def reload(self) -> None:
        c = self.comparison = await compare_sessions(self.app.store, self.a, self.b, human=self.human)
        self.query_one("#cmp-totals", ReportTable).show(totals_table(c))
        self.query_one("#cmp-subs", ReportTable).show(sub_table(c, self.names))
        changed = self.query_one("#cmp-changed", DataTable)
        changed.clear()  # which answers changed depends on the scoring mode: a new list
        for i, ch in enumerate(c.changed):
            changed.add_row(raw(ch.item_id), raw(self.names.get(ch.sub_dimension, ch.sub_dimension)),
                            raw(ch.target), str(ch.round), score_text(ch.a, "?"), score_text(ch.b, "?"), key=str(i))
        changed.border_title = f"{len(c.changed)} answers scored differently"
        mode = "human-adjusted" if self.human else "judge-only"
        self.query_one("#cmp-info", Static).update(Text.assemble(
            raw(f"A: #{self.a} {self.heads[0]}   B: #{self.b} {self.heads[1]}"),
            f"   ·   {len(c.items)} shared items · {len(c.targets)} shared targets · scores {mode} (h)"))

    def action_back(self) -> None:
        self.dismiss()

    async def action_toggle_human(self) -> None:
        self.human = not self.human
        await self.reload()

    @on(DataTable.RowSelected, "#cmp-changed")
    def chosen(self, event: DataTable.RowSelected) -> None:
        if self.comparison is None:
            return
        ch = self.comparison.changed[int(event.row_key.value or 0)]
        self.app.push_screen(TranscriptScreen(
            [Pane("A", self.a, ch.item_id, ch.target), Pane("B", self.b, ch.item_id, ch.target)],
            title=f"{ch.item_id} · {ch.target} · R{ch.round}: A {ch.a} → B {ch.b}"))
