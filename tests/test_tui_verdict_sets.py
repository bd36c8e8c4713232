"""The leaderboard switches between a session's verdict sets (g), names the shown set in its headers,
gives the two sets' weighted κ and lists the answers they score differently (D), each one's conversation
a key away. A real demo session (loopback demo server, SQLite file) judged by the demo's rubric judge,
rejudged by its Qwen3Guard persona as a guard judge; every figure read off the screen is checked against a
hand computation from the stored rows."""

from __future__ import annotations

from dataclasses import replace

from engine_helpers import bank, config_for, run_session
from test_rejudge_sets import hand_kappa, hand_totals, scores_of
from test_tui_support import SIZE, app_for, screen_text, wait_until
from textual.widgets import Input

from scsafety_tui.demo_profile import demo_target
from scsafety_tui.engine.rejudge import rejudge
from scsafety_tui.store.db import Store
from scsafety_tui.tui.screens.export_dialog import ExportDialog
from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen
from scsafety_tui.tui.screens.set_disagreements import SetDisagreementsScreen
from scsafety_tui.tui.screens.transcript import TranscriptScreen
from scsafety_tui.tui.widgets.report_table import ReportTable


def _overall(screen: LeaderboardScreen) -> dict[str, tuple[str, str, str]]:
    """Per target (Total, R1, R2) as the overall table shows them."""
    return {r[0]: (r[1], r[3], r[4]) for r in screen.query_one("#lb-overall", ReportTable).row_texts()}


async def test_leaderboard_switches_verdict_sets_and_lists_their_disagreements(demo_url, db_file, tmp_path):
    config = config_for(demo_url, ("demo-guardian", "demo-pushover"))
    short = replace(demo_target("short", demo_url, "demo-wobbly"), max_tokens=30)
    config = replace(config, targets=(demo_target("guardian", demo_url, "demo-guardian"),
                                      demo_target("pushover", demo_url, "demo-pushover"), short))
    sid, status, _ = await run_session(db_file, config, bank(6), name="sets")
    assert status == "done"
    guard = replace(demo_target("guard", demo_url, "demo-qwen3guard"), kind="qwen3guard")
    with_guard = replace(config, judge=replace(config.judge, targets=(*config.judge.targets, guard)))
    store = await Store.open(db_file)
    try:
        result = await rejudge(store, sid, config=with_guard, judges=["guard"])
    finally:
        await store.close()
    assert (result.vset, result.tried) == ("guard", len(scores_of(db_file, sid, "")))
    run, heur = scores_of(db_file, sid, ""), scores_of(db_file, sid, "guard")
    differ = [k for k in run if run[k] != heur[k]]
    assert differ and hand_totals(db_file, sid, "") != hand_totals(db_file, sid, "guard")

    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        screen = app.screen
        assert _overall(screen) == hand_totals(db_file, sid, "")
        assert "verdict set: the run's own" in screen.sub_title
        assert screen.query_one("#lb-overall", ReportTable).border_title.endswith("verdict set: the run's own")
        text = " ".join(screen_text(pilot).split())
        assert f"the run's own set vs set 'guard': weighted κ {hand_kappa([(run[k], heur[k]) for k in run]):.2f}" \
            in text

        await pilot.press("g")  # the guard's set
        await wait_until(pilot, lambda: screen.vset == "guard" and _overall(screen) == hand_totals(
            db_file, sid, "guard"), what="the guard set's figures")
        assert "verdict set: guard" in screen.sub_title
        assert screen.query_one("#lb-coverage", ReportTable).border_title.endswith("verdict set: guard")
        kappa = hand_kappa([(heur[k], run[k]) for k in run])
        await wait_until(pilot, lambda: f"set 'guard' vs the run's own set: weighted κ {kappa:.2f}"
                         in " ".join(screen_text(pilot).split()), what="κ of the two sets")
        app.save_screenshot(str(tmp_path / "leaderboard-guard.svg"))

        await pilot.press("e")  # an export from here is of the shown set, and carries both
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        out = tmp_path / "shown.md"
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await wait_until(pilot, lambda: out.exists() and app.screen is screen, what="the export")
        md = out.read_text(encoding="utf-8")
        assert "Scores from verdict set: guard." in md and "- verdict set the run's own, judge demo-judge" in md

        await pilot.press("D")  # the answers the two sets score differently
        await wait_until(pilot, lambda: isinstance(app.screen, SetDisagreementsScreen)
                         and app.screen.comparison is not None, what="the disagreements")
        listed = app.screen
        shown = [(d.target, d.item_id, d.round, d.a, d.b) for d in listed.comparison.disagreements]
        assert sorted(shown) == sorted((t, i, r, heur[t, i, r], run[t, i, r]) for t, i, r in differ)
        table = listed.query_one("#set-disagreements")
        assert table.row_count == len(differ)
        first = table.get_row_at(0)
        assert (str(first[0]), str(first[2]), first[3], first[4], first[5]) == \
            (shown[0][1], shown[0][0], str(shown[0][2]), str(shown[0][3]), str(shown[0][4]))
        app.save_screenshot(str(tmp_path / "set-disagreements.svg"))
        await pilot.press("enter")  # that answer's conversation
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen), what="the transcript")
        assert shown[0][1] in " ".join(screen_text(pilot).split())

        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("g")  # round again to the run's own set
        await wait_until(pilot, lambda: screen.vset == "" and _overall(screen) == hand_totals(db_file, sid, ""))


async def test_a_hostile_set_name_is_shown_literally_on_the_leaderboard(demo_url, db_file):
    from test_rejudge_sets import HOSTILE

    from scsafety_tui.textsafe import visible

    config = config_for(demo_url, ("demo-guardian",))
    sid, _, _ = await run_session(db_file, config, bank(2), name="hostile set")
    store = await Store.open(db_file)
    try:
        await rejudge(store, sid, judges=["heuristic"], vset=HOSTILE)
    finally:
        await store.close()
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        await pilot.press("g")
        await wait_until(pilot, lambda: app.screen.vset == HOSTILE)
        text = screen_text(pilot)
        assert "[bold red]x[/]" in text and visible("\x1b[31m红") in text  # markup as text, ESC made visible
        assert f"verdict set: {visible(HOSTILE)}" in " ".join(text.split())
        # every table's title names the set: never parsed as markup, never a raw ESC on the terminal
        assert "\x1b" not in app.export_screenshot()
        assert "SC-Safety overall · verdict set: [bold red]x[/]" in text
