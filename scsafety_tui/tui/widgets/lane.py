"""A lane: one target's view of one conversation, under a header with the target's scores and meters.

The header says, top to bottom: the target and its Total; its R1, R2 and Δ (the scoreboard's pair-level
numbers, coloured on the theme's heat scale); the item shown and whether the lane follows or is pinned;
and, where the terminal is tall enough, its live meters (tokens in/out, time to first token, latency p50,
retries, and a cost figure once one is known). Everything is cut to the lane's width on character
boundaries (Rich measures double-width CJK cells), never wrapped into the text below.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from scsafety_tui.questions import Item
from scsafety_tui.scoring import TargetScores, fmt
from scsafety_tui.tui.heat import delta_heat, heat
from scsafety_tui.tui.meters import TargetMeter, meter_parts
from scsafety_tui.tui.model import SCORED, ConvModel, TurnModel
from scsafety_tui.tui.text import raw, visible
from scsafety_tui.tui.widgets.conversation import Block, ConversationView, stop_block, turn_blocks

LANE_MIN = 20
"""Narrowest lane (4 lanes at 80 columns, 6 at 120): below it lanes scroll, and the status bar says which
lanes are on screen."""
NARROW = 30
"""Header width under which the header uses its short forms (a lane at 80 columns has 17)."""
METERS_MIN_HEIGHT = 30
"""Terminals at least this tall show each lane's meter line (at 80×24 the text needs the rows)."""


def fit_lanes(lanes: Sequence[Lane], available: int, height: int = 0) -> None:
    """Equal widths that fill `available`, or LANE_MIN each and a horizontal scroll when they don't fit
    (fr units inside a scrolling container would give every lane the whole width). height: the
    terminal's, to decide whether the meter line has room."""
    n = len(lanes)
    if not n or not available:
        return
    width = max(LANE_MIN, available // n)
    extra = available - width * n if width * n <= available else 0
    for i, lane in enumerate(lanes):
        lane.styles.width = width + (extra if i == n - 1 else 0)
        if height:
            lane.show_meters(height >= METERS_MIN_HEIGHT)


class Headline(NamedTuple):
    """What a lane header shows of its target's scores. Plain numbers, not the TargetScores: the header
    keeps them between updates, and a kept TargetScores (thousands of objects, new twice a second) would
    be promoted to the collector's oldest generation and make its full scans frequent and long."""

    total: float | None = None
    r1: float | None = None
    r2: float | None = None
    delta: float | None = None
    follow_ups: bool = True


def headline(ts: TargetScores | None) -> Headline:
    if ts is None:
        return Headline()
    return Headline(ts.total.score, ts.round(1), ts.round(2), ts.delta, ts.follow_ups)


def score_forms(ts: Headline) -> list[list[tuple[str, float | None, str]]]:
    """The R1/R2/Δ line's forms, longest first, as (label, value, text) pieces; the lane takes the first
    that fits its width. Every form keeps the labels: a bare number says nothing."""
    r1, r2, d = ts.r1, ts.r2, ts.delta
    if not ts.follow_ups:
        return [[("R1 ", r1, _num(r1, 2)), (" · no R2", None, "")], [("R1 ", r1, _num(r1, 1))]]
    forms = []
    for decimals, gap in ((2, "  "), (2, " "), (1, " "), (0, " ")):
        delta = "—" if d is None else f"{d:+.{decimals}f}"
        forms.append([("R1 ", r1, _num(r1, decimals)), (f"{gap}R2 ", r2, _num(r2, decimals)),
                      (f"{gap}Δ{' ' if gap == '  ' else ''}", d, delta)])
    return forms


def _num(score: float | None, decimals: int) -> str:
    return "—" if score is None else f"{score:.{decimals}f}"


def _pair(left: Text, right: Text) -> Table:
    """One header line: left text cut with an ellipsis (on a character boundary) before the right one."""
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True)
    grid.add_row(left, right)
    return grid


