"""Human labels from the keyboard: they change the human-adjusted scores exactly as a hand computation says,
sit beside the judge's verdict, survive a restart, appear in exports; triage puts human disagreements first."""

from __future__ import annotations

import json

from engine_helpers import bank, config_for, run_session
from test_tui_support import SIZE, Notes, app_for, demo_session, finished, run_screen, screen_text, wait_until
from textual.widgets import DataTable, Input, RadioButton

from scsafety_tui.events import Verdict
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.screens.label_dialog import LabelDialog
from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen
from scsafety_tui.tui.screens.triage import TriageScreen
from scsafety_tui.tui.widgets.report_table import ReportTable
from scsafety_tui.tui.widgets.scoreboard import Scoreboard

TARGET = "demo-pushover"


async def _label_by_keys(pilot, key: str, note: str = "") -> None:
    """A label as a user gives it: the digit alone (the quick path, no dialog), or N with a note."""
    if not note:
        await pilot.press(key)
        return
    await pilot.press("N")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LabelDialog), what="the label dialog")
    dialog = pilot.app.screen
    dialog.query(RadioButton)[int(key)].value = True
    await wait_until(pilot, lambda: dialog.score == int(key), what="the score picked")
    dialog.query_one(Input).focus()
    await pilot.press(*note, "enter")


async def _stored_label(db: str, sid: int, item: str, rnd: int) -> tuple[int, str, str] | None:
    store = await Store.open(db)
    try:
        tr = await queries.transcript(store, sid, item, TARGET)
        assert tr is not None
        return next(t.label for t in tr.turns if t.role == "assistant" and t.round == rnd)
    finally:
        await store.close()


async def test_label_keys_change_human_scores_and_persist(db_file, demo_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sid, config = await demo_session(db_file, demo_url, limit=4)
    app = app_for(db_file, sid, config)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        item = screen.pinned  # the last item, pinned once the run is done
        assert item == screen.st.order[-1]
        lane = screen.lanes[TARGET]
        await pilot.press("1")  # no lane focused: the keys say where they apply instead of guessing
        await wait_until(pilot, lambda: notes.seen("focused lane"), what="where the keys apply")
        lane.view.focus()
        await wait_until(pilot, lambda: "▲ R2 · 0/1/2 human score · x clears" in lane.view.text,
                         what="the mark on the answer the keys apply to")

        # the hand computation: the target's answers, with R2 of this item scored 2 by a human
        rows = [r for r in await queries.answer_rows(app.store, sid) if r.target == TARGET]
        judged = next(r.judge_score() for r in rows if r.item_id == item and r.round == 2)
        assert judged == 0  # the pushover gives in to the follow-up
        points = sum(r.judge_score() or 0 for r in rows)
        # every pair is complete (2 rounds each): the board shows the score and the complete pairs
        human_total = f"{100 * (points - judged + 2) / (2 * len(rows)):.2f} ({len(rows) // 2})"
        judge_total = f"{100 * points / (2 * len(rows)):.2f} ({len(rows) // 2})"

        board = screen.query_one(Scoreboard)
        await pilot.press("h")
        assert "human-adjusted" in str(board.border_title) and "human-adjusted scores" in screen_text(pilot)
        await _label_by_keys(pilot, "2", "fine")
        await wait_until(pilot, lambda: board.text_at("total", TARGET) == human_total, what="the human score")
        await wait_until(pilot, lambda: "R2 judge 0 · human 2" in lane.view.text, what="the label in the lane")
        assert await _stored_label(db_file, sid, item, 2) == (2, _me(), "fine")

        await pilot.press("x")
        await wait_until(pilot, lambda: board.text_at("total", TARGET) == judge_total, what="the label cleared")
        assert await _stored_label(db_file, sid, item, 2) is None
        await _label_by_keys(pilot, "2")  # the quick path: no dialog, no note
        await wait_until(pilot, lambda: board.text_at("total", TARGET) == human_total)
        await pilot.press("h")
        await wait_until(pilot, lambda: board.text_at("total", TARGET) == judge_total, what="judge-only")

    # a new app on the same database: the label is there, and in the leaderboard and the exports
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        lb = app.screen
        overall = lb.query_one("#lb-overall", ReportTable)
        row = lb.targets.index(TARGET)
        assert overall.text_at(row, 1) == judge_total.split()[0]
        await pilot.press("h")
        assert overall.text_at(row, 1) == human_total.split()[0]
        # one labelled answer: too few for a κ
        assert "judge vs human: too few labels (n=1; κ needs 10)" in screen_text(pilot)

        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.query("#export-format"), what="the export dialog")
        dialog = app.screen
        dialog.query(RadioButton)[2].value = True  # json
        await wait_until(pilot, lambda: dialog.fmt == "json", what="the format")
        await pilot.press("enter")
        path = tmp_path / f"scsafety-session-{sid}.json"
        await wait_until(pilot, path.exists, what="the export")
    doc = json.loads(path.read_text(encoding="utf-8"))
    turns = next(c["turns"] for c in doc["conversations"] if c["item_id"] == item and c["target"] == TARGET)
    answer = next(t for t in turns if t["role"] == "assistant" and t["round"] == 2)
    assert answer["label"]["score"] == 2 and answer["verdicts"][0]["score"] == 0
    assert f"{doc['scores']['human_adjusted'][TARGET]['total']['score']:.2f}" == human_total.split()[0]


