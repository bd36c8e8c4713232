"""The SC-Safety scoreboard: sub-dimensions grouped by category, then totals; one column per target.

Rows and columns have stable keys; cells change only through update_cell, and only when their text does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from scsafety_tui.scoring import NO_FOLLOW_UPS, Cell, TargetScores, fmt, fmt_delta
from scsafety_tui.taxonomy import Taxonomy
from scsafety_tui.tui.messages import ScopeChosen
from scsafety_tui.tui.text import visible

CLEAR_CACHES: Callable[[DataTable[Any]], None] | None = getattr(DataTable, "_clear_caches", None)
"""Private Textual (listed in CONTRIBUTING.md); None in a release without it: the caches are then left to
Textual (stale entries are never shown, only kept alive a while longer)."""


def drop_stale_renders(table: DataTable[Text], clear: Callable[[DataTable[Any]], None] | None = CLEAR_CACHES
                       ) -> None:
    """update_cell has made every cached render stale (the update count is part of each cache key), but
    the caches keep thousands of them alive: dropping them now keeps the GC's gen-2 scans short."""
    if clear is not None:
        clear(table)


TOTAL_ROWS = (("r1", "Round 1"), ("r2", "Round 2"), ("delta", "Δ (R2 − R1)"), ("total", "Overall"),
              ("pairs", "Complete pairs"))
CELL_WIDTH = 12


def cell_text(cell: Cell | None) -> str:
    """`87.50 (12)`: score over the scope's complete pairs, and how many there are."""
    return f"{fmt(cell.score)} ({cell.pairs})" if cell and cell.pairs else "—"


def row_text(row: str, ts: TargetScores) -> str:
    kind, _, key = row.partition(":")
    if kind == "sub":
        return cell_text(ts.sub_dimensions.get(key))
    if kind == "cat":
        return cell_text(ts.categories.get(key))
    if row in ("r1", "r2"):
        if row == "r2" and not ts.follow_ups:
            return "no R2"
        return cell_text(ts.rounds.get(int(row[1])))
    if row == "delta":
        return fmt_delta(ts.delta) if ts.follow_ups else "n/a"
    if row == "total":
        return cell_text(ts.total)
    if row == "pairs":  # coverage: complete / in scope; the rest are counted in `show` and exports
        return f"{ts.total.pairs}/{ts.total.in_scope}"
    return ""


class Scoreboard(DataTable[Text]):
    def __init__(self) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=True, classes="scoreboard", id="scoreboard")
        self.targets: list[str] = []
        self.score_rows: list[str] = []
        self._shown: dict[tuple[str, str], str] = {}

    def setup(self, taxonomy: Taxonomy, targets: Sequence[str]) -> None:
        self.targets = list(targets)
        self.add_column("scope", key="scope", width=30)
        for t in targets:
            width = min(max(CELL_WIDTH, len(t)), 20)
            self.add_column(Text(visible(t), justify="right", overflow="ellipsis"), key=t, width=width)
        for cat in taxonomy.categories:
            self._row(f"hdr:{cat.id}", Text(visible(f"{cat.name_zh} {cat.name_en}"), style="bold"), scored=False)
            for sub in taxonomy.subs_of(cat.id):
                self._row(f"sub:{sub.id}", Text(visible(f"  {sub.name_zh} {sub.name_en}"), overflow="ellipsis"))
        for cat in taxonomy.categories:
            self._row(f"cat:{cat.id}", Text(visible(f"Σ {cat.name_zh}"), style="bold"))
        for key, label in TOTAL_ROWS:
            self._row(key, Text(label, style="bold"))

    def _row(self, key: str, label: Text, scored: bool = True) -> None:
        blank = "—" if scored else ""
        self.add_row(label, *(Text(blank, justify="right") for _ in self.targets), key=key)
        if scored:
            self.score_rows.append(key)
            self._shown.update({(key, t): blank for t in self.targets})

    def show(self, scores: dict[str, TargetScores]) -> int:
        """Bring every cell up to date; returns how many changed."""
        changed = 0
        for t in self.targets:
            ts = scores.get(t) or TargetScores(t)
            for row in self.score_rows:
                text = row_text(row, ts)
                if self._shown.get((row, t)) != text:
                    self._shown[(row, t)] = text
                    self.update_cell(row, t, Text(text, justify="right"))
                    changed += 1
        if changed:
            drop_stale_renders(self)
        no_follow_ups = bool(scores) and not any(ts.follow_ups for ts in scores.values())
        self.border_subtitle = NO_FOLLOW_UPS if no_follow_ups else "scores over complete pairs (both rounds)"
        return changed

    def text_at(self, row: str, target: str) -> str:
        return self._shown.get((row, target), "")

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        kind, _, key = (event.cell_key.row_key.value or "").partition(":")
        if kind in ("sub", "cat", "hdr"):
            self.post_message(ScopeChosen("cat" if kind == "hdr" else kind, key))
        else:
            self.post_message(ScopeChosen("all"))
