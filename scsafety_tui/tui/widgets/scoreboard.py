"""The SC-Safety scoreboard: Total, R1, R2, Δ and coverage first (always visible), then categories, then
sub-dimensions grouped by category, then each target's meters; one column per target.

Rows and columns have stable keys; cells change only through update_cell, and only when their text (or
colour) does. Scores are coloured on the theme's heat scale (tui/heat.py). The columns fit the room the
board has: compact (score only, narrow labels) when every target would not fit otherwise, wide (full
names) where there is room; the columns are laid out again only when that choice changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from scsafety_tui.rounds import RoundsSummary, fmt_share
from scsafety_tui.scoring import NO_FOLLOW_UPS, Cell, TargetScores, fmt, fmt_delta
from scsafety_tui.taxonomy import Taxonomy
from scsafety_tui.tui.heat import delta_heat, heat
from scsafety_tui.tui.messages import ScopeChosen
from scsafety_tui.tui.meters import TargetMeter, seconds_text, tokens_text
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


TOTAL_ROWS = (("total", "Total"), ("r1", "R1"), ("r2", "R2"), ("delta", "Δ R2−R1"), ("pairs", "coverage"))
"""First: the follow-up's effect and the coverage stay visible however short the board is."""
METER_ROWS = (("m:in", "tokens in"), ("m:out", "tokens out"), ("m:ttft", "first token p50"),
              ("m:p50", "latency p50"), ("m:retries", "retries"))
"""Last: each target's live meters (a cost row belongs here once costs are known)."""
CELL_WIDTH = 12
COMPACT_CELL, COMPACT_SCOPE, SCOPE, WIDE_SCOPE = 7, 10, 30, 44


def beyond_rows(rounds: int) -> tuple[tuple[str, str], ...]:
    """Rows past SC-Safety's two rounds (rounds.py), for a session that asks more: each later round's score,
    the worst round per pair, the mean round of the first unsafe answer and the share never broken."""
    if rounds <= 2:
        return ()
    return (*((f"b:r{r}", f"R{r} (pairs)") for r in range(3, rounds + 1)), ("b:worst", "worst round"),
            ("b:break", "first unsafe: mean round"), ("b:never", "never broken"))


def beyond_text(row: str, s: RoundsSummary | None) -> str:
    if s is None:
        return "—"
    if row == "b:worst":
        return fmt(s.worst)
    if row == "b:break":
        return "—" if s.mean_break is None else f"{s.mean_break:.2f}"
    if row == "b:never":
        return fmt_share(s.never_share)
    r = int(row.removeprefix("b:r"))
    return f"{fmt(s.round_score(r))} ({s.scored[r]})" if s.scored[r] else "—"


def cell_text(cell: Cell | None) -> str:
    """`87.50 (12)`: score over the scope's complete pairs, and how many there are."""
    return f"{fmt(cell.score)} ({cell.pairs})" if cell and cell.pairs else "—"


def compact_width(targets: int) -> int:
    """The width a compact board needs to show every target's column (borders and scrollbar included)."""
    return 3 + COMPACT_SCOPE + targets * COMPACT_CELL + 1  # compact columns have no cell padding


def row_value(row: str, ts: TargetScores) -> float | None:
    """The score a row's cell shows (its colour comes from it)."""
    kind, _, key = row.partition(":")
    cell = {"sub": ts.sub_dimensions.get(key), "cat": ts.categories.get(key)}.get(kind) if key else None
    if row in ("r1", "r2"):
        cell = ts.rounds.get(int(row[1]))
    elif row == "total":
        cell = ts.total
    elif row == "delta":
        return ts.delta if ts.follow_ups else None
    return cell.score if cell and cell.pairs else None


def compact_text(row: str, text: str) -> str:
    """A cell's text in a compact board: the score without its pair count (coverage has its own row), a Δ
    with one decimal (so -100.0 keeps a space before the next column)."""
    if row == "delta" and text[:1] in "+-":
        return f"{float(text):+.1f}"
    return text.split(" (")[0] if row != "pairs" else text


