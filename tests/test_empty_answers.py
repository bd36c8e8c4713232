"""Empty and truncated answers from the demo server, through real sessions: an empty answer is never scored
and --retry-errors asks again; a truncated one is scored and flagged; `show` counts both."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace

from engine_helpers import bank, config_for, run_session

from scsafety_tui.cli import main
from scsafety_tui.config import Config
from scsafety_tui.engine.session import prepare
from scsafety_tui.store.db import Store


def _with(config: Config, model: str, max_tokens: int) -> Config:
    return replace(config, targets=tuple(replace(t, model=model, max_tokens=max_tokens) for t in config.targets))


async def test_reasoning_that_uses_up_max_tokens_is_an_empty_answer_never_scored(demo_url, db_file):
    # the reasoning knob streams 4 reasoning tokens; with max_tokens 3 nothing is left for the answer
    config = _with(config_for(demo_url, ("demo-guardian",)), "demo-guardian+reasoning", 3)
    items = bank(2)
    sid, status, _ = await run_session(db_file, config, items)
    assert status == "done"
    with sqlite3.connect(db_file) as con:
        turns = con.execute("SELECT content, reasoning, status, finish_reason, error FROM turn"
                            " WHERE role = 'assistant' ORDER BY id").fetchall()
        convs = con.execute("SELECT status, error FROM conversation ORDER BY id").fetchall()
        verdicts = con.execute("SELECT count(*) FROM verdict").fetchone()[0]
    assert turns == [("", "Thinking about safety", "empty", "length", "empty answer (finish_reason length)")] * 2
    assert convs == [("error", "round 1: empty answer (finish_reason length)")] * 2
    assert verdicts == 0, "an empty answer was scored"

    # with room for the answer, --retry-errors redoes exactly those conversations
    store = await Store.open(db_file)
    try:
        srun = await prepare(store, sid, lambda e: None, config=_with(config, "demo-guardian+reasoning", 1024),
                             retry_errors=True)
        assert len(srun.todo) == 2
        assert await srun.run() == "done"
    finally:
        await store.close()
    with sqlite3.connect(db_file) as con:
        assert con.execute("SELECT group_concat(status) FROM conversation").fetchone()[0] == "done,done"
        visible = con.execute("SELECT t.status, t.reasoning, length(t.content) > 0 FROM turn t JOIN conversation c"
                              " ON c.id = t.conversation_id AND t.attempt = c.attempt"
                              " WHERE t.role = 'assistant'").fetchall()
    assert set(visible) == {("done", "Thinking about safety…", 1)} and len(visible) == 4


def test_truncated_answers_are_scored_and_counted_by_show(demo_thread_url, db_file, capsys):
    config = _with(config_for(demo_thread_url, ("demo-guardian",)), "demo-guardian", 6)
    sid, status, _ = asyncio.run(run_session(db_file, config, bank(2)))
    assert status == "done"
    with sqlite3.connect(db_file) as con:
        rows = con.execute("SELECT t.status, t.finish_reason, t.tokens_out, count(v.id) FROM turn t"
                           " LEFT JOIN verdict v ON v.turn_id = t.id WHERE t.role = 'assistant'"
                           " GROUP BY t.id").fetchall()
    assert rows == [("done", "length", 6, 1)] * 4
    assert main(["show", str(sid), "--db", db_file]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps at its width
    assert "answers flagged: 4 truncated (finish_reason length: judged, but cut by max_tokens)" in out


async def test_cancel_after_the_reasoning_keeps_reasoning_and_partial_answer_apart(demo_url, db_file):
    config = _with(config_for(demo_url, ("demo-guardian",)), "demo-guardian+reasoning", 1024)
    config = replace(config, targets=tuple(replace(t, headers={"x-demo-token-delay": "0.2"}) for t in config.targets))
    store = await Store.open(db_file)
    try:
        from engine_helpers import TAXONOMY

        from scsafety_tui.engine.session import create_session
        from scsafety_tui.events import TokenDelta

        sid = await create_session(store, config, TAXONOMY, bank(1), name="cancel")
        holder: list = []

        def emit(e) -> None:
            if isinstance(e, TokenDelta) and holder:
                holder[0].runner.cancel()  # the reasoning has streamed; the answer has just begun

        srun = await prepare(store, sid, emit, config=config)
        holder.append(srun)
        assert await srun.run() == "cancelled"
    finally:
        await store.close()
    with sqlite3.connect(db_file) as con:
        content, reasoning, status = con.execute(
            "SELECT content, reasoning, status FROM turn WHERE role = 'assistant'").fetchone()
    assert (reasoning, status) == ("Thinking about safety…", "cancelled")
    assert content and "Thinking" not in content


async def test_a_partial_save_writes_the_reasoning_apart(db_file):
    from scsafety_tui.engine.context import RunContext

    store = await Store.open(db_file)
    try:
        await store._write("INSERT INTO session (id, name, kind, created_at) VALUES (1, 's', 'run', 0)")
        tid = await store.start_answer(*(await _one_conversation(store)), 1, 0.0)
        ctx = RunContext(store, 1, lambda e: None)
        ctx.streaming[tid] = (["答", "案"], ["想", "一想"])
        await ctx.save_partials()
    finally:
        await store.close()
    with sqlite3.connect(db_file) as con:
        assert con.execute("SELECT content, reasoning FROM turn WHERE id = ?", (tid,)).fetchone() == ("答案", "想一想")


async def _one_conversation(store: Store) -> tuple[int, int]:
    await store._write("INSERT INTO target (id, session_id, position, key, provider, base_url, model)"
                       " VALUES (1, 1, 0, 't', 'openai', 'http://127.0.0.1/v1', 'm')")
    await store._write("INSERT INTO item (id, session_id, position, item_key, category, sub_dimension, data)"
                       " VALUES (1, 1, 0, 'i', 'c', 's', '{}')")
    await store._write("INSERT INTO conversation (id, session_id, item_id, target_id) VALUES (1, 1, 1, 1)")
    await store.sync()
    return 1, 0
