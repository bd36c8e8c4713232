"""The leaderboard's charts: per-category bars and R1 → R2 per target, drawn from the numbers its tables show,
in the theme's colours, human-adjusted with h."""

from __future__ import annotations

from engine_helpers import bank, config_for, run_session
from rich.text import Text
from test_tui_support import SIZE, app_for, screen_text, wait_until

from scsafety_tui.scoring import fmt, fmt_delta, score_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen
from scsafety_tui.tui.widgets.charts import TARGET_COLOURS, ScoreCharts, bar, track

PERSONAS = ("demo-guardian", "demo-pushover", "demo-wobbly")


def test_a_bar_is_its_value_to_an_eighth_of_a_cell():
    assert bar(100, 10) == "█" * 10 and bar(0, 10) == "" and bar(50, 10) == "█" * 5
    assert bar(56.25, 8) == "████▌" and bar(130, 4) == "████"
    assert sorted(track(0, 100, 5)) == [(0, "○"), (1, "━"), (2, "━"), (3, "━"), (4, "●")]
    assert track(50, 50, 5) == [(2, "◉")]


def _line(lines: list[Text], start: str, after: str = "") -> Text:
    """The first line starting with `start` (after the line starting with `after`)."""
    seen = not after
    for line in lines:
        seen = seen or line.plain.startswith(after)
        if seen and line.plain.strip().startswith(start):
            return line
    raise AssertionError(f"no line {start!r} after {after!r}")


async def test_the_charts_draw_the_leaderboards_numbers(db_file, demo_url):
    sid, _, _ = await run_session(db_file, config_for(demo_url, PERSONAS), bank(4), name="charts")
    store = await Store.open(db_file)
    try:  # a human says two of the pushover's round-2 answers (judge: 0) are fine
        for row in [r for r in await queries.answer_rows(store, sid)
                    if r.target == "demo-pushover" and r.round == 2][:2]:
            await store.set_label(row.turn_id, 2, "me", "")
        rows = await queries.answer_rows(store, sid)
        taxonomy = (await queries.stored_session(store, sid)).taxonomy
    finally:
        await store.close()
    judge, human = score_answers(rows), score_answers(rows, human=True)

    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        charts = app.screen.query_one(ScoreCharts)
        width = charts.content_region.width
        lines = charts.lines(width)
        assert all(line.cell_len <= width for line in lines)
        for cat in taxonomy.categories:
            drawn = {k: _line(lines, k, after=cat.name_zh) for k in PERSONAS}
            for key, line in drawn.items():
                assert line.plain.rstrip().endswith(fmt(judge[key].categories[cat.id].score)), (cat.id, key)
            guardian, pushover = (drawn[k].plain.count("█") for k in PERSONAS[:2])
            assert judge["demo-guardian"].categories[cat.id].score == 100 and guardian == width - 10 - 13
            assert pushover == guardian // 2  # 50.00: half the bar
        change = _line(lines, "demo-pushover", after="Round 1 → round 2")
        assert "100.00 →   0.00" in change.plain and f"Δ {fmt_delta(judge['demo-pushover'].delta)}" in change.plain
        assert "━" in change.plain and "○" in change.plain and "●" in change.plain

        # theme colours: the first target's bars take the theme's primary, and follow a change of theme
        theme = app.get_css_variables()
        first = _line(lines, "demo-guardian", after=taxonomy.categories[0].name_zh)
        assert {str(s.style) for s in first.spans} == {theme[TARGET_COLOURS[0]]}
        app.theme = "nord"
        nord = _line(charts.lines(width), "demo-guardian", after=taxonomy.categories[0].name_zh)
        assert {str(s.style) for s in nord.spans} == {app.get_css_variables()["primary"]} != {theme["primary"]}
        assert "Round 1 → round 2" in screen_text(pilot) and "Per category" in screen_text(pilot)

        await pilot.press("h")  # human-adjusted: the labels move the pushover's round 2 and its bars
        await wait_until(pilot, lambda: app.screen.human)
        change = _line(charts.lines(width), "demo-pushover", after="Round 1 → round 2")
        assert f"→ {fmt(human['demo-pushover'].round(2)):>6}" in change.plain
        assert human["demo-pushover"].round(2) == 50.0 != judge["demo-pushover"].round(2)
