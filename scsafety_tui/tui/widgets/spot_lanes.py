"""The spot screen's lanes: the run screen's Lane widgets, one per target, sharing the width."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from textual.app import ComposeResult
from textual.containers import HorizontalScroll
from textual.widgets import Static

from scsafety_tui.questions import Item
from scsafety_tui.tui.bridge import EventBridge
from scsafety_tui.tui.model import ConvModel
from scsafety_tui.tui.widgets.lane import Lane, fit_lanes

HINT = ("Type a prompt (and, if you like, a follow-up), check the targets and press ctrl+r: the answers "
        "stream here side by side, each with its verdict. Every check is saved; the history re-opens it.")


class SpotLanes(HorizontalScroll):
    def __init__(self) -> None:
        super().__init__(id="spot-lanes")
        self.lanes: dict[str, Lane] = {}

    def compose(self) -> ComposeResult:
        yield Static(HINT, id="spot-hint")

    async def setup(self, item: Item, targets: Sequence[str], sub_label: str, *, pinned: bool) -> None:
        """One fresh lane per target, showing the item's question until its conversation starts.
        pinned: a stored check is read from the top; a live one follows the text as it streams."""
        await self.remove_children()
        self.lanes = {t: Lane(i, t) for i, t in enumerate(targets, 1)}
        await self.mount_all(self.lanes.values())
        for lane in self.lanes.values():
            lane.pinned = pinned
            lane.reasoning_hint = ""  # the spot screen's keys go to its form: reasoning stays one line here
            lane.show(item, None, sub_label)
        self._fit_lanes()

    def show(self, target: str, conv: ConvModel) -> None:
        lane = self.lanes.get(target)
        if lane is not None and lane.item is not None:
            lane.show(lane.item, conv, lane.sub_label)

    def touch(self, target: str) -> None:
        lane = self.lanes.get(target)
        if lane is not None:
            lane.touch()

    def flush(self, bridge: EventBridge | None, markdown: bool, reasons: bool) -> None:
        """Draw what changed; streaming text comes from the bridge's buffers."""
        dirty = bridge.dirty if bridge is not None else set()
        for target, lane in self.lanes.items():
            key = (lane.item_id or "", target)
            streamed = key in dirty
            dirty.discard(key)
            text: Callable[[int], str] = partial(bridge.text, key) if bridge is not None else _nothing
            reasoning: Callable[[int], str] = partial(bridge.reasoning, key) if bridge is not None else _nothing
            lane.flush(text, markdown, reasons, streamed, stream_reasoning=reasoning)

    def on_resize(self) -> None:
        self._fit_lanes()

    def _fit_lanes(self) -> None:
        fit_lanes(list(self.lanes.values()), self.size.width)


def _nothing(_round: int) -> str:
    return ""
