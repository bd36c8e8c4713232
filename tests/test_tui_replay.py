"""Replay: the run screen fed by the store's event stream. Same transcripts and scoreboard as the live run,
instant or paced, pausable, and no writes to the store."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from test_tui_support import (
    SIZE,
    app_for,
    demo_session,
    finished,
    lanes_drawn,
    run_screen,
    screen_text,
    wait_until,
)
from waiting import settle, until

from scsafety_tui.demo.server import DemoServer
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.replay import timed_events
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.replay_clock import ReplayClock
from scsafety_tui.tui.screens.replay import ReplayScreen
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.sources.stored import StoredSource, next_speed
from scsafety_tui.tui.widgets.navigator import Navigator
from scsafety_tui.tui.widgets.scoreboard import Scoreboard


def _board(screen) -> dict[tuple[str, str], str]:
    board = screen.query_one(Scoreboard)
    return {(row, t): board.get_cell(row, t).plain for row in board.score_rows for t in board.targets}


def _db_state(db: str) -> list[tuple[object, ...]]:
    """Row counts, text size and the session's status: what a write would change."""
    with sqlite3.connect(db) as conn:
        return [conn.execute(sql).fetchone() for sql in (
            "SELECT count(*), sum(length(content)) FROM turn", "SELECT count(*) FROM verdict",
            "SELECT count(*) FROM label", "SELECT group_concat(status) FROM conversation",
            "SELECT status, finished_at, name FROM session")]


async def _replay(pilot, sid: int, speed: float | None) -> ReplayScreen:
    pilot.app.open_replay(sid, speed)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ReplayScreen) and pilot.app.screen.state)
    screen = pilot.app.screen
    assert isinstance(screen, ReplayScreen)
    return screen


async def test_instant_replay_equals_the_live_run(db_file, demo_url):
    sid, config = await demo_session(db_file, demo_url, limit=4)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        live = await run_screen(pilot)
        await finished(pilot, live)
        live_board, live_glyphs = _board(live), dict(live.st.glyphs)
        assert any(v != "—" for v in live_board.values())
        before = _db_state(db_file)

        screen = await _replay(pilot, sid, None)
        await wait_until(pilot, lambda: screen.run_state == "replayed", what="the replay to end")
        # the replay's numbers come from its events (its end does not reload the store); scores are drawn at
        # 2 Hz, so wait for the next draw
        await wait_until(pilot, lambda: not screen.st.scores.dirty, what="the scoreboard")
        assert _board(screen) == live_board
        assert screen.st.glyphs == live_glyphs
        assert "replay instant" in screen_text(pilot)

        # every transcript: step through the items; each lane shows its stored conversation in full
        store = app.store
        await screen.pin(screen.st.order[0])
        for item in screen.st.order:
            assert screen.pinned == item
            await wait_until(pilot, lambda: lanes_drawn(screen), what="the lanes to draw the item")
            for target, lane in screen.lanes.items():
                tr = await queries.transcript(store, sid, item, target)
                assert tr is not None and tr.turns
                text = "".join(lane.view.text.split())  # wrapping splits lines at spaces
                for turn in tr.turns:
                    assert "".join(turn.content.split()) in text, (item, target, turn.round, turn.role)
                assert f"R2 {tr.turns[-1].verdicts[0].score} ·" in lane.view.text
            await pilot.press("n")
    assert _db_state(db_file) == before  # a replay never writes (labels aside)


async def test_paced_replay_pauses_and_changes_speed(db_file):
    server = DemoServer(first_token_delay=0.05, token_delay=0.004)
    url = await server.start()
    try:
        sid, config = await demo_session(db_file, url, limit=1, concurrency=1,
                                         personas=("demo-guardian", "demo-pushover"))
        app = app_for(db_file, sid, config)
        async with app.run_test(size=SIZE) as pilot:
            await finished(pilot, await run_screen(pilot))
    finally:
        await server.stop()
    store = await Store.open(db_file)
    try:
        timed = [t async for t, _ in timed_events(store, sid)]
    finally:
        await store.close()
    length = timed[-1]
    assert length > 0.5  # the session's own duration, which ×1 reproduces

    now = [0.0]  # session time moves only when the test says so: the app's clock and the replay's

    def clock() -> float:
        return now[0]

    app = ScSafetyApp(db=db_file, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        source = StoredSource(lambda: timed_events(app.store, sid), 1.0, now=clock)
        screen = RunScreen(sid, start=True, source=source)  # what ReplayScreen is, with the test's clock
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.run_state == "running", what="the replay to start")
        await wait_until(pilot, lambda: "replay ×1" in screen_text(pilot), what="the speed shown")
        now[0] += 0.2  # 0.2 s at ×1
        assert source.clock.position() == pytest.approx(0.2)
        await pilot.press("space")
        assert source.clock.paused and screen.run_state == "paused"
        now[0] += 5.0  # paused: the session does not move
        assert source.clock.position() == pytest.approx(0.2) and source.running
        assert screen.query_one(Navigator).glyphs_of(screen.st.order[0], "demo-pushover") != "20"
        await pilot.press("space", "greater_than_sign")
        assert source.clock.speed == 2.0 and not source.clock.paused
        await wait_until(pilot, lambda: "replay ×2" in screen_text(pilot), what="the new speed shown")
        now[0] += (length - 0.2) / 2  # the rest at ×2: the session's end
        await wait_until(pilot, lambda: screen.run_state == "replayed", what="the replay to end")
        # the replay took the session's length in session time: 0.2 s at ×1, the rest at ×2; elapsed stopped
        # for the pause (issue 13: elapsed is active time)
        assert screen.pace.elapsed(clock()) == pytest.approx(0.2 + (length - 0.2) / 2)
        assert screen.query_one(Navigator).glyphs_of(screen.st.order[0], "demo-pushover") == "20"


def test_replay_clock_speed_and_pause() -> None:
    now = [100.0]
    clock = ReplayClock(1.0, now=lambda: now[0])
    now[0] += 2
    assert clock.position() == pytest.approx(2.0)
    clock.set_speed(10.0)
    now[0] += 1
    assert clock.position() == pytest.approx(12.0)
    clock.pause()
    now[0] += 5
    assert clock.position() == pytest.approx(12.0)
    clock.resume()
    clock.set_speed(next_speed(clock.speed, 1))  # the > key: ×10 → instant
    assert clock.speed is None and clock.position() == float("inf")
    clock.set_speed(next_speed(clock.speed, 1))  # instant → ×1, from where the replay had got to
    assert clock.speed == 1.0
    assert clock.position() == pytest.approx(12.0)


async def test_replay_clock_releases_events_at_their_session_time() -> None:
    """The replay worker's path: each event of timed_events() waits on the clock; session time is driven
    by hand, so nothing depends on how fast the machine is."""
    now = [50.0]
    clock = ReplayClock(2.0, now=lambda: now[0])
    released: list[float] = []

    async def replay(times: list[float]) -> None:
        for t in times:
            await clock.wait_until(t)
            released.append(t)

    task = asyncio.create_task(replay([0.0, 0.2, 0.4]))
    await until(lambda: released == [0.0])
    await settle()  # the clock has not moved: 0.2 is not released
    assert released == [0.0]
    now[0] += 0.1  # 0.1 s at ×2 is 0.2 s of the session
    await until(lambda: released == [0.0, 0.2])
    clock.set_speed(None)  # instant: the rest at once
    await asyncio.wait_for(task, 10)
    assert released == [0.0, 0.2, 0.4]

