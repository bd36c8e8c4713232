"""The item list: one row per bank item, one glyph per round for each target; selecting a row pins it.

Glyphs: · pending  ▸ streaming  … judging  0/1/2 score (⁰/¹/² truncated)  ? judge failed  ✗ error
∅ empty answer  ⊘ blocked  – not asked. A labelled answer is underlined (in human-adjusted mode it shows
the label's score); a round scored below the one before (R2 < R1: a flip) is drawn reversed.
A cell cursor (←/→) picks one answer, target × round: the label keys apply to it, and the border's
subtitle says what it holds (judge, human label, note).
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
from scsafety_tui.tui.findings import flip_rounds
from scsafety_tui.tui.messages import ItemChosen
from scsafety_tui.tui.text import raw

ITEM_WIDTH = 17
SCORES = {"0": 0, "1": 1, "2": 2, "⁰": 0, "¹": 1, "²": 2}
GLYPH_CLASS = {"0": "score-0", "1": "score-1", "2": "score-2", "⁰": "score-0", "¹": "score-1", "²": "score-2",
               "✗": "error", "∅": "error", "⊘": "blocked", "▸": "active", "…": "active", "?": "blocked",
               "·": "muted", "–": "muted"}


class Navigator(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("home", "move(-100000)", show=False), Binding("end", "move(100000)", show=False),
        Binding("enter", "choose", "Pin item", show=False),
        Binding("left", "cell(-1)", show=False), Binding("right", "cell(1)", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "navigator--header", "navigator--cursor", "navigator--score-0", "navigator--score-1",
        "navigator--score-2", "navigator--error", "navigator--blocked", "navigator--active", "navigator--muted",
        "navigator--cell", "navigator--labelled", "navigator--flip"}

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
        self.col = 0
        """The cell cursor: target index × rounds + round - 1 (the answer the label keys apply to)."""
        self.human = False
        """Human-adjusted: a labelled answer shows the label's score."""
        self.label_of: Callable[[str, str, int], int | None] = lambda item, target, rnd: None
        """The human label of (item, target, round), set by the screen (its state holds the labels)."""
        self.detail_of: Callable[[str, str, int], str] = lambda item, target, rnd: ""
        """What the subtitle says about the answer under the cell cursor."""
        self.filter_label = ""
        self._by_id: dict[str, Item] = {}
        self._refill = False
        self.land: Callable[[str], tuple[str, int] | None] | None = None
        """Where the cell cursor lands on an item the lanes jump to (n / p, a pin): set by a finding filter."""
        self._live = False
        """The filter reads the run's state: applied again when glyphs change (new failures appear)."""

    # ------------------------------------------------------------ content

    def setup(self, items: Sequence[Item], targets: Sequence[str], rounds: int = 0) -> None:
        """rounds: the most a conversation of the session has (follow-ups past the items' turns included)."""
        self.items, self.targets = list(items), list(targets)
        self._by_id = {it.id: it for it in self.items}
        self._rounds = max(2, rounds, max((len(it.turns) for it in items), default=2))
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
        if self._live and (pending or self._refill):
            self._update_shown(pending)
        if pending:
            self.refresh()  # rows come from the cache; only the changed ones are rendered again
            self._describe()

    def redraw(self, item_id: str | None = None) -> None:
        """Draw one item's row (a label changed) or every row (the scoring mode changed) on the next flush."""
        if item_id is None:
            self._rows.clear()
            self._pending.add("")
            self._refill = True  # a live filter asks every item again: the mode changes what matches
        else:
            self._pending.add(item_id)

    def _update_shown(self, changed: set[str]) -> None:
        """A live filter after glyphs changed: only the changed items are asked again. Asking a 2,456-item
        bank with 13 targets in full took 30-90 ms at every flush of a run; 13 changed items take under
        0.5 ms (benches/findings_scale.py)."""
        current = self.current_item()
        if self._refill:
            self._refill = False
            self._fill()
        else:
            now = {i for i in changed if i in self._by_id and self._keep(self._by_id[i])}
            shown = set(self.shown)
            if all((i in now) == (i in shown) for i in changed if i in self._by_id):
                return
            self.shown = [it.id for it in self.items if it.id in now or (it.id in shown and it.id not in changed)]
            self._fill(keep_shown=True)
        self._title()
        self.point_at(current or "")

    def filter(self, label: str, keep: Callable[[Item], bool], *, live: bool = False) -> None:
        """Show only the items that pass `keep`; live: it reads state that changes during a run."""
        current = self.current_item()
        self._keep, self._live, self.land = keep, live, None
        self.filter_label = label
        self._fill()
        self._title()
        self.point_at(current or "")

    def _title(self) -> None:
        label = self.filter_label  # a bank's taxonomy name or a search text: shown literally
        self.border_title = raw(f"items · {label} · {len(self.shown)}/{len(self.items)}") if label else "items"

    def _fill(self, keep_shown: bool = False) -> None:
        if not keep_shown:
            self.shown = [it.id for it in self.items if self._keep(it)]
        self.cursor = min(self.cursor, max(0, len(self.shown) - 1))
        self.virtual_size = Size(1 + ITEM_WIDTH + len(self.targets) * (self._rounds + 2), len(self.shown) + 1)
        self.refresh()

    # ------------------------------------------------------------ cursor and selection

    def current_item(self) -> str | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    def current_answer(self) -> tuple[str, str, int] | None:
        """(item, target, round) under the cell cursor."""
        item = self.current_item()
        if item is None or not self.targets:
            return None
        index, rnd = divmod(self.col, self._rounds)
        return item, self.targets[index], rnd + 1

    def point_at_answer(self, target: str, rnd: int) -> None:
        if target in self.targets:
            self.col = self.targets.index(target) * self._rounds + max(0, min(self._rounds - 1, rnd - 1))
            self._rows.pop(self.current_item() or "", None)
            self._show_cell()
            self.refresh()
            self._describe()

    def action_cell(self, delta: int) -> None:
        self.col = max(0, min(len(self.targets) * self._rounds - 1, self.col + delta))
        self._rows.pop(self.current_item() or "", None)  # the cell mark is part of the cursor row's strip
        self._show_cell()
        self.refresh()
        self._describe()

    def _show_cell(self) -> None:
        """Scroll sideways so the cell cursor is on screen (a narrow navigator shows few targets)."""
        index, rnd = divmod(self.col, self._rounds)
        x = 1 + ITEM_WIDTH + index * (self._rounds + 2) + 2 + rnd
        width = self.scrollable_content_region.width
        if x < self.scroll_offset.x + 1 + ITEM_WIDTH:
            self.scroll_to(x=max(0, x - 1 - ITEM_WIDTH - 2), animate=False)
        elif x >= self.scroll_offset.x + width:
            self.scroll_to(x=x - width + 1, animate=False)

    def _describe(self) -> None:
        answer = self.current_answer()
        self.border_subtitle = raw(self.detail_of(*answer)) if answer else ""

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
            where = self.land(item_id) if self.land else None
            if where is not None:  # a finding filter: the cell cursor on that item's first such answer
                self.point_at_answer(*where)

    def move_cursor(self, row: int) -> None:
        old = self.current_item()
        self.cursor = max(0, min(len(self.shown) - 1, row))
        for item_id in (old, self.current_item()):  # the cell mark moves with the cursor row
            self._rows.pop(item_id or "", None)
        self._describe()
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
            strip = self._rows[item_id] = self._row(item_id, base, self.col if row == self.cursor else -1)
        if row == self.cursor:
            cursor = self.get_component_rich_style("navigator--cursor", partial=True)
            strip = Strip(list(Segment.apply_style(iter(strip), post_style=cursor)), strip.cell_length)
        return strip.crop_extend(0, width, base)

    def _style(self, glyph: str) -> Style:
        return self.get_component_rich_style(f"navigator--{GLYPH_CLASS.get(glyph, 'muted')}", partial=True)

    def _row(self, item_id: str, base: Style, cell: int = -1) -> Strip:
        """One item's row; cell: the index of the answer under the cell cursor (-1: not this row)."""
        segments = [Segment(" " + item_id[:ITEM_WIDTH].ljust(ITEM_WIDTH), base)]
        pending = "·" * self._rounds
        for i, t in enumerate(self.targets):
            segments.append(Segment("  ", base))
            marks = list(self._glyphs.get((item_id, t), pending).ljust(self._rounds))
            labels = [self.label_of(item_id, t, r) for r in range(1, len(marks) + 1)]
            if self.human:
                marks = [str(h) if h is not None else g for g, h in zip(marks, labels, strict=True)]
            flips = flip_rounds([SCORES.get(g) for g in marks])
            for r, g in enumerate(marks, 1):
                style = base + self._style(g)
                if labels[r - 1] is not None:
                    style += self.get_component_rich_style("navigator--labelled", partial=True)
                if r in flips:
                    style += self.get_component_rich_style("navigator--flip", partial=True)
                if i * self._rounds + r - 1 == cell:
                    style += self.get_component_rich_style("navigator--cell", partial=True)
                segments.append(Segment(g, style))
        return Strip(segments)

    def _header(self, base: Style) -> Strip:
        style = base + self.get_component_rich_style("navigator--header", partial=True)
        cells = "".join(f"  {str(i).ljust(self._rounds)}" for i in range(1, len(self.targets) + 1))
        return Strip([Segment(" " + "item".ljust(ITEM_WIDTH) + cells, style)])

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._rows.clear()