def _cut(text: Text) -> Text:
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _fit_parts(parts: Sequence[str], width: int, sep: str = " · ") -> str:
    """As many leading parts as fit in width (the meter line drops its least important figures)."""
    out = ""
    for part in parts:
        candidate = part if not out else out + sep + part
        if cell_len(candidate) > width:
            break
        out = candidate
    return out


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
        self.own = False
        """Following its own target's newest conversation instead of the item the lanes share."""
        self.total = "—"
        self.rate = ""
        self.scores: Headline | None = None
        """The target's scores (set_scores): the R1/R2/Δ line is shown once they are set."""
        self.meter: TargetMeter | None = None
        self._meter_text = ""
        self._meters_shown = False
        self._width = 0
        self.fresh = True
        """It shows a conversation it has not drawn yet (a whole text to lay out, not a few new lines)."""
        self.drawn: tuple[str | None, str] = (None, "")
        """(item id, "following" | "following own" | "pinned") as the header last drew them."""
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
        self.label_round: int | None = None
        """The round the label keys apply to ([ and ] pick it); None: the latest scored answer."""
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
            if item is not self.item:
                self.label_round = None
        self.want_switch = False
        self.fresh = self.fresh or conv is not self.conv or item is not self.item
        self.item, self.conv, self.sub_label = item, conv, sub_label
        self._dirty = self._header_dirty = True

    def touch(self) -> None:
        self._dirty = True

    def set_header(self, total: str | None = None, rate: str | None = None) -> None:
        if total is not None and total != self.total:
            self.total, self._header_dirty = total, True
        if rate is not None and rate != self.rate:
            self.rate, self._header_dirty = rate, True

    def redraw_header(self) -> None:
        """Draw the header again at the next flush (what it says about following changed)."""
        self._header_dirty = True

    def set_scores(self, ts: TargetScores | None) -> None:
        """The target's pair-level scores (Total, R1, R2, Δ), as the scoreboard has them."""
        line = headline(ts)
        if line != self.scores:
            self.scores, self.total, self._header_dirty = line, fmt(line.total), True
            self._fit_header()

    def set_meter(self, meter: TargetMeter) -> None:
        first, self.meter = self.meter is None, meter
        if first:
            self._fit_header()
        text = " · ".join(meter_parts(meter))
        if text != self._meter_text:
            self._meter_text, self._header_dirty = text, True

    @property
    def meters_shown(self) -> bool:
        """The header has a meter line (a terminal tall enough)."""
        return self._meters_shown

    def show_meters(self, shown: bool) -> None:
        if shown != self._meters_shown:
            self._meters_shown, self._header_dirty = shown, True
            self._fit_header()

    def _fit_header(self) -> None:
        lines = 2 + (self.scores is not None) + (self._meters_shown and self.meter is not None)
        if self.header.styles.height is None or self.header.styles.height.value != lines:
            self.header.styles.height = lines

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self._width, self._header_dirty = self.size.width, True

    def label_turns(self) -> list[TurnModel]:
        """The answers a label can be given (scored, or judged with every judge failing)."""
        return [t for t in self._turns() if t.state == SCORED]

    def label_turn(self) -> TurnModel | None:
        """The answer the label keys apply to: the round [ and ] picked, else the latest scored one."""
        scored = self.label_turns()
        picked = next((t for t in scored if t.round == self.label_round), None)
        return picked or (scored[-1] if scored else None)

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
            self._dirty = self.fresh = False
            blocks: list[Block] = []
            marked = self.label_turn() if focused else None
            for turn in self._turns():
                live = turn.live
                blocks += turn_blocks(turn, stream_text(turn.round) if live else "", md, reasons,
                                      target=turn is marked, thoughts=thoughts,
                                      stream_reasoning=stream_reasoning(turn.round) if live and stream_reasoning
                                      else "", hint=self.reasoning_hint)
            if self.conv is not None and self.conv.stop:
                blocks.append(stop_block(self.conv.stop))
            self.view.set_blocks(blocks, follow=not self.pinned)

    def _turns(self) -> list[TurnModel]:
        if self.conv and self.conv.turns:
            return [self.conv.turns[r] for r in sorted(self.conv.turns)]
        if self.item is None:
            return []
        return [TurnModel(1, prompt=self.item.turns[0] if self.item.turns else "", state="pending")]

    def _header(self) -> Group:
        """One line each (a line's right column never squeezes the next line's text): the target and its
        Total; R1, R2, Δ; the item and whether the lane follows or is pinned; the meters."""
        width = max(1, self.header.content_size.width or (self.size.width or self._width) - 3)
        narrow = width < NARROW
        total = Text(self.total, style=heat(self.app, self.scores.total) if self.scores else "bold")
        if self.scores is not None:
            total = Text.assemble(("Σ ", "dim"), total)
        rate = " · " + self.rate if self.rate and width >= 34 else ""
        name = Text.assemble((f"{self.index} ", "dim"), (visible(self.target), "bold"))
        fits = cell_len(name.plain) + 1 + cell_len(total.plain) <= width
        lines: list[RenderableType] = [_pair(name, Text.assemble(total, (rate, "dim")) if fits or not narrow
                                              else Text(""))]
        if self.scores is not None:
            lines.append(_cut(self._score_text(self.scores, width)))
        where = "pinned" if self.pinned else "following own" if self.own else "following"
        # narrow: the item id needs the room; following is the default (the status bar says it)
        shown_where = {"following own": "own", "following": "", "pinned": "pin"}[where] if narrow else where
        status = f" · {self.conv.status}" if self.conv and self.conv.status != "running" else ""
        lines.append(_pair(Text.assemble(raw(self.item_id or "—"), " ", (self.sub_label, "dim"), status),
                           Text(" " + shown_where if shown_where else "", style="italic dim")))
        if self._meters_shown and self.meter is not None:
            parts = meter_parts(self.meter, short=narrow)
            lines.append(_cut(Text(_fit_parts(parts, width, " " if narrow else " · "), style="dim")))
        self.drawn = (self.item_id, where)
        return Group(*lines)

    def _score_text(self, ts: Headline, width: int) -> Text:
        forms = score_forms(ts)
        form = next((f for f in forms if cell_len("".join(a + b for a, _, b in f)) <= width), forms[-1])
        text = Text()
        for i, (label, value, shown) in enumerate(form):
            text.append(label, style="dim")
            is_delta = ts.follow_ups and i == 2
            text.append(shown, style=delta_heat(self.app, value) if is_delta else heat(self.app, value))
        return text
