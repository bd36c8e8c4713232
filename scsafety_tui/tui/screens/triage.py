"""Triage: the answers worth a human look (compare.triage), human-vs-judge disagreements first, then answers
whose judges disagree with each other, widest spread first. 0/1/2/x label the highlighted row."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Header

from scsafety_tui.compare import TriageRow, triage
from scsafety_tui.store import queries
from scsafety_tui.store.session_find import label_notes
from scsafety_tui.tui import keymap
from scsafety_tui.tui.labels import AnswerRef
from scsafety_tui.tui.screens.labelling import Labelling
from scsafety_tui.tui.screens.transcript import Pane, TranscriptScreen
from scsafety_tui.tui.text import raw, visible
from scsafety_tui.tui.widgets.answer_table import score_text


class TriageScreen(Labelling):
    CSS_PATH = "../browse.tcss"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "back")
    HELP_TITLE = "Triage"
    HELP_NOTES = "The focused answer is the highlighted row; enter shows its conversation."

    def __init__(self, session_id: int) -> None:
        super().__init__()
        self.session_id = session_id
        self.triaged: dict[int, TriageRow] = {}
        self.notes: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[Text | str] = DataTable(cursor_type="row", zebra_stripes=True, id="triage")
        yield table
        yield Footer()

    async def on_mount(self) -> None:
        session = await queries.stored_session(self.app.store, self.session_id)
        self.title, self.sub_title = visible(session.name), f"triage · session {self.session_id}"
        table = self.query_one(DataTable)
        for key in ("why", "item", "target", "R", "judges", "judge", "human", "note"):
            table.add_column(key, key=key)
        table.border_subtitle = "0/1/2 label the highlighted answer · N with a note · x clears · enter: conversation"
        await self.reload()
        table.focus()

    async def reload(self) -> None:
        """The list is built again after a label: a label moves an answer up, down or out of it."""
        table = self.query_one(DataTable)
        current = self.current()
        rows = triage(await queries.answer_rows(self.app.store, self.session_id))
        self.triaged = {r.turn_id: r for r in rows}
        self.notes = {n.turn_id: n.note for n in (await label_notes(self.app.store, self.session_id)).values()}
        table.clear()
        for r in rows:
            judges = ",".join("?" if s is None else str(s) for s in r.judge_scores)
            style = "bold red" if r.reason == "human ≠ judge" else "yellow"
            table.add_row(Text(r.reason, style=style), raw(r.item_id), raw(r.target), str(r.round), judges,
                          score_text(r.judge_score, "?"), score_text(r.human),
                          raw(self.notes.get(r.turn_id, "") if r.human is not None else "", "italic"),
                          key=str(r.turn_id))
        table.border_title = (f"{len(rows)} answers to look at: human ≠ judge first, then judges that "
                              "disagree (widest spread first)")
        if current is not None and str(current.turn_id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(current.turn_id)))

    def current(self) -> TriageRow | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.triaged.get(int(key)) if key else None

    def label_target(self) -> AnswerRef | None:
        r = self.current()
        if r is None:
            self.notify("Nothing to triage: no answer has disagreeing judges or a disagreeing human label.")
            return None
        return AnswerRef(self.session_id, r.item_id, r.target, r.round, r.judge_score, r.human, r.turn_id,
                         self.notes.get(r.turn_id, ""))

    async def label_applied(self, ref: AnswerRef, score: int | None, note: str) -> None:
        await self.reload()

    def action_back(self) -> None:
        self.dismiss()

    @on(DataTable.RowSelected)
    def chosen(self) -> None:
        r = self.current()
        if r is not None:
            self.app.push_screen(TranscriptScreen([Pane("", self.session_id, r.item_id, r.target)]))