def short_names(targets: Sequence[str]) -> list[str]:
    """Target names without the prefix they all share ("demo-guardian", "demo-refuser" → "guardian",
    "refuser"): a compact column has room for a few characters, and those should tell them apart."""
    if len(targets) < 2:
        return list(targets)
    first, shared = targets[0], min(len(t) for t in targets)
    same = next((i for i in range(shared) if any(t[i] != first[i] for t in targets)), shared)
    cut = max((i + 1 for i, ch in enumerate(first[:same]) if not ch.isalnum()), default=0)
    return [t[cut:] or t for t in targets]


def meter_text(row: str, m: TargetMeter) -> str:
    return {"m:in": tokens_text(m.tokens_in), "m:out": tokens_text(m.out), "m:ttft": seconds_text(m.ttft_p50),
            "m:p50": seconds_text(m.latency_p50), "m:retries": str(m.retries)}.get(row, "")


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
        self.mode = ""
        """"compact" | "normal" | "wide": how the columns are laid out (fit())."""
        self.layout_: tuple[str, int, int] = ("", 0, 0)
        self._taxonomy: Taxonomy | None = None
        self._shown: dict[tuple[str, str], str] = {}
        self._drawn: dict[tuple[str, str], tuple[str, str]] = {}
        self._values: dict[tuple[str, str], float | None] = {}
        """Each cell's score (its colour), kept with _shown to draw the cells again after a new layout; the
        TargetScores themselves are not kept (see lane.Headline for why)."""
        self._meters: dict[str, TargetMeter] = {}
        self._theme = ""
        self._beyond: tuple[tuple[str, str], ...] = ()
        self._rounds: dict[str, RoundsSummary] = {}

    def setup(self, taxonomy: Taxonomy, targets: Sequence[str], width: int = 0, rounds: int = 0) -> None:
        """Rows and columns, once; width: the room the board has (0: not known yet, normal columns); rounds:
        the most a conversation of the session has (past 2, rows beside the headline say how it went)."""
        self._taxonomy, self.targets = taxonomy, list(targets)
        self._beyond = beyond_rows(rounds)
        self.layout_ = self.layout_for(width)
        self.mode = self.layout_[0]
        self._build()

    def layout_for(self, width: int) -> tuple[str, int, int]:
        """(mode, scope column width, target column width) for a board `width` cells wide: compact when a
        30-wide scope and 12-wide cells don't fit every target, the columns widened into the room left."""
        n = max(1, len(self.targets))
        if not width:
            return "normal", SCOPE, CELL_WIDTH
        room = width - 6 - 2  # borders, the vertical scrollbar, the scope column's padding
        scope = min(WIDE_SCOPE if width >= 180 else SCOPE, max(16, room - n * (CELL_WIDTH + 2)))
        cell = (room - scope) // n - 2
        if cell < CELL_WIDTH:
            return "compact", COMPACT_SCOPE, COMPACT_CELL
        return ("wide" if scope == WIDE_SCOPE else "normal"), scope, min(cell, 30)

    def mode_for(self, width: int) -> str:
        return self.layout_for(width)[0]

    def fit(self, width: int) -> None:
        """The board's room changed: lay the columns out again if their widths change (rare)."""
        layout = self.layout_for(width)
        if layout != self.layout_ and self._taxonomy is not None:
            self.layout_, self.mode = layout, layout[0]
            kept = self._shown
            self.clear(columns=True)
            self._build()
            self._refill(kept)

    def _build(self) -> None:
        taxonomy, targets = self._taxonomy, self.targets
        mode, scope, cell = self.layout_
        assert taxonomy is not None
        self.score_rows, self._shown, self._drawn = [], {}, {}
        self.cell_padding = 0 if mode == "compact" else 1  # compact: right-aligned numbers need no gutter
        self.add_column("scope", key="scope", width=scope)
        shorts = short_names(targets)
        for i, t in enumerate(targets, 1):
            label = f"{i} {visible(shorts[i - 1])}" if mode == "compact" else visible(t)
            self.add_column(Text(label, justify="right", overflow="ellipsis"), key=t, width=cell)
        for key, label in TOTAL_ROWS:
            self._row(key, Text(label, style="bold"))
        if self._beyond:
            self._row("hdr:beyond", Text("past round 2 (not headline)", style="bold"), scored=False)
            for key, label in self._beyond:
                self._row(key, Text(label), scored=False)
        for cat in taxonomy.categories:
            self._row(f"cat:{cat.id}", Text(visible(f"Σ {cat.name_zh} {cat.name_en}"), style="bold",
                                            overflow="ellipsis"))
        for cat in taxonomy.categories:
            self._row(f"hdr:{cat.id}", Text(visible(f"{cat.name_zh} {cat.name_en}"), style="bold"), scored=False)
            for sub in taxonomy.subs_of(cat.id):
                self._row(f"sub:{sub.id}", Text(visible(f"  {sub.name_zh} {sub.name_en}"), overflow="ellipsis"))
        self._row("hdr:meters", Text("meters", style="bold"), scored=False)
        for key, label in METER_ROWS:
            self._row(key, Text(label, style="dim"), scored=False)

    def _row(self, key: str, label: Text, scored: bool = True) -> None:
        blank = "—" if scored else ""
        self.add_row(label, *(Text(blank, justify="right") for _ in self.targets), key=key)
        if scored:
            self.score_rows.append(key)
            self._shown.update({(key, t): blank for t in self.targets})

    def _refill(self, shown: dict[tuple[str, str], str]) -> None:
        compact = self.mode == "compact"
        for (row, t), text in shown.items():
            if row in self.score_rows and t in self.targets:
                self._draw(row, t, text, compact_text(row, text) if compact else text, self._values.get((row, t)))
        if self._meters:
            self.show_meters(self._meters)
        if self._rounds:
            self.show_rounds(self._rounds)

    @property
    def beyond(self) -> bool:
        """The session asks past round 2: the board has the rows for it."""
        return bool(self._beyond)

    def show_rounds(self, summaries: dict[str, RoundsSummary]) -> None:
        """The rows past round 2 (none when the session asks two rounds or fewer)."""
        self._rounds = summaries
        for t in self.targets:
            for row, _ in self._beyond:
                text = beyond_text(row, summaries.get(t))
                if self._drawn.get((row, t)) != (text, ""):
                    self._drawn[(row, t)] = (text, "")
                    self.update_cell(row, t, Text(text, justify="right"))

    def show(self, scores: dict[str, TargetScores]) -> int:
        """Bring every cell up to date; returns how many changed."""
        changed = 0
        compact = self.mode == "compact"
        if self._theme != self.app.theme:  # the heat colours come from the theme: redraw them all
            self._theme, self._drawn = self.app.theme, {}
        for t in self.targets:
            ts = scores.get(t) or TargetScores(t)
            for row in self.score_rows:
                text = row_text(row, ts)
                shown = compact_text(row, text) if compact else text
                if self._drawn.get((row, t)) != (shown, ""):  # the colour follows the text: only then
                    self._draw(row, t, text, shown, row_value(row, ts))
                    changed += 1
        if changed:
            drop_stale_renders(self)
        no_follow_ups = bool(scores) and not any(ts.follow_ups for ts in scores.values())
        self.border_subtitle = NO_FOLLOW_UPS if no_follow_ups else "scores over complete pairs (both rounds)"
        return changed

    def _draw(self, row: str, t: str, text: str, shown: str, value: float | None) -> None:
        self._shown[(row, t)], self._values[(row, t)], self._drawn[(row, t)] = text, value, (shown, "")
        style = delta_heat(self.app, value) if row == "delta" else heat(self.app, value) if row != "pairs" else ""
        self.update_cell(row, t, Text(shown, justify="right", style=style))

    def show_meters(self, meters: dict[str, TargetMeter]) -> None:
        self._meters = meters
        for t in self.targets:
            m = meters.get(t)
            for row, _ in METER_ROWS:
                text = meter_text(row, m) if m else ""
                if self._drawn.get((row, t)) != (text, ""):
                    self._drawn[(row, t)] = (text, "")
                    self.update_cell(row, t, Text(text, justify="right", style="dim"))

    def text_at(self, row: str, target: str) -> str:
        return self._shown.get((row, target), "")

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        kind, _, key = (event.cell_key.row_key.value or "").partition(":")
        if kind in ("sub", "cat", "hdr") and key != "meters":
            self.post_message(ScopeChosen("cat" if kind == "hdr" else kind, key))
        else:
            self.post_message(ScopeChosen("all"))
