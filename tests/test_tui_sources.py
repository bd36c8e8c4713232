"""The run screen's event sources (tui/sources/): one screen class drawn by a live run and by a stored one
gives the same final lanes and scoreboard, and both sources obey start / pause / resume / cancel / speed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from engine_helpers import bank, config_for, with_target
from test_tui_support import (
    SIZE,
    Notes,
    app_for,
    demo_session,
    finished,
    new_session,
    store_scores,
    wait_until,
)
from textual.app import App

from scsafety_tui.engine.session import prepare
from scsafety_tui.events import ConversationFinished, ConversationStarted, Event, SessionFinished, TurnStarted
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.replay import Timed, timed_events
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.sources.live import LiveSource
from scsafety_tui.tui.sources.stored import StoredSource, next_speed
from scsafety_tui.tui.widgets.scoreboard import Scoreboard, row_text


class RecorderSink:
    """A Sink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.statuses: list[str] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def ended(self, status: str) -> None:
        self.statuses.append(status)


async def host_in(pilot) -> WorkerScreen:
    """A screen to own a source's worker: its one Worker.StateChanged handler hears of errors."""
    host = WorkerScreen()
    await pilot.app.push_screen(host)
    return host


def _board(screen: RunScreen) -> dict[tuple[str, str], str]:
    board = screen.query_one(Scoreboard)
    return {(row, t): board.get_cell(row, t).plain for row in board.score_rows for t in board.targets}


def _lanes(screen: RunScreen) -> dict[str, tuple[str | None, str]]:
    return {t: (lane.item_id, lane.view.text) for t, lane in screen.lanes.items()}


async def test_one_screen_live_or_stored_ends_with_the_same_lanes_and_scoreboard(db_file, demo_url):
    sid, config = await demo_session(db_file, demo_url, limit=4)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.state, what="the run")
        live = app.screen
        assert isinstance(live.source, LiveSource)
        await finished(pilot, live)
        await wait_until(pilot, lambda: all(lane.item_id == live.st.order[-1] for lane in live.lanes.values()),
                         what="the last item in every lane")
        board, glyphs, lanes = _board(live), dict(live.st.glyphs), _lanes(live)
        assert any(v != "—" for v in board.values())

        # the same class, handed the stored session instead of a live run
        stored = StoredSource(lambda: timed_events(app.store, sid), None)
        screen = RunScreen(sid, source=stored)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.run_state == "replayed", what="the replay to end")
        await wait_until(pilot, lambda: not screen.st.scores.dirty, what="the scoreboard")
        assert type(screen) is RunScreen and screen.source is stored and not stored.running
        assert _board(screen) == board and screen.st.glyphs == glyphs
        await wait_until(pilot, lambda: _lanes(screen) == lanes, what="the same lanes")

    scores = await store_scores(db_file, sid)  # and both are what the store holds
    for target, ts in scores.items():
        assert board[("total", target)] == row_text("total", ts)


async def test_stored_source_pauses_resumes_changes_speed_and_starts_again():
    now = [100.0]
    timed: list[Timed] = [(0.0, ConversationStarted("a", "x")), (1.0, TurnStarted("a", "x", 1, "q")),
                          (2.0, ConversationFinished("a", "x", "done")), (3.0, SessionFinished(1, "done"))]

    async def stream() -> AsyncIterator[Timed]:
        for te in timed:
            yield te

    source = StoredSource(stream, 1.0, now=lambda: now[0])
    sink = RecorderSink()
    assert source.can_speed and not source.can_retry and not source.writes
    async with App().run_test() as pilot:
        source.attach(await host_in(pilot), sink)
        with pytest.raises(ValueError):
            source.start(retry_errors=True)
        source.start()
        await wait_until(pilot, lambda: len(sink.events) == 1, what="the first event, at once")
        assert source.running and source.ready and source.label == "replay ×1"

        source.pause()
        now[0] += 10  # paused: session time stands still
        assert source.paused and source.clock.position() == pytest.approx(0.0)
        source.resume()
        assert not source.paused and source.clock.position() == pytest.approx(0.0)
        now[0] += 1
        await wait_until(pilot, lambda: len(sink.events) == 2, what="the event at 1 s")

        source.set_speed(next_speed(source.speed, 1))  # ×1 → ×2
        assert source.speed == 2.0 and source.label == "replay ×2"
        now[0] += 0.5  # half a second at ×2 is one session second
        await wait_until(pilot, lambda: len(sink.events) == 3, what="the event at 2 s")
        source.set_speed(None)
        await wait_until(pilot, lambda: sink.statuses == ["done"], what="the end, at instant speed")
        assert sink.events == [e for _, e in timed] and source.label == "replay instant"
        await wait_until(pilot, lambda: not source.running, what="the worker to finish")

        source.start()  # from the first event again, at the speed it had
        await wait_until(pilot, lambda: sink.statuses == ["done", "done"], what="the second replay")
        assert sink.events == [e for _, e in timed] * 2


