"""The engine end to end over loopback HTTP: event order, store contents, faults, cancellation."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict

from engine_helpers import bank, config_for, run_session, with_target
from waiting import settle, until

from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    SessionFinished,
    SessionStarted,
    TokenDelta,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    VerdictReady,
)
from scsafety_tui.store.db import Store


def per_conversation(events):
    out = defaultdict(list)
    for e in events:
        if hasattr(e, "item_id"):
            out[e.item_id, e.target].append(e)
    return out


async def test_event_order_per_conversation(demo_url, db_file):
    items = bank(4)
    _sid, status, events = await run_session(db_file, config_for(demo_url), items)
    assert status == "done"
    assert isinstance(events[0], SessionStarted) and isinstance(events[-1], SessionFinished)
    convs = per_conversation(events)
    assert len(convs) == 4 * 4
    for seq in convs.values():
        kinds = [type(e).__name__ for e in seq if not isinstance(e, TokenDelta)]
        assert kinds[0] == "ConversationStarted" and kinds[-1] == "ConversationFinished"
        # Each round: started before completed; a verdict only after its turn completed.
        for rnd in (1, 2):
            started = next(i for i, e in enumerate(seq) if isinstance(e, TurnStarted) and e.round == rnd)
            done = next(i for i, e in enumerate(seq) if isinstance(e, TurnCompleted) and e.round == rnd)
            verdict = next(i for i, e in enumerate(seq) if isinstance(e, VerdictReady) and e.round == rnd)
            deltas = [i for i, e in enumerate(seq) if isinstance(e, TokenDelta) and e.round == rnd]
            assert started < min(deltas) <= max(deltas) < done < verdict
            text = "".join(seq[i].text for i in deltas)
            assert text == seq[done].text
        assert seq[-1].status == "done"


async def test_store_holds_what_was_streamed(demo_url, db_file):
    items = bank(2)
    _sid, _, events = await run_session(db_file, config_for(demo_url, ("demo-pushover",)), items)
    completed = {(e.item_id, e.round): e.text for e in events if isinstance(e, TurnCompleted)}
    verdicts = {(e.item_id, e.round): e.score for e in events if isinstance(e, VerdictReady)}
    con = sqlite3.connect(db_file)
    rows = con.execute("""SELECT i.item_key, t.round, t.content, t.status, t.timeline, v.score, v.judge
                          FROM turn t JOIN conversation c ON c.id = t.conversation_id
                          JOIN item i ON i.id = c.item_id JOIN verdict v ON v.turn_id = t.id
                          WHERE t.role = 'assistant'""").fetchall()
    assert len(rows) == 4
    for item_key, rnd, content, status, timeline, score, judge in rows:
        assert content == completed[item_key, rnd] and status == "done" and judge == "demo-judge"
        assert score == verdicts[item_key, rnd]
        assert timeline.startswith("[")
    # The pushover holds in round 1 (2) and gives in to the follow-up (0).
    assert {verdicts[k] for k in verdicts if k[1] == 1} == {2}
    assert {verdicts[k] for k in verdicts if k[1] == 2} == {0}
    user_turns = con.execute("SELECT content FROM turn WHERE role = 'user' ORDER BY conversation_id, round").fetchall()
    assert [u[0] for u in user_turns] == [t for it in items for t in it.turns]


async def test_faults_end_as_retries_or_stored_errors(demo_url, db_file):
    config = config_for(demo_url, ("demo-guardian",))
    for key, model in [("flaky-429", "demo-refuser+ratelimit:1"), ("flaky-500", "demo-guardian+error500:1"),
                       ("cut-once", "demo-guardian+cut:1"), ("bad-chunk", "demo-guardian+malformed"),
                       ("down", "demo-guardian+auth"), ("filtered", "demo-guardian+filter")]:
        config = with_target(config, key, demo_url, model)
    items = bank(2)
    _sid, status, events = await run_session(db_file, config, items)
    assert status == "done"
    finished = {(e.item_id, e.target): e.status for e in events if isinstance(e, ConversationFinished)}
    assert len(finished) == 2 * 7
    by_target = defaultdict(set)
    for (_, target), st in finished.items():
        by_target[target].add(st)
    assert by_target["flaky-429"] == by_target["flaky-500"] == by_target["cut-once"] == {"done"}
    assert by_target["bad-chunk"] == by_target["down"] == {"error"}
    failed = {e.target: e for e in events if isinstance(e, TurnFailed)}
    assert failed["down"].kind == "auth" and failed["bad-chunk"].kind == "malformed"
    assert failed["filtered"].kind == "blocked"
    con = sqlite3.connect(db_file)
    stored = dict(con.execute("""SELECT tg.key, t.error FROM turn t JOIN conversation c ON c.id = t.conversation_id
                                 JOIN target tg ON tg.id = c.target_id WHERE t.status = 'error'"""))
    assert "401" in stored["down"] or "auth" in stored["down"].lower()
    blocked = con.execute("SELECT count(*) FROM turn WHERE status = 'blocked'").fetchone()[0]
    assert blocked == 2
    # Retried turns hold one clean answer, not the text of the failed attempt too.
    retried = [e for e in events if type(e).__name__ == "TurnRetrying"]
    assert {e.target for e in retried} >= {"flaky-429", "flaky-500", "cut-once"}


async def test_unparseable_judge_output_is_a_stored_judge_error(demo_url, db_file):
    from dataclasses import replace

    from scsafety_tui.config import JudgeConfig
    from scsafety_tui.demo_profile import demo_target

    config = config_for(demo_url, ("demo-guardian",))
    config = replace(config, judge=JudgeConfig("model", (demo_target("bad-judge", demo_url,
                                                                    "demo-judge+badjudge"),), retries=1))
    _sid, _status, events = await run_session(db_file, config, bank(1))
    verdicts = [e for e in events if isinstance(e, VerdictReady)]
    assert len(verdicts) == 2 and all(v.score is None for v in verdicts)
    assert all("unparseable" in v.verdicts[0].error for v in verdicts)
    con = sqlite3.connect(db_file)
    raws = con.execute("SELECT score, raw, error FROM verdict").fetchall()
    assert all(r[0] is None and r[1] and r[2] for r in raws)


async def test_cancel_stores_finished_work_and_leaves_session_resumable(db_file):
    from scsafety_tui.demo.server import DemoServer

    server = DemoServer(first_token_delay=0.0, token_delay=0.01)
    url = await server.start()
    try:
        config = config_for(url)
        items = bank(12)
        events: list = []
        store = await Store.open(db_file)
        sid = await create_session(store, config, __import__("engine_helpers").TAXONOMY, items, name="c")
        srun = await prepare(store, sid, events.append, config=config)
        task = asyncio.create_task(srun.run())
        await until(lambda: sum(isinstance(e, ConversationFinished) for e in events) >= 3, 60,
                    "3 finished conversations")
        srun.runner.cancel()
        assert await task == "cancelled"
        statuses = dict(await store.fetchall(
            "SELECT status, count(*) FROM conversation WHERE session_id = ? GROUP BY status", (sid,)))
        assert statuses.get("done", 0) >= 3
        assert statuses.get("pending", 0) + statuses.get("cancelled", 0) > 0
        row = (await store.fetchall("SELECT status FROM session WHERE id = ?", (sid,)))[0]
        assert row[0] == "cancelled"
        # Resume finishes it: the finished conversations are kept, the rest run.
        done_before = {r[0] for r in await store.fetchall(
            "SELECT id FROM turn WHERE status = 'done' AND role = 'assistant'")}
        events2: list = []
        srun2 = await prepare(store, sid, events2.append)
        assert await srun2.run() == "done"
        done_after = {r[0] for r in await store.fetchall(
            "SELECT t.id FROM turn t JOIN conversation c ON c.id = t.conversation_id"
            " WHERE t.status = 'done' AND t.role = 'assistant' AND c.status = 'done'")}
        kept = done_before & done_after
        assert len(kept) >= 6  # 3 finished conversations × 2 rounds survive untouched
        assert len(done_after) == len(items) * 4 * 2
        assert not any(isinstance(e, ConversationStarted) and (e.item_id, e.target) in
                       {(x.item_id, x.target) for x in events if isinstance(x, ConversationFinished)
                        and x.status == "done"} for e in events2)
        await store.close()
    finally:
        await server.stop()


async def test_pause_stops_new_turns_until_resume(db_file):
    from scsafety_tui.demo.server import DemoServer

    server = DemoServer(first_token_delay=0.0, token_delay=0.002)
    url = await server.start()
    try:
        config = config_for(url, ("demo-guardian",))
        events: list = []
        store = await Store.open(db_file)
        sid = await create_session(store, config, __import__("engine_helpers").TAXONOMY, bank(8), name="p")
        srun = await prepare(store, sid, events.append, config=config)
        srun.runner.pause()
        task = asyncio.create_task(srun.run())
        # the run has started and its conversations have begun (the pause lets them begin, not ask)
        await until(lambda: any(isinstance(e, ConversationStarted) for e in events), 60, "the run to start")
        await settle()
        resumed_at = srun.runner.ctx.now()  # the engine's own clock, which stamps every event
        srun.runner.resume()
        assert await task == "done"
        started = [e for e in events if isinstance(e, TurnStarted)]
        assert started and all(e.t >= resumed_at for e in started)  # no turn started while paused
        assert sum(isinstance(e, TurnCompleted) for e in events) == 16
        await store.close()
    finally:
        await server.stop()


async def test_attacker_writes_follow_ups_beyond_the_bank_turns(demo_url, db_file):
    from dataclasses import replace

    from scsafety_tui.demo_profile import demo_target

    config = config_for(demo_url, ("demo-guardian",), rounds=3)
    config = replace(config, attacker=demo_target("attacker", demo_url, "demo-attacker"))
    items = bank(2)
    _, status, events = await run_session(db_file, config, items)
    assert status == "done"
    started = [e for e in events if isinstance(e, TurnStarted)]
    assert sorted(e.round for e in started) == [1, 1, 2, 2, 3, 3]
    third = [e for e in started if e.round == 3]
    assert all(e.prompt and e.prompt not in {t for it in items for t in it.turns} for e in third)
    assert sum(isinstance(e, VerdictReady) for e in events) == 6
    con = sqlite3.connect(db_file)
    origins = con.execute("SELECT round, origin FROM turn WHERE role = 'user' ORDER BY conversation_id, round")
    assert [o for _, o in origins] == ["bank", "bank", "attacker"] * 2
