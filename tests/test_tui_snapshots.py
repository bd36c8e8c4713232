"""SVG snapshots of the screens that matter (pytest-textual-snapshot): fixed size, deterministic personas,
a fixed session name and dates, a frozen clock. Update with `pytest --snapshot-update` after checking them."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from engine_helpers import with_target
from test_tui_support import (
    SIZE,
    app_for,
    demo_session,
    finished,
    lanes_drawn,
    new_session,
    run_screen,
    wait_until,
    widget_text,
)

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


def fixed_timings(db: str, sid: int) -> None:
    """Every answer took 1.5 s with its first token at 0.25 s: the meters a snapshot shows don't vary."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE turn SET started_at = 100.0, first_token_at = 100.25, finished_at = 101.5"
                     " WHERE conversation_id IN (SELECT id FROM conversation WHERE session_id = ?)", (sid,))


async def finished_steady(pilot, screen, db: str) -> None:
    """The run's end drawn, its meters read again from the store with fixed timings."""
    await finished(pilot, screen)
    fixed_timings(db, screen.session_id)
    await screen.reload()
    await wait_until(pilot, lambda: all(m.latency and set(m.latency) == {1.5} and set(m.ttft) == {0.25}
                                        for m in screen.meters.by_target.values()), what="fixed meters")
    await wait_until(pilot, lambda: all("ttft 250ms" in widget_text(lane.header) or not lane.meters_shown
                                        for lane in screen.lanes.values()), what="the meters drawn")


def test_run_screen_finished(snap_compare, db_file, demo_server):
    sid, config = _session(db_file, demo_server, 4, "snapshot run")

    async def run_before(pilot) -> None:
        await finished_steady(pilot, await run_screen(pilot), db_file)

    assert snap_compare(app_for(db_file, sid, config), terminal_size=SIZE, run_before=run_before)


def test_run_screen_pinned_with_reasons(snap_compare, db_file, demo_server):
    sid, config = _session(db_file, demo_server, 4, "snapshot pinned")

    async def run_before(pilot) -> None:
        screen = await run_screen(pilot)
        await finished_steady(pilot, screen, db_file)
        await screen.pin(screen.st.order[1])
        await wait_until(pilot, lambda: lanes_drawn(screen), what="the pinned item")
        before = {t: lane.view.text for t, lane in screen.lanes.items()}
        await pilot.press("j")  # the judges' reasons
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
        await finished_steady(pilot, await run_screen(pilot), db_file)  # the lanes' meters behind it don't vary
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="the help screen")

    assert snap_compare(app_for(db_file, sid, config), terminal_size=(120, 40), run_before=run_before)


SIZES = ((80, 24), (160, 48), (240, 60))


@pytest.mark.parametrize("targets", [4, 6])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_screen_at_every_size(snap_compare, db_file, demo_server, size, targets):
    """The run screen at 80×24, 160×48 and 240×60 with 4 and 6 targets, its run finished: every lane on
    screen or said not to be, the scoreboard's summary rows and every target's column visible."""
    from engine_helpers import bank, config_for

    config = config_for(demo_server)
    for i in range(targets - 4):
        config = with_target(config, f"extra-{i + 1}", demo_server, ("demo-guardian", "demo-wobbly")[i % 2])
    sid = asyncio.run(new_session(db_file, config, bank(4), name=f"{targets} targets"))

    async def run_before(pilot) -> None:
        await finished_steady(pilot, await run_screen(pilot), db_file)

    assert snap_compare(app_for(db_file, sid, config), terminal_size=size, run_before=run_before)
