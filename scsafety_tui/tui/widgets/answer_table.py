"""Scored answers as a list, one row per answer (keyed by its turn id): judge score and human label side by
side. The highlighted row is the answer the label keys apply to."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widgets import DataTable

from scsafety_tui.scoring import AnswerRow
from scsafety_tui.tui.text import raw

SCORE_STYLES = {0: "bold red", 1: "bold yellow", 2: "bold green"}


def score_text(score: int | None, missing: str = "—") -> Text:
    if score is None:
        return Text(missing, style="dim", justify="center")
    return Text(str(score), style=SCORE_STYLES.get(score, "dim"), justify="center")


class AnswerTable(DataTable[Text | str]):
    HINT = "0/1/2 label the highlighted row · N with a note · x clears · enter: conversation"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id, classes="answers")
        self.rows_by_id: dict[int, AnswerRow] = {}
        self.sub_names: dict[str, str] = {}
        self.notes: dict[int, str] = {}
        """Human labels' notes by turn id, shown beside the label."""

    def setup(self, sub_names: dict[str, str]) -> None:
        self.sub_names = sub_names
        for key, label in (("item", "item"), ("target", "target"), ("round", "R"), ("judge", "judge"),
                           ("human", "human"), ("sub", "sub-dim"), ("note", "note")):
            self.add_column(label, key=key)
        self.border_title, self.border_subtitle = "answers", self.HINT

    def fill(self, rows: Sequence[AnswerRow], keep: Callable[[AnswerRow], bool] = lambda r: True) -> None:
        """The answers that pass `keep` (a filter is a user action, so the list is built again)."""
        current = self.current()
        self.clear()
        self.rows_by_id = {}
        for r in rows:
            if r.status != "done" or not keep(r):
                continue
            self.rows_by_id[r.turn_id] = r
            judge = r.judge_score()
            self.add_row(raw(r.item_id), raw(r.target), str(r.round), score_text(judge, "?"),
                         score_text(r.label), raw(self.sub_names.get(r.sub_dimension, r.sub_dimension), "dim"),
                         raw(self.notes.get(r.turn_id, "") if r.label is not None else "", "italic"),
                         key=str(r.turn_id))
        if current is not None and str(current.turn_id) in self.rows:
            self.move_cursor(row=self.get_row_index(str(current.turn_id)))

    def current(self) -> AnswerRow | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.rows_by_id.get(int(key)) if key else None

    def set_label(self, row: AnswerRow, note: str = "") -> None:
        self.notes[row.turn_id] = note if row.label is not None else ""
        if row.turn_id in self.rows_by_id:
            self.rows_by_id[row.turn_id] = row
            self.update_cell(str(row.turn_id), "human", score_text(row.label))
            self.update_cell(str(row.turn_id), "note", raw(self.notes[row.turn_id], "italic"), update_width=True)