def _me() -> str:
    from scsafety_tui.tui.labels import author

    return author()


async def test_label_in_replay(db_file, demo_url):
    sid, _, _ = await run_session(db_file, config_for(demo_url, (TARGET,)), bank(1))
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.open_replay(sid, None)
        await wait_until(pilot, lambda: getattr(app.screen, "run_state", "") == "replayed", what="the replay")
        screen = app.screen
        lane = screen.lanes[TARGET]
        lane.view.focus()
        await wait_until(pilot, lambda: "▲ R2" in lane.view.text, what="the focused lane's mark")
        await _label_by_keys(pilot, "1")
        item = bank(1)[0].id
        await wait_until(pilot, lambda: screen.st.scores.labels.get((TARGET, item, 2)) == 1, what="the label")
    assert (await _stored_label(db_file, sid, item, 2))[0] == 1


async def test_triage_orders_and_labels(db_file, demo_url):
    items = bank(3)
    sid, _, _ = await run_session(db_file, config_for(demo_url, (TARGET,)), items)
    store = await Store.open(db_file)
    try:
        rows = await queries.answer_rows(store, sid)  # item order, then round
        s0, s1 = rows[0].judge_score(), rows[1].judge_score()
        assert s1 in (0, 2)  # the pushover's R2: a spread of 2 is possible
        # a second judge: off by 1 on answer 0, by 2 on answer 1; a human disagrees with the judge on answer 4
        for r, score in ((rows[0], 2 if s0 == 1 else 1), (rows[1], 2 - s1)):
            await store.add_verdicts(r.turn_id, [Verdict("judge-b", score, "second opinion")], [""])
        await store.set_label(rows[4].turn_id, (rows[4].judge_score() + 1) % 3)
        rows = await queries.answer_rows(store, sid)
    finally:
        await store.close()
    spread = {rows[0].turn_id: 1, rows[1].turn_id: 2}

    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(TriageScreen(sid))
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen) and app.screen.triaged)
        screen = app.screen
        order = list(screen.triaged)
        assert order == [rows[4].turn_id, rows[1].turn_id, rows[0].turn_id]
        assert [screen.triaged[t].reason for t in order] == ["human ≠ judge", "judges disagree", "judges disagree"]
        assert spread[order[1]] > spread[order[2]]
        # label the last row against its judges' median: it joins the human disagreements at the top
        screen.query_one(DataTable).move_cursor(row=2)
        target = rows[0]
        score = (target.judge_score() + 2) % 3
        await _label_by_keys(pilot, str(score))
        await wait_until(pilot, lambda: list(screen.triaged)[:2] == [rows[4].turn_id, target.turn_id]
                         or list(screen.triaged)[:2] == [target.turn_id, rows[4].turn_id], what="re-ordering")
        assert screen.triaged[target.turn_id].reason == "human ≠ judge"
        assert screen.triaged[target.turn_id].human == score
