"""SVG snapshots of the screens that matter (pytest-textual-snapshot): fixed size, deterministic personas,
a fixed session name and dates, a frozen clock. Update with `pytest --snapshot-update` after checking them."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from test_tui_support import SIZE, app_for, demo_session, finished, lanes_drawn, run_screen, wait_until

from scsafety_tui.config import Config
from scsafety_tui.demo.launch import DemoServerThread
from scsafety_tui.tui.screens.help import HelpScreen


@pytest.fixture(scope="module")
def demo_server():
    with DemoServerThread(first_token_delay=0.0, token_delay=0.0) as server:
        yield server.url


def _session(db: str, url: str, limit: int, name: str) -> tuple[int, Config]:
    sid, config = asyncio.run(demo_session(db, url, limit=limit, name=name))
    with sqlite3.connect(db) as conn:  # fixed dates, for the home screen
        conn.execute("UPDATE session SET created_at = ? WHERE id = ?", (1_767_225_600 + 3600 * sid, sid))
    return sid, config


def test_run_screen_finished(snap_compare, db_file, demo_server):
    sid, config = _session(db_file, demo_server, 4, "snapshot run")

    async def run_before(pilot) -> None:
        await finished(pilot, await run_screen(pilot))

    assert snap_compare(app_for(db_file, sid, config), terminal_size=SIZE, run_before=run_before)


def test_run_screen_pinned_with_reasons(snap_compare, db_file, demo_server):
    sid, config = _session(db_file, demo_server, 4, "snapshot pinned")

    async def run_before(pilot) -> None:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        await screen.pin(screen.st.order[1])
        await wait_until(pilot, lambda: lanes_drawn(screen), what="the pinned item")
        before = {t: lane.view.text for t, lane in screen.lanes.items()}
        await pilot.press("v")
        await wait_until(pilot, lambda: all(lane.view.text != before[t] for t, lane in screen.lanes.items()),
                         what="the judges' reasons in every lane")

    assert snap_compare(app_for(db_file, sid, config), terminal_size=SIZE, run_before=run_before)


def test_home_screen(snap_compare, db_file, demo_server):
    _session(db_file, demo_server, 1, "first session")
    _session(db_file, demo_server, 2, "second session")
    assert snap_compare(app_for(db_file, None), terminal_size=(120, 24))


def test_help_screen(snap_compare, db_file, demo_server):
    sid, config = _session(db_file, demo_server, 1, "snapshot help")

    async def run_before(pilot) -> None:
        await finished(pilot, await run_screen(pilot))
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="the help screen")

    assert snap_compare(app_for(db_file, sid, config), terminal_size=(120, 40), run_before=run_before)
