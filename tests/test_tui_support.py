"""Helpers for the TUI tests (no tests here): sessions against the demo server, waiting, reading the screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from engine_helpers import TAXONOMY, bank, config_for
from textual.pilot import Pilot

from scsafety_tui.config import Config
from scsafety_tui.engine.session import create_session
from scsafety_tui.questions import Item
from scsafety_tui.scoring import TargetScores, score_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.screens.run import RunScreen

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


async def wait_until(pilot: Pilot, cond: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(0.02)


async def run_screen(pilot: Pilot) -> RunScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunScreen) and pilot.app.screen.state,
                     what="the run screen")
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    return screen


async def finished(pilot: Pilot, screen: RunScreen, timeout: float = 20.0) -> None:
    await wait_until(pilot, lambda: screen.run_state in ("done", "cancelled", "failed", "interrupted")
                     and not screen.running, timeout, "the run to end")
    await pilot.pause(0.1)


def screen_text(pilot: Pilot) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


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
