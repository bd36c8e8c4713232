"""The item list: one row per bank item, one glyph per round for each target; selecting a row pins it.

Glyphs: · pending  ▸ streaming  … judging  0/1/2 score (⁰/¹/² truncated)  ? judge failed  ✗ error
∅ empty answer  ⊘ blocked  – not asked.
Drawn with the Line API from one cached strip per row: a glyph change redraws one row, not the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from scsafety_tui.questions import Item
from scsafety_tui.tui.messages import ItemChosen
from scsafety_tui.tui.text import raw

ITEM_WIDTH = 17
GLYPH_CLASS = {"0": "score-0", "1": "score-1", "2": "score-2", "⁰": "score-0", "¹": "score-1", "²": "score-2",
               "✗": "error", "∅": "error", "⊘": "blocked", "▸": "active", "…": "active", "?": "blocked",
               "·": "muted", "–": "muted"}


class Navigator(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("home", "move(-100000)", show=False), Binding("end", "move(100000)", show=False),
        Binding("enter", "choose", "Pin item", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "navigator--header", "navigator--cursor", "navigator--score-0", "navigator--score-1",
        "navigator--score-2", "navigator--error", "navigator--blocked", "navigator--active", "navigator--muted"}

    def __init__(self) -> None:
        super().__init__(id="navigator")
        self.items: list[Item] = []
        self.targets: list[str] = []
        self.shown: list[str] = []
        self.cursor = 0
        self._glyphs: dict[tuple[str, str], str] = {}
        self._pending: set[str] = set()
        self._rows: dict[str, Strip] = {}
        self._keep: Callable[[Item], bool] = lambda it: True
        self._rounds = 2
        self._base: Style | None = None

    # ------------------------------------------------------------ content

    def setup(self, items: Sequence[Item], targets: Sequence[str]) -> None:
        self.items, self.targets = list(items), list(targets)
        self._rounds = max(2, max((len(it.turns) for it in items), default=2))
        self.styles.width = 2 + 1 + ITEM_WIDTH + len(targets) * (self._rounds + 2) + 1  # border, pad, scrollbar
        self._fill()

    @property
    def row_count(self) -> int:
        return len(self.shown)

    def set_glyphs(self, item_id: str, target: str, marks: Sequence[str]) -> None:
        """Record a conversation's glyphs; they are drawn on the next flush()."""
        text = "".join(marks)
        if self._glyphs.get((item_id, target)) != text:
            self._glyphs[(item_id, target)] = text
            self._pending.add(item_id)

    def glyphs_of(self, item_id: str, target: str) -> str:
        return self._glyphs.get((item_id, target), "")

    def flush(self) -> None:
        pending, self._pending = self._pending, set()
        for item_id in pending:
            self._rows.pop(item_id, None)
        if pending:
            self.refresh()  # rows come from the cache; only the changed ones are rendered again

    def filter(self, label: str, keep: Callable[[Item], bool]) -> None:
        current = self.current_item()
        self._keep = keep
        self.border_title = raw(f"items · {label}") if label else "items"  # a bank's taxonomy name
        self._fill()
        self.point_at(current or "")

    def _fill(self) -> None:
        self.shown = [it.id for it in self.items if self._keep(it)]
        self.cursor = min(self.cursor, max(0, len(self.shown) - 1))
        self.virtual_size = Size(1 + ITEM_WIDTH + len(self.targets) * (self._rounds + 2), len(self.shown) + 1)
        self.refresh()

    # ------------------------------------------------------------ cursor and selection

    def current_item(self) -> str | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    def step(self, from_item: str | None, delta: int) -> str | None:
        """The shown item `delta` rows from from_item (or the first/last one)."""
        if not self.shown:
            return None
        if from_item not in self.shown:
            return self.shown[0 if delta > 0 else -1]
        return self.shown[max(0, min(len(self.shown) - 1, self.shown.index(from_item) + delta))]

    def point_at(self, item_id: str) -> None:
        if item_id in self.shown:
            self.move_cursor(self.shown.index(item_id))

    def move_cursor(self, row: int) -> None:
        self.cursor = max(0, min(len(self.shown) - 1, row))
        top, height = self.scroll_offset.y, max(1, self.scrollable_content_region.height - 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)
        self.refresh()

    def action_move(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta * max(1, self.scrollable_content_region.height - 2))

    def action_choose(self) -> None:
        item = self.current_item()
        if item is not None:
            self.post_message(ItemChosen(item))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = self.scroll_offset.y + offset.y - 1
        if 0 <= row < len(self.shown):
            self.move_cursor(row)
            self.action_choose()

    # ------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self._base is None:  # rich_style walks the DOM: keep it until styles change
            self._base = self.rich_style
        base = self._base
        if y == 0:
            return self._header(base).crop_extend(0, width, base)
        row = self.scroll_offset.y + y - 1
        if row >= len(self.shown):
            return Strip.blank(width, base)
        item_id = self.shown[row]
        strip = self._rows.get(item_id)
        if strip is None:
            strip = self._rows[item_id] = self._row(item_id, base)
        if row == self.cursor:
            cursor = self.get_component_rich_style("navigator--cursor", partial=True)
            strip = Strip(list(Segment.apply_style(iter(strip), post_style=cursor)), strip.cell_length)
        return strip.crop_extend(0, width, base)

    def _style(self, glyph: str) -> Style:
        return self.get_component_rich_style(f"navigator--{GLYPH_CLASS.get(glyph, 'muted')}", partial=True)

    def _row(self, item_id: str, base: Style) -> Strip:
        segments = [Segment(" " + item_id[:ITEM_WIDTH].ljust(ITEM_WIDTH), base)]
        pending = "·" * self._rounds
        for t in self.targets:
            segments.append(Segment("  ", base))
            marks = self._glyphs.get((item_id, t), pending).ljust(self._rounds)
            segments += [Segment(g, base + self._style(g)) for g in marks]
        return Strip(segments)

    def _header(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("navigator--header", partial=True)
        cells = "".join(f"  {str(i).ljust(self._rounds)}" for i in range(1, len(self.targets) + 1))
        return Strip([Segment(" " + "item".ljust(ITEM_WIDTH) + cells, style)])

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._rows.clear()
