"""The SQLite store: round trip, migrations, bad files, replay equal to live, Chinese substring search."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from engine_helpers import TAXONOMY, bank, config_for, run_session

from scsafety_tui.events import ConversationFinished, Progress, TokenDelta
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store, StoreError, decode_timeline, encode_timeline
from scsafety_tui.store.replay import timed_events
from scsafety_tui.store.schema import MIGRATIONS, SCHEMA_VERSION


def test_timeline_round_trip_is_exact():
    chunks = [(0.1, "你好"), (0.25, "，"), (0.4, "[bold]x[/]"), (1.0, "\x1b[2J")]
    content = "".join(t for _, t in chunks)
    assert decode_timeline(encode_timeline(chunks), content) == chunks


async def test_round_trip_of_a_session(demo_url, db_file):
    items = bank(3)
    sid, _, events = await run_session(db_file, config_for(demo_url, ("demo-guardian", "demo-wobbly")), items,
                                       name="轮回 round trip")
    store = await Store.open(db_file)
    try:
        (summary,) = await queries.list_sessions(store)
        assert (summary.name, summary.kind, summary.status, summary.items, summary.done) == (
            "轮回 round trip", "run", "done", 3, 6)
        assert summary.targets == ("demo-guardian", "demo-wobbly")
        assert await queries.items(store, sid) == items
        tr = await queries.transcript(store, sid, items[0].id, "demo-wobbly")
        assert [(t.round, t.role) for t in tr.turns] == [(1, "user"), (1, "assistant"), (2, "user"),
                                                          (2, "assistant")]
        assert tr.turns[0].content == items[0].turns[0]
        live = "".join(e.text for e in events if isinstance(e, TokenDelta) and e.item_id == items[0].id
                       and e.target == "demo-wobbly" and e.round == 1)
        assert tr.turns[1].content == live and "".join(t for _, t in tr.turns[1].chunks()) == live
        assert tr.turns[1].verdicts[0].judge == "demo-judge" and tr.turns[1].verdicts[0].raw.startswith("{")
        assert await queries.resolve_session(store, "轮回") == sid == await queries.resolve_session(store, "last")
        with pytest.raises(StoreError, match="no session matches"):
            await queries.resolve_session(store, "nothing")
    finally:
        await store.close()


async def test_snapshot_holds_no_secret(demo_url, db_file, monkeypatch):
    from dataclasses import replace

    monkeypatch.setenv("SCS_DEMO_SECRET", "sk-top-secret-value")
    config = config_for(demo_url, ("demo-guardian",))
    target = replace(config.targets[0], api_key_env="SCS_DEMO_SECRET", headers={"X-Org": "org-secret"})
    config = replace(config, targets=(target,))
    await run_session(db_file, config, bank(1))
    raw = b"".join(p.read_bytes() for p in Path(db_file).parent.glob(Path(db_file).name + "*"))
    assert b"sk-top-secret-value" not in raw and b"org-secret" not in raw
    con = sqlite3.connect(db_file)
    assert b"SCS_DEMO_SECRET" in con.execute("SELECT config FROM session").fetchone()[0].encode()


async def test_migration_from_version_1_keeps_data_and_indexes_it(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    con.execute("INSERT INTO session (id, name, kind, created_at) VALUES (1, 'old', 'run', 0)")
    con.execute("INSERT INTO target (id, session_id, position, key, provider, base_url, model)"
                " VALUES (1, 1, 0, 'm', 'openai', 'http://127.0.0.1/v1', 'm')")
    con.execute("INSERT INTO item (id, session_id, position, item_key, category, sub_dimension, data)"
                " VALUES (1, 1, 0, 'q1', 'traditional', 'crime', '{}')")
    con.execute("INSERT INTO conversation (id, session_id, item_id, target_id, status) VALUES (1, 1, 1, 1, 'done')")
    con.execute("INSERT INTO turn (conversation_id, round, role, content) VALUES (1, 1, 'assistant',"
                " '我不能提供制造炸弹的方法')")
    con.commit()
    con.close()
    store = await Store.open(path)
    try:
        assert (await store.fetchall("PRAGMA user_version"))[0][0] == SCHEMA_VERSION
        assert [r[4] for r in await queries.search(store, "炸弹的方法")] == ["我不能提供制造炸弹的方法"]
        assert len(await queries.search(store, "炸弹")) == 1  # two characters: the LIKE fallback
    finally:
        await store.close()


async def test_newer_schema_and_garbage_files_are_clear_errors(tmp_path):
    newer = tmp_path / "newer.db"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    con.close()
    with pytest.raises(StoreError, match="newer than this build"):
        await Store.open(newer)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable scsafety-tui database"):
        await Store.open(garbage)
    assert garbage.read_bytes().startswith(b"this is not")  # nothing already there is overwritten


async def test_search_finds_chinese_substrings_in_answers_and_questions(demo_url, db_file):
    items = bank(2)
    _sid, _, _ = await run_session(db_file, config_for(demo_url, ("demo-guardian",)), items)
    store = await Store.open(db_file)
    try:
        needle = items[1].turns[1][2:6]
        hits = await queries.search(store, needle)
        assert any(needle in h[4] and h[1] == items[1].id for h in hits)
        assert await queries.search(store, "完全不会出现的字串") == []
    finally:
        await store.close()


async def test_replay_stream_equals_live_stream(demo_url, db_file):
    items = bank(4)
    sid, _, live = await run_session(db_file, config_for(demo_url), items)
    store = await Store.open(db_file)
    try:
        replayed = [e async for _, e in timed_events(store, sid)]  # what the replay screen streams
    finally:
        await store.close()

    def key(events):
        # Per conversation and round. A round's verdict may land before or after the next round's first
        # chunk (judging runs beside the next turn), so only the order inside a round is fixed.
        out: dict = {}
        for e in events:
            if hasattr(e, "item_id"):
                out.setdefault((e.item_id, e.target, getattr(e, "round", 0)), []).append(e)
        return out

    assert key(replayed) == key(live)  # every round: same events, same order, same content
    from scsafety_tui.events import TurnCompleted, TurnStarted

    for stream in (live, replayed):  # round r+1 starts only after round r completed
        seen: dict = {}
        for e in stream:
            if isinstance(e, TurnStarted) and e.round > 1:
                assert seen.get((e.item_id, e.target)) == e.round - 1
            if isinstance(e, TurnCompleted):
                seen[e.item_id, e.target] = e.round
    assert replayed[0] == live[0]  # SessionStarted: targets, items, judges
    assert sum(isinstance(e, ConversationFinished) for e in replayed) == 16
    assert [e for e in replayed if isinstance(e, Progress)][-1].done == 16


def test_taxonomy_fixture_is_default():
    assert TAXONOMY.sub_dimension("crime") is not None
