"""The navigator finds the failures: each filter (F) shows exactly the items the store says have that finding
and jumps to the first such answer; n / p jump between matches; `/` searches the session. Labels: R1 as well
as R2, from a lane ([ picks the round) or from the navigator's cell, by the quick path (no dialog) or with a
note (N), stored with the store's set_label and shown in the lane, the navigator, the leaderboard and
triage; human-adjusted mode shows the label's score in the navigator too."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from engine_helpers import bank, config_for, run_session, with_target
from test_tui_support import SIZE, Notes, app_for, demo_session, finished, run_screen, wait_until, widget_text
from textual.widgets import Input, OptionList, RadioButton

from scsafety_tui.demo.launch import DemoServerThread
from scsafety_tui.demo_profile import demo_target
from scsafety_tui.events import Verdict
from scsafety_tui.scoring import AnswerRow
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.findings import KINDS
from scsafety_tui.tui.labels import author
from scsafety_tui.tui.screens.filter_menu import FilterMenu
from scsafety_tui.tui.screens.input_dialog import InputDialog
from scsafety_tui.tui.screens.label_dialog import LabelDialog
from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen
from scsafety_tui.tui.screens.triage import TriageScreen
from scsafety_tui.tui.widgets.answer_table import AnswerTable
from scsafety_tui.tui.widgets.navigator import Navigator


async def _faulty_session(db: str, url: str) -> int:
    """Every kind of failure, on some targets or answers: a pushover that gives in to the follow-up (unsafe,
    R2 < R1), a content filter, a key that is refused, an empty stream, answers cut by max_tokens, a second
    judge that differs on one answer and a human label that differs on another."""
    config = config_for(url, ("demo-guardian", "demo-pushover"), retries=1)
    config = with_target(config, "filtered", url, "demo-refuser+filter")
    config = with_target(config, "flaky", url, "demo-refuser+auth")
    # reasoning (4 tokens) that uses up max_tokens leaves an empty answer; max_tokens 4 cuts the guardian's
    config = replace(config, targets=(*config.targets,
                                      replace(demo_target("hollow", url, "demo-guardian+reasoning"), max_tokens=3),
                                      replace(demo_target("cut", url, "demo-guardian"), max_tokens=4)))
    sid, _, _ = await run_session(db, config, bank(4))
    store = await Store.open(db)
    try:
        done = [r for r in await queries.answer_rows(store, sid) if r.status == "done" and r.target == "demo-guardian"]
        other = (done[2].judge_score() + 1) % 3
        await store.add_verdicts(done[2].turn_id, [Verdict("judge-b", other, "a second opinion")], [""])
        await store.set_label(done[5].turn_id, (done[5].judge_score() + 2) % 3, "someone", "too strict")
    finally:
        await store.close()
    return sid


async def _expected(db: str, sid: int) -> tuple[list[str], list[str], dict[str, list[tuple[str, str, int]]]]:
    """Per finding, the answers (item, target, round) with it, from the store's rows by SC-Safety's rules."""
    store = await Store.open(db)
    try:
        rows = await queries.answer_rows(store, sid)
        cut = await queries.truncated_answers(store, sid)
        items = [it.id for it in await queries.items(store, sid)]
        targets = await queries.target_keys(store, sid)
    finally:
        await store.close()
    by = {(r.item_id, r.target, r.round): r for r in rows}

    def score(r: AnswerRow | None) -> int | None:
        return r.judge_score() if r is not None and r.status == "done" else None

    found: dict[str, list[tuple[str, str, int]]] = {kind: [] for kind, _, _ in KINDS}
    for item in items:
        for t in targets:
            for rnd in (1, 2):
                r = by.get((item, t, rnd))
                if r is None:
                    continue
                s = score(r)
                checks = {"unsafe": s == 0, "flip": rnd == 2 and s is not None and score(by.get((item, t, 1)))
                          is not None and s < score(by.get((item, t, 1))),
                          "human": r.status == "done" and r.label is not None and r.label != s,
                          "judges": len({x for x in r.judge_scores if x is not None}) > 1,
                          "error": r.status == "error", "blocked": r.status == "blocked", "empty": r.status == "empty",
                          "truncated": (t, item, rnd) in cut and r.status == "done",
                          "nojudge": r.status == "done" and s is None}
                for kind, hit in checks.items():
                    if hit:
                        found[kind].append((item, t, rnd))
    return items, targets, found


async def test_each_filter_shows_the_items_with_that_finding_and_jumps(db_file, demo_url):
    sid = await _faulty_session(db_file, demo_url)
    items, targets, found = await _expected(db_file, sid)
    assert all(found[k] for k, _, _ in KINDS if k != "nojudge"), {k: len(v) for k, v in found.items()}
    assert len({i for i, _, _ in found["judges"]}) == 1 and len({i for i, _, _ in found["human"]}) == 1
    app = app_for(db_file, sid, start=False)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        screen = await run_screen(pilot)
        nav = screen.query_one(Navigator)
        for index, (kind, short, title) in enumerate(KINDS):
            await pilot.press("F")
            await wait_until(pilot, lambda: isinstance(app.screen, FilterMenu), what="the filter menu")
            menu = app.screen.query_one(OptionList)
            want = [i for i in items if any(a[0] == i for a in found[kind])]
            option = str(menu.get_option_at_index(index + 1).prompt)
            assert option.startswith(title) and option.endswith(f"{len(want)} item{'s' * (len(want) != 1)}")
            await pilot.press(*["down"] * index, "enter")
            await wait_until(pilot, lambda: not isinstance(app.screen, FilterMenu), what="the menu closed")
            await wait_until(pilot, lambda want=want, short=short: nav.shown == want and nav.filter_label == short
                             and (not want or screen.pinned == want[0]), what=f"the {kind} filter")
            assert short in str(nav.border_title)
            if not want:
                await wait_until(pilot, lambda: notes.seen("No items with judge failed"), what="nothing to show")
                continue
            first = next(a for a in found[kind] if a[0] == want[0])
            await wait_until(pilot, lambda first=first: nav.current_answer() == first, what=f"the first {kind}")
            assert nav.has_focus and all(lane.item_id == want[0] for lane in screen.lanes.values())
            assert f"{first[1]} R{first[2]}" in str(nav.border_subtitle)
            if len(want) > 1:
                await pilot.press("n")  # the next match, the cell cursor on its first such answer
                then = next(a for a in found[kind] if a[0] == want[1])
                await wait_until(pilot, lambda want=want, then=then: screen.pinned == want[1]
                                 and nav.current_answer() == then, what=f"the next {kind}")
                await pilot.press("p")
                await wait_until(pilot, lambda want=want: screen.pinned == want[0], what=f"back to the first {kind}")
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, FilterMenu), what="the filter menu")
        await pilot.press("up", "enter")  # every item again
        await wait_until(pilot, lambda: nav.shown == items and nav.border_title == "items", what="no filter")
    assert len(targets) == 6


async def test_label_r1_by_the_quick_path_from_a_lane_and_with_a_note_from_the_navigator(db_file, demo_url):
    target = "demo-pushover"
    config = config_for(demo_url, ("demo-guardian", target))
    sid, _, _ = await run_session(db_file, config, bank(2))
    first, second = (it.id for it in bank(2))
    app = app_for(db_file, sid, start=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: screen.pinned == first, what="the first item")
        lane, nav = screen.lanes[target], screen.query_one(Navigator)
        judged = {r: screen.st.scores.rows[(target, first, r)].judge_score() for r in (1, 2)}
        assert judged == {1: 2, 2: 0}  # the pushover gives in to the follow-up: a flip

        # from the lane: [ moves the mark from R2 to R1; 0 labels it at once, no dialog
        lane.view.focus()
        await wait_until(pilot, lambda: "▲ R2" in lane.view.text, what="the mark on R2")
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "▲ R1" in lane.view.text and "▲ R2" not in lane.view.text, what="R1 marked")
        await pilot.press("0")
        await wait_until(pilot, lambda: "R1 judge 2 · human 0" in lane.view.text, what="the label in the lane")
        assert app.screen is screen  # no dialog on the quick path
        assert await _label(db_file, sid, first, target, 1) == (0, author(), "")
        assert screen.st.scores.labels[(target, first, 1)] == 0

        # human-adjusted: the navigator shows the label's score (and the R2 < R1 flip is gone)
        assert _glyphs(nav, first) == ["22", "20"]  # judge-only: guardian, then the pushover's flip
        await pilot.press("h")
        await wait_until(pilot, lambda: _glyphs(nav, first) == ["22", "00"], what="the human-adjusted glyphs")

        # from the navigator: its cell cursor on the second item's R1, N asks for a score and a note
        nav.focus()
        await pilot.press("down", "right", "right")  # item 2; guardian R1 → R2 → pushover R1
        await wait_until(pilot, lambda: nav.current_answer() == (second, target, 1), what="the cell cursor")
        await pilot.press("N")
        await wait_until(pilot, lambda: isinstance(app.screen, LabelDialog), what="the label dialog")
        dialog = app.screen
        dialog.query(RadioButton)[1].value = True
        await wait_until(pilot, lambda: dialog.score == 1, what="score 1 picked")
        dialog.query_one(Input).focus()
        await pilot.press(*"kept the refusal", "enter")
        await wait_until(pilot, lambda: "human 1 “kept the refusal”" in str(nav.border_subtitle), what="the note")
        assert await _label(db_file, sid, second, target, 1) == (1, author(), "kept the refusal")
        # the quick path keeps the note when the score changes
        await pilot.press("2")
        await wait_until(pilot, lambda: "human 2 “kept the refusal”" in str(nav.border_subtitle), what="relabelled")
        assert await _label(db_file, sid, second, target, 1) == (2, author(), "kept the refusal")
        await pilot.press("1")
        await wait_until(pilot, lambda: "human 1 “kept the refusal”" in str(nav.border_subtitle), what="back to 1")
        await pilot.press("enter")  # the lanes on that item: the badge carries the note
        await wait_until(pilot, lambda: "R1 judge 2 · human 1 “kept the refusal”" in lane.view.text,
                         what="the note in the lane")

        # the leaderboard and triage show the note beside the label
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        answers = app.screen.query_one(AnswerTable)
        turn = next(r.turn_id for r in app.screen.rows if (r.item_id, r.target, r.round) == (second, target, 1))
        assert str(answers.get_cell(str(turn), "note")) == "kept the refusal"
        app.push_screen(TriageScreen(sid))
        await wait_until(pilot, lambda: isinstance(app.screen, TriageScreen) and app.screen.triaged)
        assert str(app.screen.query_one("#triage").get_cell(str(turn), "note")) == "kept the refusal"


def _glyphs(nav: Navigator, item: str) -> list[str]:
    """An item's row as drawn: one glyph string per target."""
    row = next(line.strip("│ ") for line in widget_text(nav).splitlines() if line.strip("│ ").startswith(item))
    return row.split()[1:]


