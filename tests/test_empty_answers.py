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
