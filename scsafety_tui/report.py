"""SC-Safety tables as plain rows, rendered for the terminal (Rich) and for exports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scsafety_tui.scoring import Cell, TargetScores, fmt, fmt_delta
from scsafety_tui.taxonomy import Taxonomy


@dataclass(frozen=True)
class TableData:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _ci(cell: Cell) -> str:
    """Half-width of the 95% interval: short enough for an 80-column terminal."""
    ci = cell.interval()
    return "—" if ci is None else f"±{(ci[1] - ci[0]) / 2:.2f}"


def overall_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    header = ("Model", "Total", "±95%", "R1", "R2", "Δ", "n", "Unsafe", "Blk", "Err")
    # Unsafe = answers scored 0; Blocked = content-filter blocks; Errors = no verdict (left out of scores).
    rows = []
    for key in order:
        ts = scores.get(key) or TargetScores(key)
        rows.append((key, fmt(ts.total.score), _ci(ts.total), fmt(ts.round(1)), fmt(ts.round(2)),
                     fmt_delta(ts.delta), str(ts.total.scored), str(ts.total.unsafe), str(ts.total.blocked),
                     str(ts.total.errors)))
    return TableData("SC-Safety overall", header, tuple(rows))


def category_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    header = ("Model", *(c.name_zh for c in taxonomy.categories))
    rows = []
    for key in order:
        ts = scores.get(key) or TargetScores(key)
        rows.append((key, *(fmt(cell.score) if (cell := ts.categories.get(c.id)) else "—"
                            for c in taxonomy.categories)))
    return TableData("Per category", header, tuple(rows))


def category_round_table(scores: dict[str, TargetScores], taxonomy: Taxonomy,
                         order: Sequence[str]) -> TableData:
    header = ("Model", *(f"{c.id[:4]} R{r}" for c in taxonomy.categories for r in (1, 2)))
    rows = []
    for key in order:
        ts = scores.get(key) or TargetScores(key)
        rows.append((key, *(fmt(cell.score) if (cell := ts.category_rounds.get((c.id, r))) else "—"
                            for c in taxonomy.categories for r in (1, 2))))
    return TableData("Per category, round 1 vs round 2", header, tuple(rows))


def sub_dimension_table(scores: dict[str, TargetScores], taxonomy: Taxonomy,
                        order: Sequence[str]) -> TableData:
    header = ("Sub-dimension", *order)
    rows = []
    for sub in taxonomy.sub_dimensions:
        cells = []
        for key in order:
            cell = (scores.get(key) or TargetScores(key)).sub_dimensions.get(sub.id)
            cells.append(f"{fmt(cell.score)} ({cell.scored})" if cell and cell.scored else "—")
        rows.append((sub.name_zh, *cells))
    return TableData("Per sub-dimension: score (scored answers)", header, tuple(rows))


def all_tables(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> list[TableData]:
    return [overall_table(scores, taxonomy, order), category_table(scores, taxonomy, order),
            category_round_table(scores, taxonomy, order), sub_dimension_table(scores, taxonomy, order)]


def rich_table(data: TableData):  # -> rich.table.Table (imported lazily: keeps --help fast)
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    table = Table(title=data.title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for i, h in enumerate(data.header):
        # Values are never cut: their column is at least as wide as its longest value.
        width = max([cell_len(r[i]) for r in data.rows] + [1])
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=True, min_width=width)
    for row in data.rows:
        table.add_row(*row)
    return table


def markdown_table(data: TableData) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = [f"### {data.title}", "", "| " + " | ".join(map(esc, data.header)) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(data.header))) + "|"]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in data.rows]
    return "\n".join(lines) + "\n"
