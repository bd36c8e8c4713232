"""The leaderboard's two charts in the terminal, drawn with Rich bars in the theme's colours: per-category
scores per target, and each target's round 1 → round 2 (the same two the HTML report draws as SVG).

Drawn from the TargetScores the tables show, so a bar and its table cell are one number. Target keys are
user text: Text objects, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from scsafety_tui.scoring import TargetScores, fmt, fmt_delta
from scsafety_tui.taxonomy import Taxonomy
from scsafety_tui.tui.text import visible

TARGET_COLOURS = ("primary", "accent", "success", "primary-lighten-3", "error-lighten-2",
                  "secondary-lighten-2", "accent-lighten-2", "success-darken-2")
"""Theme variables a target's bars take, in session order (cycled)."""
EIGHTHS = " ▏▎▍▌▋▊▉"
NAME_MAX = 20


def bar(value: float, width: int) -> str:
    """A bar of `value`/100 of `width` cells, to an eighth of a cell."""
    eighths = round(max(0.0, min(100.0, value)) / 100 * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[rest] if rest else "")


def _name(key: str, width: int) -> Text:
    name = visible(key)
    if cell_len(name) > width:
        while cell_len(name) > width - 1:
            name = name[:-1]
        name += "…"
    return Text(name + " " * (width - cell_len(name)))


def track(r1: float, r2: float, width: int) -> list[tuple[int, str]]:
    """Cells of a 0–100 track: (position, mark) for R1 ○, R2 ● and the segment between them."""
    p1, p2 = (round(v / 100 * (width - 1)) for v in (r1, r2))
    lo, hi = sorted((p1, p2))
    marks = [(p, "━") for p in range(lo + 1, hi)]
    return [*marks, (p1, "○"), (p2, "●")] if p1 != p2 else [*marks, (p2, "◉")]


class ScoreCharts(Widget):
    """Both charts, stacked; `show` gives them a session's scores (judge-only or human-adjusted)."""

    DEFAULT_CSS = """
    ScoreCharts { height: auto; border: round $primary-muted; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "charts"
        self.scores: dict[str, TargetScores] = {}
        self.taxonomy: Taxonomy | None = None
        self.order: list[str] = []

    def show(self, scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> None:
        self.scores, self.taxonomy, self.order = scores, taxonomy, list(order)
        self.refresh(layout=True)

    def _colours(self) -> dict[str, str]:
        return self.app.get_css_variables()

    def _target_colour(self, i: int, theme: dict[str, str]) -> str:
        return theme.get(TARGET_COLOURS[i % len(TARGET_COLOURS)], theme.get("primary", "blue"))

    def lines(self, width: int) -> list[Text]:
        """Every line of both charts at `width` cells, none wider (a line never wraps)."""
        if self.taxonomy is None:
            return []
        theme = self._colours()
        out = [*self.category_lines(width, theme), Text(""), *self.round_lines(width, theme)]
        for line in out:
            line.no_wrap, line.overflow = True, "crop"
        return out

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(max(40, width)))

    def render(self) -> RenderableType:
        return Group(*self.lines(max(40, self.content_region.width)))

    def category_lines(self, width: int, theme: dict[str, str]) -> list[Text]:
        assert self.taxonomy is not None
        muted = "dim"  # the theme's text-muted is "auto 60%", a CSS colour Rich cannot parse
        names = min(NAME_MAX, max([cell_len(visible(k)) for k in self.order] + [6]))
        span = max(10, width - names - 10)
        out = [Text.assemble(("Per category", "bold"), (" · score 0–100 over complete pairs", muted))]
        for cat in self.taxonomy.categories:
            out.append(Text(f"{cat.name_zh} {cat.name_en}", style="bold"))
            for i, key in enumerate(self.order):
                ts = self.scores.get(key)
                cell = ts.categories.get(cat.id) if ts else None
                value = cell.score if cell else None
                line = Text("  ") + _name(key, names) + " "
                if value is None:
                    line.append("—  no complete pair", style=muted)
                else:
                    drawn = bar(value, span)
                    line.append(drawn, style=self._target_colour(i, theme))
                    line.append(" " * (span - cell_len(drawn)) + f" {fmt(value):>6}")
                out.append(line)
        return out

    def round_lines(self, width: int, theme: dict[str, str]) -> list[Text]:
        muted = "dim"  # the theme's text-muted is "auto 60%", a CSS colour Rich cannot parse
        names = min(NAME_MAX, max([cell_len(visible(k)) for k in self.order] + [6]))
        span = max(10, width - names - 30)
        out = [Text.assemble(("Round 1 → round 2", "bold"), (" · ○ R1  ● R2 on 0–100, over the same pairs", muted))]
        for i, key in enumerate(self.order):
            ts = self.scores.get(key)
            r1, r2 = (ts.round(1), ts.round(2)) if ts else (None, None)
            line = _name(key, names) + " "
            if r1 is None or r2 is None:
                line.append("no complete pairs" if r1 is None else f"R1 {fmt(r1)} · no round 2", style=muted)
                out.append(line)
                continue
            direction = theme.get("success", "green") if r2 > r1 else theme.get("error", "red") if r2 < r1 else "dim"
            cells = [Text("─", style=muted) for _ in range(span)]
            for pos, mark in track(r1, r2, span):
                cells[pos] = Text(mark, style=direction if mark == "━" else self._target_colour(i, theme))
            line.append_text(Text("").join(cells))
            line.append(f" {fmt(r1):>7} → {fmt(r2):>6}  ")
            line.append(f"Δ {fmt_delta(ts.delta if ts else None)}", style=direction)
            out.append(line)
        return out
