"""Stored conversations side by side, read-only: an answer from a list, or the two sides of a comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header

from scsafety_tui.store import queries
from scsafety_tui.tui import keymap
from scsafety_tui.tui.model import from_transcript
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.text import visible
from scsafety_tui.tui.widgets.lane import Lane

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp


@dataclass(frozen=True)
class Pane:
    label: str  # shown in the lane header, e.g. "A" or "session 3"
    session_id: int
    item_id: str
    target: str


class TranscriptScreen(WorkerScreen):
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "back", "toggle_markdown",
                                                            "toggle_thinking")
    HELP_TITLE = "Transcript"
    app: ScSafetyApp

    def __init__(self, panes: list[Pane], title: str = "") -> None:
        super().__init__()
        self.panes = panes
        self.heading = title
        self.lanes = [Lane(p.label, p.target) for p in panes]
        self.markdown = False
        self.thoughts = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="transcripts"):
            yield from self.lanes
        yield Footer()

    async def on_mount(self) -> None:
        self.title = visible(self.heading or f"{self.panes[0].item_id} · {self.panes[0].target}")
        for pane, lane in zip(self.panes, self.lanes, strict=True):
            store = self.app.store
            items = {it.id: it for it in await queries.items(store, pane.session_id)}
            tr = await queries.transcript(store, pane.session_id, pane.item_id, pane.target)
            item = items.get(pane.item_id)
            if item is None:
                continue
            lane.pinned, lane.labels = True, False
            lane.show(item, from_transcript(tr, pane.item_id, pane.target), item.sub_dimension)
            lane.set_header(total=f"session {pane.session_id}")
        self._draw()

    def _draw(self) -> None:
        for lane in self.lanes:
            lane.touch()
            lane.flush(lambda rnd: "", self.markdown, True, False, self.thoughts)

    def action_back(self) -> None:
        self.dismiss()

    def action_toggle_markdown(self) -> None:
        self.markdown = not self.markdown
        self._draw()

    def action_toggle_thinking(self) -> None:
        self.thoughts = not self.thoughts
        self._draw()
