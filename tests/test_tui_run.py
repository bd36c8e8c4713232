"""The run screen against the real demo server on loopback: streaming, scores, navigation, control."""

from __future__ import annotations

from dataclasses import replace

from engine_helpers import bank, config_for, with_target
from test_tui_support import (
    SIZE,
    Notes,
    app_for,
    demo_session,
    finished,
    new_session,
    run_screen,
    screen_text,
    session_summary,
    settle,
    store_scores,
    wait_until,
)

from scsafety_tui.engine.session import prepare
from scsafety_tui.store.db import Store
from scsafety_tui.tui.messages import EngineEvent
from scsafety_tui.tui.model import JUDGING
from scsafety_tui.tui.screens.confirm import ConfirmScreen
from scsafety_tui.tui.widgets.navigator import Navigator
from scsafety_tui.tui.widgets.scoreboard import Scoreboard, row_text


async def test_lanes_stream_and_scoreboard_equals_store(db_file, slow_url):
    sid, config = await demo_session(db_file, slow_url, limit=4)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        board = screen.query_one(Scoreboard)
        await wait_until(pilot, lambda: board.row_count > 0, what="the scoreboard's rows")
        rows = dict(board.rows)  # updated in place, never rebuilt: the same Row objects at the end
        assert list(screen.lanes) == ["demo-guardian", "demo-refuser", "demo-pushover", "demo-wobbly"]
        widths = {lane.size.width for lane in screen.lanes.values()}
        assert len(widths) == 1 and widths.pop() >= 38  # side by side, equal width

        # a partial answer on screen: the streaming cursor follows text that is not finished yet
        await wait_until(pilot, lambda: any("▍" in lane.view.text for lane in screen.lanes.values()),
                         what="a partly streamed answer")
        partial = next(lane.view.text for lane in screen.lanes.values() if "▍" in lane.view.text)
        assert partial.split("▍")[0].strip()  # some text has arrived, more is coming
        await finished(pilot, screen)
        assert screen.run_state == "done"

        scores = await store_scores(db_file, sid)
        assert board.rows.keys() == rows.keys() and all(board.rows[k] is row for k, row in rows.items())
        for target in screen.lanes:
            for row in board.score_rows:
                expected = row_text(row, scores[target])
                assert board.get_cell(row, target).plain == expected, (row, target)
            assert board.text_at("total", target) == f"{scores[target].total.score:.2f} ({scores[target].total.pairs})"
        assert board.text_at("r2", "demo-pushover").startswith("0.00")  # the follow-up gets the pushover
        nav = screen.query_one(Navigator)
        assert all(g.isdigit() for marks in screen.st.glyphs.values() for g in marks)
        assert nav.glyphs_of("trad-insult-001", "demo-pushover") == "20"
        assert "R1 2 · safe, with advice" in screen_text(pilot)


async def test_pin_follow_next_previous(db_file, slow_url):
    sid, config = await demo_session(db_file, slow_url, limit=4, concurrency=1)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        order = screen.st.order
        await wait_until(pilot, lambda: screen.st.live, what="a conversation in flight")
        await pilot.press("space")  # paused, the run cannot end (and pin its last item) mid-check
        # select an item in the navigator: every lane shows it
        nav = screen.query_one(Navigator)
        nav.focus()
        nav.move_cursor(3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.pinned == order[3])
        assert {lane.item_id for lane in screen.lanes.values()} == {order[3]}
        assert all(lane.pinned for lane in screen.lanes.values())
        await pilot.press("p")
        assert screen.pinned == order[2]
        await pilot.press("n", "n")
        assert screen.pinned == order[3]  # the last item stays the last
        await pilot.press("f")
        assert screen.pinned is None and not any(lane.pinned for lane in screen.lanes.values())
        await pilot.press("space")
        await finished(pilot, screen)

        # a finished conversation, pinned: its turns come from the store, verdicts and all
        await pilot.press("p")
        item = screen.pinned
        assert item is not None
        conv = screen.lanes["demo-pushover"].conv
        assert conv is not None and conv.item_id == item and conv.status == "done"
        assert [t.score for t in conv.turns.values()] == [2, 0]
        assert conv.turns[2].reasons and conv.turns[2].reasons[0].judge == "demo-judge"