async def test_stored_source_cancel_and_failure():
    async def stalled() -> AsyncIterator[Timed]:
        yield 0.0, ConversationStarted("a", "x")
        yield 3600.0, SessionFinished(1, "done")  # an hour later, at ×1

    async def broken() -> AsyncIterator[Timed]:
        yield 0.0, ConversationStarted("a", "x")
        raise RuntimeError("the stored stream broke")

    sink, notes = RecorderSink(), Notes()
    async with App().run_test(message_hook=notes) as pilot:
        host = await host_in(pilot)
        source = StoredSource(stalled, 1.0)
        source.attach(host, sink)
        source.cancel()  # nothing started: nothing to do
        source.start()
        await wait_until(pilot, lambda: sink.events, what="the first event")
        source.cancel()
        await wait_until(pilot, lambda: sink.statuses == ["cancelled"] and not source.running, what="the cancel")
        assert len(sink.events) == 1 and notes.messages == []  # a cancel is not an error

        failing = StoredSource(broken, None, description="Replay")
        failing.attach(host, sink)
        failing.start()
        await wait_until(pilot, lambda: sink.statuses[-1:] == ["failed"] and notes.messages, what="the failure")
        assert notes.messages == ["Replay failed: the stored stream broke"]  # the screen's one error handler


async def test_live_source_pause_resume_cancel_interrupt_and_no_speed(db_file, demo_url):
    config = with_target(config_for(demo_url, ("demo-guardian",)), "stuck", demo_url, "demo-wobbly+hang")
    sid = await new_session(db_file, config, bank(2))

    async def plan(store: Store, emit, retry_errors: bool):
        return await prepare(store, sid, emit, config=config, retry_errors=retry_errors)

    source = LiveSource(lambda: Store.open(db_file), plan)
    sink = RecorderSink()
    assert source.can_retry and source.writes and not source.can_speed
    source.set_speed(10.0)  # not supported: nothing happens, and the screen offers no speed keys
    assert source.speed == 1.0 and source.label == ""
    async with App().run_test() as pilot:
        source.attach(await host_in(pilot), sink)
        assert not source.ready and not source.paused
        source.pause()  # before the run is prepared: nothing to pause
        assert not source.paused

        source.start()
        await wait_until(pilot, lambda: source.ready and any(isinstance(e, TurnStarted) for e in sink.events),
                         what="a turn")
        runner = source.runner
        assert runner is not None and source.running
        source.pause()
        assert source.paused and runner.paused
        source.resume()
        assert not source.paused and not runner.paused
        source.cancel()  # the hanging target never finishes: only a cancel ends this run
        await wait_until(pilot, lambda: sink.statuses == ["cancelled"] and not source.running, what="the cancel")
        assert source.runner is None and isinstance(sink.events[-1], SessionFinished)
        store = await Store.open(db_file)
        try:
            assert (await queries.stored_session(store, sid)).status == "cancelled"
        finally:
            await store.close()

        source.start()  # resume, then leave: the session stays interrupted, not cancelled
        await wait_until(pilot, lambda: source.ready, what="the resumed run")
        source.cancel(interrupt=True)
        await wait_until(pilot, lambda: sink.statuses == ["cancelled", "interrupted"], what="the stop")
    store = await Store.open(db_file)
    try:
        assert (await queries.stored_session(store, sid)).status == "interrupted"
    finally:
        await store.close()


async def test_speed_keys_only_where_the_source_has_a_speed(db_file, demo_url):
    sid, config = await demo_session(db_file, demo_url, limit=1)
    app = app_for(db_file, sid, config, start=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.state, what="the screen")
        live = app.screen
        assert "greater_than_sign" not in live.active_bindings and "less_than_sign" not in live.active_bindings
        await pilot.press("greater_than_sign")  # nothing happens
        assert live.source.speed == 1.0 and "replay" not in live.status_mode()

        app.open_replay(sid, 1.0)
        await wait_until(pilot, lambda: app.screen is not live and getattr(app.screen, "state", None),
                         what="the replay")
        replay = app.screen
        assert "greater_than_sign" in replay.active_bindings and "less_than_sign" in replay.active_bindings
        await pilot.press("less_than_sign")  # ×1 → instant, wrapping round
        assert replay.source.speed is None and replay.status_mode() == "replay instant"
