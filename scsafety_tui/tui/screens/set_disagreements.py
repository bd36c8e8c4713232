"""The answers two verdict sets of one session score differently (compare.session_sets): item, target,
round and both scores, with the sets' weighted κ above; enter shows the highlighted answer's conversation."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from scsafety_tui.compare import SetComparison, session_sets
from scsafety_tui.store import queries
from scsafety_tui.tui import keymap
from scsafety_tui.tui.screens.transcript import Pane, TranscriptScreen
from scsafety_tui.tui.text import raw, visible


class SetDisagreementsScreen(Screen[None]):
    CSS_PATH = "../browse.tcss"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "back")
    HELP_TITLE = "Answers two verdict sets score differently"
    HELP_NOTES = "enter shows the highlighted answer's conversation."

    def __init__(self, session_id: int, a: str, b: str) -> None:
        super().__init__()
        self.session_id, self.a, self.b = session_id, a, b
        self.comparison: SetComparison | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="sd-info")
        table: DataTable[Text | str] = DataTable(cursor_type="row", zebra_stripes=True, id="set-disagreements")
        yield table
        yield Footer()

    async def on_mount(self) -> None:
        store = self.app.store  # type: ignore[attr-defined]  # ScSafetyApp's store (Textual types .app as App)
        session = await queries.stored_session(store, self.session_id)
        c = self.comparison = await session_sets(store, self.session_id, self.a, self.b)
        self.title = visible(session.name)
        self.sub_title = visible(f"session {self.session_id} · {queries.set_label(self.a)} vs "
                                 f"{queries.set_label(self.b)}")
        names = {s.id: s.name_zh for s in session.taxonomy.sub_dimensions}
        self.query_one("#sd-info", Static).update(raw(f"{c.agreement.text()}\n{len(c.disagreements)} answer(s)"
                                                      " scored differently"))
        table = self.query_one(DataTable)
        for key, label in (("item", "item"), ("sub", "sub-dimension"), ("target", "target"), ("R", "R"),
                           ("A", queries.set_label(self.a)), ("B", queries.set_label(self.b))):
            table.add_column(raw(label), key=key)  # a set's name is user text
        for i, d in enumerate(c.disagreements):
            table.add_row(raw(d.item_id), raw(names.get(d.sub_dimension, d.sub_dimension)), raw(d.target),
                          str(d.round), str(d.a), str(d.b), key=str(i))
        table.focus()

    @on(DataTable.RowSelected, "#set-disagreements")
    def chosen(self, event: DataTable.RowSelected) -> None:
        if self.comparison is None or event.row_key.value is None:
            return
        d = self.comparison.disagreements[int(event.row_key.value)]
        self.app.push_screen(TranscriptScreen([Pane("", self.session_id, d.item_id, d.target)]))

    def action_back(self) -> None:
        self.dismiss()