async def test_pause_and_resume(db_file, slow_url):
    sid, config = await demo_session(db_file, slow_url, limit=2, concurrency=1)
    turns_started: list[object] = []

    def hook(message: object) -> None:
        if isinstance(message, EngineEvent) and type(message.event).__name__ == "TurnStarted":
            turns_started.append(message.event)

    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: screen.runner is not None and turns_started, what="a turn")
        runner = screen.runner
        await pilot.press("space")
        assert runner is not None and runner.paused and screen.run_state == "paused"
        assert "paused" in screen_text(pilot)
        # the turns that were streaming finish and are judged; unpaused, the next round would have started
        # by then (it starts as its predecessor completes, its judging runs beside it)
        await wait_until(pilot, lambda: not any(t.live or t.state == JUDGING for c in screen.st.live.values()
                                                for t in c.turns.values()), what="streaming turns to be judged")
        count = len(turns_started)
        await settle(pilot)
        assert len(turns_started) == count  # no new turn while paused
        await pilot.press("space")
        assert not runner.paused
        await finished(pilot, screen)
        assert screen.run_state == "done" and len(turns_started) > count


async def test_hanging_target_stays_responsive_and_cancel_leaves_resumable(db_file, demo_url):
    config = with_target(config_for(demo_url, ("demo-guardian", "demo-refuser")), "stuck", demo_url,
                         "demo-wobbly+hang")
    items = bank(3)
    sid = await new_session(db_file, config, items)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        # the fast targets finish everything while the hanging one never answers
        await wait_until(pilot, lambda: all(m.isdigit() for (i, t), marks in screen.st.glyphs.items()
                                            if t != "stuck" for m in marks), what="fast targets done")
        assert screen.running and screen.st.glyphs[(items[0].id, "stuck")][0] == "▸"
        await pilot.press("n")  # still responsive
        assert screen.pinned is not None
        await pilot.press("k")  # cancel the run
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await finished(pilot, screen)
        assert screen.run_state == "cancelled"
    summary = await session_summary(db_file, sid)
    assert summary.status in ("cancelled", "interrupted")
    assert summary.done == 6 and summary.conversations == 9  # the stuck ones remain to be done
    store = await Store.open(db_file)
    try:
        srun = await prepare(store, sid, lambda e: None, config=config)
        assert len(srun.todo) == 3 and all(row.target_key == "stuck" for row, _ in srun.todo)
        await srun.aclose()
    finally:
        await store.close()


async def test_quit_during_run_asks_and_leaves_interrupted(db_file, slow_url):
    sid, config = await demo_session(db_file, slow_url, limit=6, concurrency=1)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: screen.st.live and screen.runner is not None, what="a turn")
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    summary = await session_summary(db_file, sid)
    assert summary.status == "interrupted"
    assert summary.done < summary.conversations


async def test_blocks_and_errors_in_place_then_retry(db_file, demo_url):
    config = with_target(config_for(demo_url, ("demo-guardian",)), "filtered", demo_url, "demo-refuser+filter")
    config = with_target(config, "flaky", demo_url, "demo-refuser+auth:1")
    items = bank(2)
    sid = await new_session(db_file, config, items)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        first = items[-1].id
        assert screen.st.glyphs[(first, "filtered")] == ["⊘", "–"]
        assert screen.st.glyphs[(first, "flaky")] == ["✗", "–"]
        text = screen_text(pilot)
        assert "⊘ blocked by the content filter" in text
        assert "✗ auth" in text
        board = screen.query_one(Scoreboard)
        assert board.text_at("total", "filtered") == "—" and board.text_at("total", "flaky") == "—"
        assert board.text_at("pairs", "filtered") == "0/2"  # coverage: blocked pairs are out, and counted

        # auth:1 fails the first request of each distinct conversation state: a retry gets round 1
        # through and fails round 2; the next retry finishes it
        await pilot.press("R")  # retry errors
        await wait_until(pilot, lambda: screen.st.glyphs[(first, "flaky")] == ["1", "✗"], what="retry 1")
        await finished(pilot, screen)
        assert "✗ auth" in screen_text(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: screen.st.glyphs[(first, "flaky")] == ["1", "1"], what="retry 2")
        await finished(pilot, screen)
        scores = await store_scores(db_file, sid)
        assert board.text_at("total", "flaky") == row_text("total", scores["flaky"]) == "50.00 (2)"  # 2 pairs
    assert (await session_summary(db_file, sid)).errors == 0


