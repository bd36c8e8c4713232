"""The leaderboard shows report.all_tables (CI included), judge-only and human-adjusted; its answer list
takes labels; compare shows two sessions' scores, their differences and the answers that changed."""

from __future__ import annotations

import json
from dataclasses import replace

from engine_helpers import TAXONOMY, bank, config_for, run_session
from test_tui_support import SIZE, app_for, lane_shows_its_end, wait_until

from scsafety_tui import report
from scsafety_tui.compare import compare_sessions
from scsafety_tui.demo_profile import demo_target
from scsafety_tui.scoring import fmt_ci, fmt_delta, score_answers
from scsafety_tui.store import queries
from scsafety_tui.taxonomy import parse_taxonomy
from scsafety_tui.tui.screens.compare import CompareScreen
from scsafety_tui.tui.screens.leaderboard import TABLE_IDS, LeaderboardScreen
from scsafety_tui.tui.screens.transcript import TranscriptScreen
from scsafety_tui.tui.widgets.answer_table import AnswerTable
from scsafety_tui.tui.widgets.report_table import ReportTable

PERSONAS = ("demo-guardian", "demo-refuser", "demo-pushover")


async def _expected(app, sid: int, human: bool) -> list[list[tuple[str, ...]]]:
    rows = await queries.answer_rows(app.store, sid)
    row = await queries.session_row(app.store, sid)
    taxonomy = parse_taxonomy(json.loads(row["taxonomy"]), "test")
    return [list(t.rows) for t in report.all_tables(score_answers(rows, human=human), taxonomy, PERSONAS)]


def _shown(screen: LeaderboardScreen) -> list[list[tuple[str, ...]]]:
    return [screen.query_one(f"#{t}", ReportTable).row_texts() for t in TABLE_IDS]


async def test_tables_labels_and_compare(db_file, demo_url):
    items = bank(4)
    config = config_for(demo_url, PERSONAS)
    sid_a, _, _ = await run_session(db_file, config, items, name="A")
    # B: the same items and keys, but "demo-guardian" is now answered by the pushover persona
    swapped = replace(config, targets=(demo_target("demo-guardian", demo_url, "demo-pushover"),
                                       *config.targets[1:]))
    sid_b, _, _ = await run_session(db_file, swapped, items, name="B")

    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.open_leaderboard(sid_a)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        screen = app.screen
        assert _shown(screen) == await _expected(app, sid_a, human=False)
        overall = screen.query_one("#lb-overall", ReportTable)
        assert "–" in overall.text_at(2, 2)  # the pushover's total carries its 95% interval
        assert TAXONOMY.sub_dimensions[0].name_zh in {r[0] for r in _shown(screen)[TABLE_IDS.index("lb-sub")]}

        # the answers list (focused): 0 on the highlighted answer, a note skipped
        answers = screen.query_one(AnswerTable)
        assert answers.has_focus and answers.row_count == 4 * 3 * 2
        first = answers.current()
        assert first is not None and first.judge_score() == 2
        await pilot.press("0")  # the quick path: stored at once, no dialog
        await wait_until(pilot, lambda: answers.current() and answers.current().label == 0, what="the label")
        assert _shown(screen) == await _expected(app, sid_a, human=False)  # judge-only: unchanged
        await pilot.press("h")
        assert _shown(screen) == await _expected(app, sid_a, human=True)
        assert _shown(screen) != await _expected(app, sid_a, human=False)

        # a target's row in the overall table lists that target's answers
        overall.focus()
        overall.move_cursor(row=2)
        await pilot.press("enter")
        assert answers.row_count == 8 and {r.target for r in answers.rows_by_id.values()} == {"demo-pushover"}
        await pilot.press("a")
        assert answers.row_count == 24

        await pilot.press("c")  # compare: pick B
        await wait_until(pilot, lambda: app.screen.query("#session-menu") and app.screen.query_one(
            "#session-menu").option_count, what="the session picker")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison)
        compare = app.screen
        expected = await compare_sessions(app.store, sid_a, sid_b, human=True)  # h was on
        assert compare.human
        totals = compare.query_one("#cmp-totals", ReportTable)
        guardian = totals.row_texts()[0]
        assert guardian[0] == "demo-guardian"
        assert guardian[3] == fmt_delta(expected.totals["demo-guardian"]["total"].diff)
        assert expected.totals["demo-guardian"]["total"].diff < 0  # the pushover does worse
        paired = expected.totals["demo-guardian"]["total"]  # over the 4 pairs both sessions have complete
        assert guardian[-3:] == ("4", fmt_ci(paired.ci, signed=True), "yes" if paired.significant else "no")
        assert paired.n == 4 and paired.ci[0] <= paired.diff <= paired.ci[1]
        assert totals.row_texts()[1][3] == "+0.00"  # the refuser did not change
        subs = compare.query_one("#cmp-subs", ReportTable).row_texts()
        assert {r[1] for r in subs} == set(PERSONAS) and all(r[4] == "+0.00" for r in subs if r[1] != "demo-guardian")
        changed = compare.query_one("#cmp-changed")
        assert changed.row_count == len(expected.changed) > 0
        assert {c.target for c in expected.changed} == {"demo-guardian"}

        await pilot.press("h")  # judge-only: the labelled answer of A no longer counts as changed
        await wait_until(pilot, lambda: not compare.human and compare.comparison is not None
                         and changed.row_count == len(compare.comparison.changed))

        await pilot.press("enter")  # both conversations of the first changed answer
        await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        lanes = app.screen.lanes
        assert [lane.index for lane in lanes] == ["A", "B"]
        await wait_until(pilot, lambda: all(lane_shows_its_end(lane) for lane in lanes), what="both transcripts")
        assert lanes[0].view.text and lanes[0].view.text != lanes[1].view.text


async def test_at_80_columns_the_answers_go_below_the_tables(db_file, demo_url):
    sid, _, _ = await run_session(db_file, config_for(demo_url, PERSONAS), bank(2), name="narrow")
    app = app_for(db_file, None)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        screen = app.screen
        tables, answers = screen.query_one("#lb-tables"), screen.query_one(AnswerTable)
        await wait_until(pilot, lambda: tables.region.width >= 76 and answers.region.y > tables.region.y,
                         what="the stacked layout")
        await pilot.resize_terminal(160, 48)
        await wait_until(pilot, lambda: answers.region.x > tables.region.x
                         and answers.region.y == tables.region.y, what="side by side again")