async def _label(db: str, sid: int, item: str, target: str, rnd: int) -> tuple[int, str, str] | None:
    store = await Store.open(db)
    try:
        tr = await queries.transcript(store, sid, item, target)
        assert tr is not None
        return next(t.label for t in tr.turns if t.role == "assistant" and t.round == rnd)
    finally:
        await store.close()


async def test_search_within_the_session_jumps_to_matches(db_file, demo_url):
    items = bank(6)
    sid, _, _ = await run_session(db_file, config_for(demo_url, ("demo-guardian",)), items)
    # a two-character word (below FTS5's trigram) that some questions have and others don't
    word = next(w for it in items for w in (it.turns[0][i:i + 2] for i in range(len(it.turns[0]) - 1))
                if 1 < sum(w in other.turns[0] for other in items) < len(items) and w.strip() == w)
    with sqlite3.connect(db_file) as conn:  # what the session holds, read apart from the app
        have = {r[0] for r in conn.execute(
            "SELECT i.item_key FROM turn t JOIN conversation c ON c.id = t.conversation_id "
            "JOIN item i ON i.id = c.item_id WHERE c.session_id = ? AND instr(t.content, ?) > 0", (sid, word))}
    want = [it.id for it in items if it.id in have]
    assert 1 < len(want) < len(items)
    app = app_for(db_file, sid, start=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        nav = screen.query_one(Navigator)
        await pilot.press("slash")
        await wait_until(pilot, lambda: isinstance(app.screen, InputDialog), what="the search box")
        await pilot.press(*word, "enter")
        await wait_until(pilot, lambda: nav.shown == want and screen.pinned == want[0], what="the matches")
        assert word in str(nav.border_title) and f"{len(want)}/{len(items)}" in str(nav.border_title)
        await pilot.press("n")
        await wait_until(pilot, lambda: screen.pinned == want[1], what="the next match")
        await pilot.press("slash")
        await wait_until(pilot, lambda: isinstance(app.screen, InputDialog), what="the search box")
        await pilot.press("enter")  # empty: every item again
        await wait_until(pilot, lambda: nav.shown == [it.id for it in items], what="the search cleared")


async def test_a_filter_keeps_up_with_a_running_session(db_file):
    """Set during a run, the flips filter shows what has flipped so far and takes in new flips as they come."""
    target = "demo-pushover"
    with DemoServerThread(first_token_delay=0.0, token_delay=0.01) as server:  # time to pause mid-run
        sid, config = await demo_session(db_file, server.url, limit=6, personas=(target,), concurrency=1)
        app = app_for(db_file, sid, config)
        async with app.run_test(size=SIZE) as pilot:
            screen = await run_screen(pilot)
            nav = screen.query_one(Navigator)
            await wait_until(pilot, lambda: any(m == ["2", "0"] for (_, t), m in screen.st.glyphs.items()),
                             what="a first flip")
            await pilot.press("space")  # paused: no new turn starts while the filter is set
            await pilot.press("F")
            await wait_until(pilot, lambda: isinstance(app.screen, FilterMenu), what="the filter menu")
            await pilot.press("down", "enter")  # R2 < R1 flips
            await wait_until(pilot, lambda: nav.filter_label == "R2<R1 flips", what="the flips filter")
            early = list(nav.shown)
            assert 1 <= len(early) < 6 and screen.running
            await pilot.press("space")  # resumed
            await finished(pilot, screen)
            flipped = [i for i in screen.st.order if screen.st.glyphs[(i, target)] == ["2", "0"]]
            await wait_until(pilot, lambda: nav.shown == flipped, what="the later flips taken in")
            assert str(nav.border_title) == f"items · R2<R1 flips · {len(flipped)}/6"  # the count kept current
    assert len(flipped) > len(early)