async def test_scoreboard_cell_filters_navigator(db_file, demo_url):
    sid, config = await demo_session(db_file, demo_url, limit=8)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        board, nav = screen.query_one(Scoreboard), screen.query_one(Navigator)
        sub = screen.st.items[screen.st.order[0]].sub_dimension
        board.focus()
        board.move_cursor(row=board.get_row_index(f"sub:{sub}"), column=1)
        await pilot.press("enter")
        assert nav.shown == [i for i in screen.st.order if screen.st.items[i].sub_dimension == sub]
        assert 0 < len(nav.shown) < 8 and nav.row_count == len(nav.shown)
        board.move_cursor(row=board.get_row_index("total"), column=1)
        await pilot.press("enter")
        assert nav.shown == screen.st.order


async def test_home_lists_sessions_and_opens_one(db_file, demo_url):
    await demo_session(db_file, demo_url, limit=1, name="first")
    sid, _ = await demo_session(db_file, demo_url, limit=1, name="second")
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#sessions"), what="the home screen")
        table = app.screen.query_one("#sessions")
        await wait_until(pilot, lambda: table.row_count == 2, what="both sessions listed")
        await pilot.press("enter")  # the newest first
        screen = await run_screen(pilot)
        assert screen.session_id == sid and not screen.running and screen.run_state == "stopped"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.query("#sessions"), what="the home screen")


async def test_command_palette_offers_run_actions(db_file, demo_url):
    sid, config = await demo_session(db_file, demo_url, limit=1)
    app = app_for(db_file, sid, config, start=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        from scsafety_tui.tui.screen_commands import ScreenCommands

        provider = ScreenCommands(screen)
        hits = [hit async for hit in provider.search("pause")]
        assert [hit.text for hit in hits] == ["Pause/resume"]
        discovered = [hit.text async for hit in provider.discover()]
        assert "Cancel run" in discovered and "Export" in discovered and "Filter" in discovered
        await hits[0].command()  # starts the (not yet run) session, as space would
        await finished(pilot, screen)
        assert screen.run_state == "done"


async def test_export_writes_markdown(db_file, demo_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sid, config = await demo_session(db_file, demo_url, limit=1)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        await pilot.press("e")
        await pilot.press("enter")  # the export dialog: md to the default path
        path = tmp_path / f"scsafety-session-{sid}.md"
        await wait_until(pilot, path.exists, what="the export")  # written whole, then renamed into place
    assert "demo-guardian" in path.read_text(encoding="utf-8")


async def test_worker_error_becomes_a_notification(db_file, demo_url, monkeypatch):
    monkeypatch.delenv("SCSAFETY_TUI_TEST_KEY", raising=False)
    config = config_for(demo_url, ("demo-guardian",))
    config = replace(config, targets=(replace(config.targets[0], api_key_env="SCSAFETY_TUI_TEST_KEY"),))
    sid = await new_session(db_file, config, bank(1))
    app = app_for(db_file, sid, config)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        assert screen.run_state == "failed"
        await wait_until(pilot, lambda: notes.seen("SCSAFETY_TUI_TEST_KEY is not set"), what="the notification")
        assert "failed" in screen_text(pilot)


async def test_space_on_home_resumes_the_highlighted_session(db_file):
    from scsafety_tui.demo import DemoServerThread
    from scsafety_tui.tui.app import ScSafetyApp
    from scsafety_tui.tui.screens.home import HomeScreen

    with DemoServerThread(first_token_delay=0.0, token_delay=0.0) as demo:
        # stored with another server's address, as an interrupted demo session from an earlier launch is
        sid = await new_session(db_file, config_for("http://127.0.0.1:9/v1", ("demo-guardian",)), bank(2))
        app = ScSafetyApp(db=db_file, demo=demo)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen)
                             and app.screen.query_one("#sessions").row_count == 1, what="the session list")
            await pilot.press("space")
            screen = await run_screen(pilot)
            await finished(pilot, screen)
            assert screen.session_id == sid and screen.run_state == "done"
    assert (await session_summary(db_file, sid)).done == 2
