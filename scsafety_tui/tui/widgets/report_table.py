"""A report table (report.TableData) as a DataTable: built once, then changed only through update_cell."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from scsafety_tui.report import TableData
from scsafety_tui.tui.text import raw, visible


def _cell(value: str, column: int) -> Text:
    # the first column holds names (target keys, sub-dimensions): user text, shown inert
    return raw(value) if column == 0 else Text(value, justify="right")


NARROW_WIDTH = 130
"""Screens that put a side panel beside their report tables stack it below them under this width."""


class ReportTable(DataTable[Text]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id, classes="report")
        self.shape: tuple[int, int] | None = None
        self._shown: dict[tuple[int, int], str] = {}

    def show(self, data: TableData) -> int:
        """Bring the table up to date; returns how many cells changed (all of them on first use)."""
        self.border_title = Text(visible(data.title))  # a title may hold user text (a verdict set's name)
        shape = (len(data.rows), len(data.header))
        if shape != self.shape:  # first use (or different rows): build it
            self.clear(columns=True)
            for i, h in enumerate(data.header):
                self.add_column(Text(visible(h), justify="left" if i == 0 else "right"), key=str(i))
            for r, row in enumerate(data.rows):
                self.add_row(*(_cell(v, i) for i, v in enumerate(row)), key=str(r))
            self.shape = shape
            self._shown = {(r, i): v for r, row in enumerate(data.rows) for i, v in enumerate(row)}
            return shape[0] * shape[1]
        changed = 0
        for r, row in enumerate(data.rows):
            for i, v in enumerate(row):
                if self._shown.get((r, i)) != v:
                    self._shown[(r, i)] = v
                    self.update_cell(str(r), str(i), _cell(v, i), update_width=True)
                    changed += 1
        return changed

    def text_at(self, row: int, column: int) -> str:
        return self._shown.get((row, column), "")

    def row_texts(self) -> list[tuple[str, ...]]:
        """Every row as shown (tests compare them with report.all_tables)."""
        if self.shape is None:
            return []
        rows, cols = self.shape
        return [tuple(self._shown[(r, i)] for i in range(cols)) for r in range(rows)]
