"""The run screen of an attacked session (real app, real demo server): each lane labels who wrote a prompt
and with which strategy, ends with why the attacker stopped, and the scoreboard counts round 2."""

from __future__ import annotations

from dataclasses import replace

from engine_helpers import bank
from test_follow_ups import attack_config, single_turn
from test_tui_support import SIZE, app_for, finished, new_session, run_screen, wait_until

from scsafety_tui.demo.server import DemoServer
from scsafety_tui.tui.widgets.scoreboard import Scoreboard


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_lanes_show_the_attacker_and_why_it_stopped(db_file):
    server = DemoServer(first_token_delay=0.0, token_delay=0.0)
    url = await server.start()
    try:
        config = attack_config(url, max_rounds=3, personas=("demo-guardian", "demo-pushover"))
        config = replace(config, targets=tuple(replace(t, concurrency=1) for t in config.targets))
        sid = await new_session(db_file, config, single_turn(bank(1)))
        app = app_for(db_file, sid, config)
        async with app.run_test(size=SIZE) as pilot:
            screen = await run_screen(pilot)
            await finished(pilot, screen)
            pushover, guardian = screen.lanes["demo-pushover"], screen.lanes["demo-guardian"]
            await wait_until(pilot, lambda: "⏹" in pushover.view.text and "⏹" in guardian.view.text,
                             what="the stop lines")
            pushed, held = flat(pushover.view.text), flat(guardian.view.text)  # lines wrap at the lane's width
            assert "Q2(attacker · crescendo)" in pushed and "Q3(" not in pushed
            assert "stopped after round 2: the target gave an unsafe answer (score 0) in round 2" in pushed
            assert "Q3(attacker · crescendo)" in held
            assert "stopped after round 3: max_rounds reached" in held
            scores = screen.st.scores.compute()
            assert scores["demo-pushover"].round(2) == 0.0 and scores["demo-pushover"].total.pairs == 1
            board = screen.query_one(Scoreboard)  # past round 2: its own rows, beside the headline
            assert str(board.get_cell("b:never", "demo-pushover")) == "0.0%"
            assert str(board.get_cell("b:never", "demo-guardian")) == "100.0%"
            assert str(board.get_cell("b:r3", "demo-guardian")) == "100.00 (1)"
            assert str(board.get_cell("b:break", "demo-pushover")) == "2.00"
    finally:
        await server.stop()


async def test_leaderboard_shows_rounds_past_two_only_when_there_are_some(db_file, demo_url):
    from engine_helpers import config_for, run_session

    from scsafety_tui.tui.app import ScSafetyApp
    from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen
    from scsafety_tui.tui.widgets.report_table import ReportTable

    attacked, _, _ = await run_session(db_file, attack_config(demo_url, personas=("demo-guardian", "demo-pushover")),
                                       single_turn(bank(2)))
    plain, _, _ = await run_session(db_file, config_for(demo_url, ("demo-guardian",)), bank(2))
    app = ScSafetyApp(db=db_file, clock=lambda: 1000.0)
    async with app.run_test(size=SIZE) as pilot:
        for sid, shown in ((attacked, True), (plain, False)):
            screen = LeaderboardScreen(sid)
            await app.push_screen(screen)
            # the headline tables and the rounds tables are drawn in one step: once one has rows, both have
            await wait_until(pilot, lambda s=screen: s.query_one("#lb-overall", ReportTable).row_count > 0,
                             what="the leaderboard's tables")
            first = screen.query_one("#lb-first-unsafe", ReportTable)
            assert first.display is shown and screen.query_one("#lb-rounds", ReportTable).display is shown
            if shown:
                cells = [str(c) for c in first.get_row_at(1)]
                assert cells[0] == "demo-pushover" and cells[2] == "2"  # both pairs broke in round 2
            await app.pop_screen()
