"""Same item across lanes (follow), per-lane follow, and the side-by-side view, on the real run screen."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from engine_helpers import bank, config_for, with_target
from test_tui_support import (
    SIZE,
    app_for,
    demo_session,
    finished,
    new_session,
    run_screen,
    wait_until,
    widget_text,
)

from scsafety_tui.events import ConversationFinished, ConversationStarted, TokenDelta, TurnStarted
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.screens.side_by_side import SideBySideScreen
from scsafety_tui.tui.sources.stored import StoredSource


async def transcript(db: str, sid: int, item: str, target: str) -> queries.Transcript:
    store = await Store.open(db)
    try:
        found = await queries.transcript(store, sid, item, target)
    finally:
        await store.close()
    assert found is not None
    return found


def one_each(config, concurrency: int = 1):
    return replace(config, targets=tuple(replace(t, concurrency=concurrency) for t in config.targets))


async def test_lanes_that_finished_the_followed_item_show_its_stored_answer(db_file, demo_url):
    """Two targets hang on the first item while two fast ones finish everything: most lanes are on the
    first item, so every lane shows it, the fast ones with their stored answers (old code: each lane
    stayed on its own last conversation)."""
    config = config_for(demo_url, ("demo-guardian", "demo-pushover"))
    config = with_target(with_target(config, "stuck-a", demo_url, "demo-wobbly+hang"), "stuck-b", demo_url,
                         "demo-refuser+hang")
    items = bank(3)
    sid = await new_session(db_file, one_each(config), items)
    app = app_for(db_file, sid, one_each(config))
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: all(m.isdigit() for (i, t), marks in screen.st.glyphs.items()
                                            if not t.startswith("stuck") for m in marks), 30, "fast targets done")
        first = items[0].id
        await wait_until(pilot, lambda: {lane.item_id for lane in screen.lanes.values()} == {first},
                         what="every lane on the item most lanes are on")
        assert screen.pinned is None and screen.followed == first
        stored = await transcript(db_file, sid, first, "demo-pushover")
        assert stored.status == "done"
        fast = screen.lanes["demo-pushover"]
        assert fast.conv is not None and fast.conv.status == "done"
        answers = [t.content for t in stored.turns if t.role == "assistant"]
        await wait_until(pilot, lambda: all(a[:8] in fast.view.text for a in answers), what="the stored answers")
        assert "following" in widget_text(fast.header)
        assert screen.lanes["stuck-a"].conv is screen.st.live[(first, "stuck-a")]  # live, still streaming

        # per-lane follow: the focused lane follows its own model; f brings it back to the shared item
        fast.view.focus()
        await pilot.press("L")
        assert fast.own
        await wait_until(pilot, lambda: "following own" in widget_text(fast.header), what="the lane's own follow")
        await pilot.press("f")
        assert not fast.own and fast.item_id == first
        screen.stop_run()
        await finished(pilot, screen)


def scripted(events: list, hold: asyncio.Event):
    """A session's events as a test scripts them, then nothing until `hold` is set (the run goes on)."""

    async def stream():
        for event in events:
            yield 0.0, event
        await hold.wait()

    return stream


async def test_a_lane_not_yet_on_the_followed_item_shows_it_waiting(db_file, demo_url):
    """Two targets on item 2, one still on item 1: every lane shows item 2, the third as waiting; when the
    third reaches it, its lane streams it live."""
    sid, _ = await demo_session(db_file, demo_url, limit=3, personas=("demo-guardian", "demo-refuser",
                                                                      "demo-wobbly"))
    items = bank(3)
    i0, i1 = items[0].id, items[1].id
    hold = asyncio.Event()
    events = [ConversationStarted(i0, "demo-wobbly"), TurnStarted(i0, "demo-wobbly", 1, items[0].turns[0]),
              ConversationStarted(i1, "demo-guardian"), TurnStarted(i1, "demo-guardian", 1, items[1].turns[0]),
              TokenDelta(i1, "demo-guardian", 1, "好的，"),
              ConversationStarted(i1, "demo-refuser"), TurnStarted(i1, "demo-refuser", 1, items[1].turns[0])]
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        source = StoredSource(scripted(events, hold), None)
        screen = RunScreen(sid, start=True, source=source)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.state is not None and all(
            lane.item_id == i1 for lane in screen.lanes.values()), what="every lane on item 2")
        behind = screen.lanes["demo-wobbly"]
        await wait_until(pilot, lambda: "waiting: this model has not reached it yet" in behind.view.text,
                         what="the behind lane waiting")
        assert "好的，" in screen.lanes["demo-guardian"].view.text  # the others stream it
        screen.bridge(ConversationFinished(i0, "demo-wobbly", "done"))
        screen.bridge(ConversationStarted(i1, "demo-wobbly"))
        screen.bridge(TurnStarted(i1, "demo-wobbly", 1, items[1].turns[0]))
        screen.bridge(TokenDelta(i1, "demo-wobbly", 1, "我来了"))
        await wait_until(pilot, lambda: "我来了" in behind.view.text, what="the lane streaming it live")
        assert behind.conv is screen.st.live[(i1, "demo-wobbly")]
        hold.set()
        await wait_until(pilot, lambda: not source.running, what="the source to end")


async def test_side_by_side_two_models_then_one_models_r1_beside_r2(db_file, demo_url):
    sid, config = await demo_session(db_file, demo_url, limit=2)
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        item = screen.st.order[-1]
        answers = {t: {r.round: r.content for r in (await transcript(db_file, sid, item, t)).turns
                       if r.role == "assistant"} for t in screen.lanes}
        await pilot.press("equals_sign")
        await wait_until(pilot, lambda: isinstance(app.screen, SideBySideScreen), what="the side-by-side view")
        view = app.screen
        left, right = view.panes
        first, second = list(screen.lanes)[:2]
        assert (left.choice.target, left.choice.round) == (first, 2)  # two models, the same round
        assert (right.choice.target, right.choice.round) == (second, 2)
        await wait_until(pilot, lambda: answers[first][2][:10] in left.view.text
                         and answers[second][2][:10] in right.view.text, what="both answers")
        assert left.outer_size.width + right.outer_size.width == SIZE[0]  # full width, half each
        assert "R2" in widget_text(left.header) and first in widget_text(left.header)

        # one model's R1 beside its R2: the left pane to R1, the right pane to the first model
        await pilot.press("u")
        assert left.choice.round == 1
        right.focus()
        await pilot.press("comma")
        assert (right.choice.target, right.choice.round) == (first, 2)
        await wait_until(pilot, lambda: answers[first][1][:10] in left.view.text
                         and answers[first][2][:10] in right.view.text, what="R1 beside R2")
        await pilot.press("full_stop", "full_stop")
        assert right.choice.target == list(screen.lanes)[2]
        await pilot.press("escape")
        assert app.screen is screen
