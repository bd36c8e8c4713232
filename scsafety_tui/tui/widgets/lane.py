"""A lane: one target's view of one conversation, under a header with the target's running total."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from scsafety_tui.questions import Item
from scsafety_tui.tui.model import SCORED, ConvModel, TurnModel
from scsafety_tui.tui.text import raw, visible
from scsafety_tui.tui.widgets.conversation import Block, ConversationView, turn_blocks

LANE_MIN = 38


def fit_lanes(lanes: Sequence[Lane], available: int) -> None:
    """Equal widths that fill `available`, or LANE_MIN each and a horizontal scroll when they don't fit
    (fr units inside a scrolling container would give every lane the whole width)."""
    n = len(lanes)
    if not n or not available:
        return
    width = max(LANE_MIN, available // n)
    extra = available - width * n if width * n <= available else 0
    for i, lane in enumerate(lanes):
        lane.styles.width = width + (extra if i == n - 1 else 0)


class Lane(Vertical):
    def __init__(self, index: int | str, target: str) -> None:
        super().__init__(classes="lane")
        self.index, self.target = index, target
        self.header = Static(classes="lane-header")
        self.view = ConversationView()
        self.item: Item | None = None
        self.conv: ConvModel | None = None
        self.sub_label = ""
        self.pinned = False
        self.total = "—"
        self.rate = ""
        self.shown_at = 0.0
        """When (time.monotonic) the lane last switched conversations."""
        self.want_switch = False
        """Following: the shown conversation is over; move to the newest one when the dwell time is up."""
        self._dirty = True
        self._header_dirty = True
        self._focused = False
        """Whether the lane had focus at the last flush: the label keys apply to a focused lane."""
        self.labels = True
        """Mark the answer the label keys apply to when focused (False where there are no label keys)."""
        self.reasoning_hint = " · t shows it"
        """Said after a collapsed reasoning line ("" where no key shows it)."""

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.view

    @property
    def item_id(self) -> str | None:
        return self.item.id if self.item else None

    def show(self, item: Item, conv: ConvModel | None, sub_label: str = "") -> None:
        """Point the lane at a conversation; it is drawn on the next flush."""
        if conv is not self.conv or item is not self.item:
            self.view.scroll_home(animate=False, immediate=True)
            self.shown_at = time.monotonic()
        self.want_switch = False
        self.item, self.conv, self.sub_label = item, conv, sub_label
        self._dirty = self._header_dirty = True

    def touch(self) -> None:
        self._dirty = True

    def set_header(self, total: str | None = None, rate: str | None = None) -> None:
        if total is not None and total != self.total:
            self.total, self._header_dirty = total, True
        if rate is not None and rate != self.rate:
            self.rate, self._header_dirty = rate, True

    def label_turn(self) -> TurnModel | None:
        """The answer the label keys apply to: the latest scored one."""
        scored = [t for t in self._turns() if t.state == SCORED]
        return scored[-1] if scored else None

    def flush(self, stream_text: Callable[[int], str], md: bool, reasons: bool, streamed: bool,
              thoughts: bool = False, stream_reasoning: Callable[[int], str] | None = None) -> None:
        """Draw what changed since the last flush (blocks that did not change come from the cache).
        thoughts: show reasoning in full (dimmed) instead of one collapsed line."""
        focused = self.labels and self.has_focus_within
        if focused != self._focused:
            self._focused, self._dirty = focused, True
        if self._header_dirty:
            self._header_dirty = False
            self.header.update(self._header(), layout=False)
        if self._dirty or streamed:
            self._dirty = False
            blocks: list[Block] = []
            marked = self.label_turn() if focused else None
            for turn in self._turns():
                live = turn.live
                blocks += turn_blocks(turn, stream_text(turn.round) if live else "", md, reasons,
                                      target=turn is marked, thoughts=thoughts,
                                      stream_reasoning=stream_reasoning(turn.round) if live and stream_reasoning
                                      else "", hint=self.reasoning_hint)
            self.view.set_blocks(blocks, follow=not self.pinned)

    def _turns(self) -> list[TurnModel]:
        if self.conv and self.conv.turns:
            return [self.conv.turns[r] for r in sorted(self.conv.turns)]
        if self.item is None:
            return []
        return [TurnModel(1, prompt=self.item.turns[0] if self.item.turns else "", state="pending")]

    def _header(self) -> Table:
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(Text.assemble((f"{self.index} ", "dim"), (visible(self.target), "bold")),
                     Text.assemble((self.total, "bold"), ("  " + self.rate if self.rate else "", "dim")))
        where = "pinned" if self.pinned else "following"
        status = f" · {self.conv.status}" if self.conv and self.conv.status != "running" else ""
        grid.add_row(Text.assemble(raw(self.item_id or "—"), " ", (self.sub_label, "dim"), status),
                     Text(where, style="italic dim"))
        return grid
