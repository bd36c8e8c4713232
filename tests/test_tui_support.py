"""Helpers for the TUI tests (no tests here): sessions against the demo server, waiting, reading the screen."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from engine_helpers import TAXONOMY, bank, config_for
from rich.cells import cell_len
from textual.geometry import Region
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widget import Widget

from scsafety_tui.config import Config
from scsafety_tui.engine.session import create_session
from scsafety_tui.questions import Item
from scsafety_tui.scoring import TargetScores, score_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.model import JUDGING, SCORED
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.widgets.lane import Lane

SIZE = (160, 48)


def frozen() -> float:
    return 1000.0


async def new_session(db: str, config: Config, items: Sequence[Item], name: str = "tui-test") -> int:
    store = await Store.open(db)
    try:
        return await create_session(store, config, TAXONOMY, list(items), name=name)
    finally:
        await store.close()


async def demo_session(db: str, url: str, limit: int = 4, *, personas: tuple[str, ...] | None = None,
                       items: Sequence[Item] | None = None, name: str = "tui-test",
                       concurrency: int | None = None) -> tuple[int, Config]:
    config = config_for(url, personas)
    if concurrency is not None:
        config = replace(config, targets=tuple(replace(t, concurrency=concurrency) for t in config.targets))
    sid = await new_session(db, config, items if items is not None else bank(limit), name)
    return sid, config


def app_for(db: str, sid: int | None, config: Config | None = None, *, start: bool = True) -> ScSafetyApp:
    return ScSafetyApp(db=db, session_id=sid, start=start, run_config=config, clock=frozen)


POLL_S = 0.02


async def wait_until(pilot: Pilot, cond: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """The one poll loop of the TUI tests: on state, with a timeout generous enough for a loaded machine."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(POLL_S)


async def settle(pilot: Pilot, turns: int = 5) -> None:
    """Let every pending message and task run a few steps (a pause with no delay only yields): for
    asserting that something did not happen."""
    for _ in range(turns):
        await pilot.pause()


class Notes:
    """The app's notifications, as the message hook sees them: `app.run_test(message_hook=notes)`."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.messages.append(message.notification.message)

    def seen(self, text: str) -> bool:
        return any(text in m for m in self.messages)


async def run_screen(pilot: Pilot) -> RunScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunScreen) and pilot.app.screen.state,
                     what="the run screen")
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    return screen


def widget_text(widget: Widget) -> str:
    """What a widget draws now, as plain text (public Widget.render_lines)."""
    width, height = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def lane_shows_its_end(lane: Lane) -> bool:
    """A lane's text shows its conversation's final state: nothing streaming or judging, every verdict drawn."""
    conv, text = lane.conv, lane.view.text
    if conv is None or "▍" in text or "… judging" in text:
        return False
    for t in conv.turns.values():
        if t.live or t.state == JUDGING:
            return False
        if t.state == SCORED and t.human is None and f"R{t.round} {'?' if t.score is None else t.score} ·" not in text:
            return False
    return True


def lanes_drawn(screen: RunScreen) -> bool:
    """Every lane has drawn its latest state: its header was drawn for its item, pinned or following (a
    lane draws header and text in one flush, so a pin or a follow has reached the text too). The lane's
    record of what it drew, not the header's text: a narrow lane (80 columns) cuts the item id short."""
    for lane in screen.lanes.values():
        item, where = lane.drawn
        if item != lane.item_id or where.split()[0] != ("pinned" if lane.pinned else "following"):
            return False
    return True


async def finished(pilot: Pilot, screen: RunScreen, timeout: float = 30.0) -> None:
    """The run has ended and the screen shows its end: the end-of-run pin included."""
    await wait_until(pilot, lambda: screen.run_state in ("done", "cancelled", "failed", "interrupted")
                     and not screen.running, timeout, "the run to end")
    await wait_until(pilot, lambda: lanes_drawn(screen), timeout, "the lanes to draw the run's end")


_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                       r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>')
_CELL = 12.2
"""The width of one terminal cell in Rich's SVG export (font size 20 × 0.61)."""


def screen_text(pilot: Pilot) -> str:
    """What the terminal shows, as plain text: read back from the public SVG screenshot."""
    lines: dict[int, list[str]] = {}
    ends: dict[int, int] = {}
    for x, n, raw in _SVG_TEXT.findall(pilot.app.export_screenshot()):
        text = html.unescape(raw).replace("\xa0", " ").replace("\n", "")
        row, col = int(n), round(float(x) / _CELL)  # x counts cells; the text may hold wide characters
        lines.setdefault(row, []).append(" " * max(0, col - ends.get(row, 0)) + text)
        ends[row] = col + cell_len(text)
    return "\n".join("".join(lines.get(i, [])) for i in range(max(lines, default=-1) + 1))


async def store_scores(db: str, sid: int) -> dict[str, TargetScores]:
    store = await Store.open(db)
    try:
        return score_answers(await queries.answer_rows(store, sid))
    finally:
        await store.close()


async def session_summary(db: str, sid: int) -> queries.SessionSummary:
    store = await Store.open(db)
    try:
        return next(s for s in await queries.list_sessions(store) if s.id == sid)
    finally:
        await store.close()


def run(coro_fn: Callable[[], object]) -> object:
    """Run a coroutine from a sync (snapshot) test."""
    return asyncio.run(coro_fn())  # type: ignore[arg-type]
