"""What is stored stays whole: partial saves never overwrite final ones, the search index follows the
turns, damaged answers from older builds are found and redone, one process runs a session at a time, a
full disk stops a run with one line and leaves it resumable, and read commands never write."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_helpers import TAXONOMY, bank, config_for
from waiting import settle, wait_for

from scsafety_tui.cli import main
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store, StoreError, StoreWriteError
from scsafety_tui.store.lock import SessionLock, SessionLocked

PY = sys.executable


def fts_consistent(db: str) -> None:
    """Raises when the search index disagrees with the turns' text."""
    con = sqlite3.connect(db)
    try:
        con.execute("INSERT INTO turn_fts(turn_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        con.close()


async def _one_turn(store: Store) -> int:
    sid = await create_session(store, config_for("http://127.0.0.1:9/v1", ("demo-guardian",)), TAXONOMY,
                               bank(1), name="t")
    conv = (await store.conversations(sid))[0]
    await store.add_user_turn(conv.id, 0, 1, "问题")
    return await store.start_answer(conv.id, 0, 1, time.time())


# ---------------------------------------------------------------- partial saves and the index

async def test_a_partial_save_that_loses_the_race_never_overwrites_the_final_answer(db_file):
    store = await Store.open(db_file)
    try:
        tid = await _one_turn(store)
        await store.save_partials([("这是部分", "", tid)])
        final = "这是完整的回答，一个字也不能少。"
        await store.finish_answer(tid, content=final, status="done", chunks=[(0.0, final)])
        await store.save_partials([("这是部分回答", "", tid)])  # the saver's batch, gathered before the end
        await store.save_partials([("", "", tid)])  # a retry had cleared the chunks
        rows = await store.fetchall("SELECT content, status FROM turn WHERE id = ?", (tid,))
        assert tuple(rows[0]) == (final, "done")
    finally:
        await store.close()
    fts_consistent(db_file)
    store = await Store.open(db_file)
    try:
        hits = await queries.search(store, "一个字也不能少")
        assert [h[4] for h in hits] == [final]
        assert await queries.search(store, "这是部分回答") == []
    finally:
        await store.close()


async def test_an_ended_conversation_never_keeps_a_streaming_answer(db_file):
    # a cancel that lands while the answer's insert is in flight leaves nobody to finish that turn
    store = await Store.open(db_file)
    try:
        tid = await _one_turn(store)
        conv = (await store.conversations(1))[0]
        await store.finish_conversation(conv.id, 0, "cancelled", "cancelled")
        rows = await store.fetchall("SELECT status, error_kind FROM turn WHERE id = ?", (tid,))
        assert tuple(rows[0]) == ("cancelled", "cancelled")
        await store.save_partials([("迟到的部分", "", tid)])  # and no partial save revives it
        assert (await store.fetchall("SELECT content FROM turn WHERE id = ?", (tid,)))[0][0] == ""
    finally:
        await store.close()


async def test_search_index_follows_every_write_and_is_rebuilt_when_it_does_not(db_file):
    store = await Store.open(db_file)
    try:
        tid = await _one_turn(store)
        await store.save_partials([("流式的部分内容", "", tid)])
        await store.finish_answer(tid, content="最终的完整内容", status="done")
        await store.sync()
        assert [h[4] for h in await queries.search(store, "完整内容")] == ["最终的完整内容"]
        assert await queries.search(store, "部分内容") == []
        assert await store.repair_search_index() is False
        # an index out of step (as a failed write of an older build left it) is found and rebuilt
        await store.conn.execute("INSERT INTO turn_fts(rowid, content) VALUES (?, '幽灵文字出现')", (tid,))
        await store.conn.commit()
        assert await store.repair_search_index() is True
    finally:
        await store.close()
    fts_consistent(db_file)


def _v2_database(path: str) -> None:
    """A database as schema v2 builds wrote it, with a turn whose text a partial save cut short."""
    from scsafety_tui.store.schema import MIGRATIONS

    con = sqlite3.connect(path)
    for step in (0, 1):
        con.executescript(f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;")
    con.execute("INSERT INTO session (id, name, kind, created_at, status) VALUES (1, 'old', 'run', 0, 'done')")
    con.execute("INSERT INTO target (id, session_id, position, key, provider, base_url, model)"
                " VALUES (1, 1, 0, 'm', 'openai', 'http://127.0.0.1/v1', 'm')")
    con.execute("INSERT INTO item (id, session_id, position, item_key, category, sub_dimension, data)"
                " VALUES (1, 1, 0, 'q1', 'traditional', 'crime', '{\"turns\": [\"q\"]}')")
    con.execute("INSERT INTO conversation (id, session_id, item_id, target_id, status) VALUES (1, 1, 1, 1, 'done')")
    # streamed 3 chunks (4 + 4 + 3 characters), indexed at the end, then overwritten by a partial
    con.execute("INSERT INTO turn (id, conversation_id, round, role, content, status, timeline) VALUES"
                " (1, 1, 1, 'assistant', '我不能帮你', 'streaming', '[0,4,10,4,20,3]')")
    con.execute("UPDATE turn SET content = '我不能帮你做这件事，请求助', status = 'done' WHERE id = 1")
    con.execute("UPDATE turn SET content = '我不能帮你' WHERE id = 1")
    con.commit()
    con.close()


async def test_an_older_database_is_migrated_with_its_index_rebuilt_and_damage_found(tmp_path):
    path = str(tmp_path / "v2.db")
    _v2_database(path)
    store = await Store.open(path)
    try:
        assert await queries.damaged_answers(store, 1) == [1]
        assert "resume 1 --retry-errors --db" in queries.damaged_notice(1, 1, path)
    finally:
        await store.close()
    fts_consistent(path)


def test_damaged_answers_are_announced_once_and_redone_by_retry_errors(tmp_path, capsys):
    db = str(tmp_path / "d.db")
    assert main(["demo", "--headless", "--speed", "instant", "--limit", "3", "--db", db]) == 0
    con = sqlite3.connect(db)
    tid, full = con.execute("SELECT id, content FROM turn WHERE role = 'assistant' AND round = 2"
                            " ORDER BY id LIMIT 1").fetchone()
    con.execute("UPDATE turn SET content = substr(content, 1, 5) WHERE id = ?", (tid,))  # as the race did
    con.commit()
    con.close()
    capsys.readouterr()
    assert main(["show", "last", "--db", db]) == 0
    err = capsys.readouterr().err
    assert err.count("stored shorter than it streamed") == 1 and "--retry-errors" in err
    assert main(["resume", "last", "--retry-errors", "--db", db]) == 0
    con = sqlite3.connect(db)
    redone = con.execute("""SELECT t.content, t.timeline FROM turn t JOIN conversation c
                            ON c.id = t.conversation_id AND t.attempt = c.attempt
                            WHERE t.role = 'assistant' AND t.status = 'done'""").fetchall()
    assert redone and all(len(c) == sum(json.loads(tl)[1::2]) for c, tl in redone)
    assert full in {c for c, _ in redone}  # the demo persona answers the same again
    con.close()
    capsys.readouterr()
    assert main(["show", "last", "--db", db]) == 0
    assert "stored shorter" not in capsys.readouterr().err


# ---------------------------------------------------------------- one runner per session

async def test_the_lock_is_exclusive_and_a_dead_holders_lock_is_taken_over(db_file):
    store = await Store.open(db_file)
    try:
        sid = (await _session(store))
        lock = await SessionLock.acquire(store, sid)
        with pytest.raises(SessionLocked, match=rf"session {sid} is being run by this process"):
            await SessionLock.acquire(store, sid)
        await lock.release()
        again = await SessionLock.acquire(store, sid)
        await again.release()
        # a holder that died (its pid is gone) leaves a stale lock
        dead = subprocess.Popen([PY, "-c", "pass"])
        dead.wait()
        await store.swap("UPDATE session SET lock_token = 'x', lock_pid = ?, lock_host = ?, lock_at = 0,"
                         " lock_beat = ? WHERE id = ?", (dead.pid, os.uname().nodename, time.time(), sid))
        taken = await SessionLock.acquire(store, sid)
        assert await taken.beat() is True
        # a holder elsewhere whose heartbeat stopped long ago is stale too; one that beats is not
        await store.swap("UPDATE session SET lock_token = 'y', lock_pid = 1, lock_host = 'elsewhere',"
                         " lock_beat = ? WHERE id = ?", (time.time(), sid))
        assert await taken.beat() is False  # it lost the lock: a run would stop here
        with pytest.raises(SessionLocked, match="on elsewhere"):
            await SessionLock.acquire(store, sid)
        await store.swap("UPDATE session SET lock_beat = ? WHERE id = ?", (time.time() - 3600, sid))
        await (await SessionLock.acquire(store, sid)).release()
    finally:
        await store.close()


async def _session(store: Store) -> int:
    return await create_session(store, config_for("http://127.0.0.1:9/v1", ("demo-guardian",)), TAXONOMY,
                                bank(2), name="locked")


def _config(path: Path, url: str) -> Path:
    lines = []
    for key in ("guardian", "pushover"):
        lines += ["[[targets]]", f'key = "{key}"', f'base_url = "{url}"', f'model = "demo-{key}"',
                  "concurrency = 2", ""]
    lines += ["[judge]", 'mode = "model"', "[[judge.targets]]", 'key = "judge"', f'base_url = "{url}"',
              'model = "demo-judge"', "concurrency = 8", "", "[run]", "limit = 6"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _turns(db: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, conversation_id, attempt, round, role, status, content FROM turn"
                           " ORDER BY id").fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def _lock_pid(db: str) -> int | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT lock_pid FROM session WHERE id = 1").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None
    finally:
        con.close()


def test_a_second_process_refuses_a_running_session_then_takes_over_a_killed_one(tmp_path, slow_demo_server):
    cfg = _config(tmp_path / "c.toml", slow_demo_server)
    db = str(tmp_path / "s.db")
    first = subprocess.Popen([PY, "-m", "scsafety_tui", "run", "--config", str(cfg), "--headless", "--db", db],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: _lock_pid(db) == first.pid and len(_turns(db)) >= 4, 60, "the first process to run")
    before = _turns(db)
    second = subprocess.run([PY, "-m", "scsafety_tui", "resume", "1", "--config", str(cfg), "--db", db],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"session 1 is being run by pid {first.pid}" in lines[0], second.stderr
    assert "Traceback" not in second.stderr
    after = _turns(db)
    assert set(before) - set(after) <= {t for t in before if t[5] == "streaming"}, "no turn was deleted"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    third = subprocess.run([PY, "-m", "scsafety_tui", "resume", "1", "--config", str(cfg), "--db", db],
                           capture_output=True, text=True, timeout=240)
    assert third.returncode == 0, third.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM conversation WHERE status = 'done'").fetchone()[0] == 12
    assert con.execute("SELECT lock_token FROM session WHERE id = 1").fetchone()[0] is None  # released
    # every answer of the taken-over run has exactly one verdict, and none was judged twice
    assert con.execute("""SELECT count(*) FROM turn t JOIN conversation c ON c.id = t.conversation_id
                          AND t.attempt = c.attempt WHERE t.role = 'assistant'""").fetchone()[0] == 24
    assert con.execute("SELECT count(*) FROM verdict").fetchone()[0] == 24
    con.close()


# ---------------------------------------------------------------- a full disk

async def test_a_full_database_stops_the_run_at_once_and_the_session_resumes(db_file, demo_url):
    unobserved: list[object] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unobserved.append(context))
    config = config_for(demo_url)
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config, TAXONOMY, bank(40), name="full")
        pages = (await store.fetchall("PRAGMA page_count"))[0][0]
        await store.conn.execute(f"PRAGMA max_page_count = {pages + 6}")  # the disk fills a little later
        srun = await prepare(store, sid, lambda _e: None, config=config)
        with pytest.raises(StoreWriteError, match="database or disk is full"):
            await asyncio.wait_for(srun.run(), 60)
        with pytest.raises(StoreWriteError):  # the store refuses every later write rather than half-save
            await store.set_session_status(sid, "done")
    finally:
        await store.close()
    await settle()
    gc.collect()  # a task whose exception nobody retrieved reports it when collected
    await settle()
    assert unobserved == [], "no task failed unobserved"
    fts_consistent(db_file)
    store = await Store.open(db_file)  # space is back
    try:
        srun = await prepare(store, sid, lambda _e: None, config=config)
        assert await srun.run() == "done"
        counts = await queries.status_counts(store, sid)
        assert counts == {"done": 160}
    finally:
        await store.close()
    fts_consistent(db_file)


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_a_full_disk_is_one_line_exit_2_and_a_resumable_session(tmp_path):
    disk = tmp_path / "small"
    if not _mount_tmpfs(disk, "400k"):
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    try:
        db = str(disk / "s.db")
        proc = subprocess.run([PY, "-m", "scsafety_tui", "demo", "--headless", "--speed", "instant",
                               "--db", db], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "disk is full" in lines[0] and "resume" in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout and "never retrieved" not in proc.stderr
        moved = str(tmp_path / "s.db")
        for suffix in ("", "-wal", "-shm"):
            if Path(db + suffix).exists():
                shutil.copy(db + suffix, moved + suffix)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
    done = subprocess.run([PY, "-m", "scsafety_tui", "resume", "1", "--db", moved], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(moved)
    assert con.execute("SELECT count(*) FROM conversation WHERE status = 'done'").fetchone()[0] == 400
    con.close()
    fts_consistent(moved)


# ---------------------------------------------------------------- read commands never write

def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_read_commands_open_read_only_and_refuse_foreign_or_missing_files(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    db = str(data / "s.db")
    assert main(["demo", "--headless", "--speed", "instant", "--limit", "2", "--db", db]) == 0
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for extra in ("-wal", "-shm"):
        Path(db + extra).unlink(missing_ok=True)
    os.chmod(db, 0o444)
    before = _digest(data)
    capsys.readouterr()
    assert main(["sessions", "--db", db]) == 0
    assert main(["show", "last", "--db", db]) == 0
    assert main(["export", "last", "--format", "json", "--db", db]) == 0
    out = capsys.readouterr().out
    assert '"conversations"' in out and "SC-Safety overall" in out
    assert _digest(data) == before, "a read command wrote to the database folder"

    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('mine')")
    con.commit()
    con.close()
    raw = foreign.read_bytes()
    for argv in (["show", "last", "--db", str(foreign)], ["sessions", "--db", str(foreign)],
                 ["demo", "--headless", "--limit", "1", "--speed", "instant", "--db", str(foreign)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "not a scsafety-tui database" in err and len(err.strip().splitlines()) == 1
    assert foreign.read_bytes() == raw
    con = sqlite3.connect(foreign)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["notes"]
    con.close()

    typo = tmp_path / "nope" / "sesions.db"
    for argv in (["show", "last"], ["sessions"], ["export", "last", "--format", "md"]):
        assert main([*argv, "--db", str(typo)]) == 2
        assert "no such database" in capsys.readouterr().err
    assert not typo.parent.exists()


async def test_an_older_database_is_read_without_being_upgraded_on_disk(tmp_path):
    path = str(tmp_path / "v2.db")
    _v2_database(path)
    raw = Path(path).read_bytes()
    store = await Store.open(path, readonly=True)
    try:
        assert [s.name for s in await queries.list_sessions(store)] == ["old"]
        assert await queries.damaged_answers(store, 1) == [1]  # read through an upgraded copy in memory
    finally:
        await store.close()
    assert Path(path).read_bytes() == raw
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    con.close()
    await (await Store.open(path)).close()  # a writer upgrades it
    store = await Store.open(path, readonly=True)
    try:
        with pytest.raises(StoreWriteError, match="readonly"):
            await store.rename_session(1, "renamed")
    finally:
        await store.close()
    with pytest.raises(StoreError, match="no such database"):
        await Store.open(str(tmp_path / "missing.db"), readonly=True)


async def test_space_on_a_session_another_process_runs_refuses_and_touches_nothing(db_file, demo_url):
    from test_tui_support import SIZE, Notes, run_screen, wait_until
    from textual.widgets import DataTable

    from scsafety_tui.tui.app import ScSafetyApp

    config = config_for(demo_url, ("demo-guardian",))
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config, TAXONOMY, bank(2), name="held elsewhere")
        conv = (await store.conversations(sid))[0]
        await store.start_conversation(conv.id, 0)
        await store.add_user_turn(conv.id, 0, 1, "另一个进程正在问的问题")
        await store.sync()
    finally:
        await store.close()
    holder = subprocess.Popen([PY, "-c", "import signal; signal.pause()"])  # a live process holds it, until killed
    try:
        con = sqlite3.connect(db_file)
        con.execute("UPDATE session SET lock_token = 'other', lock_pid = ?, lock_host = ?, lock_at = ?,"
                    " lock_beat = ? WHERE id = ?", (holder.pid, os.uname().nodename, time.time(), time.time(),
                                                    sid))
        con.commit()
        con.close()
        before = _turns(db_file)
        app = ScSafetyApp(db=db_file, run_config=config)
        notes = Notes()
        async with app.run_test(size=SIZE, message_hook=notes) as pilot:
            table = app.screen.query_one("#sessions", DataTable)
            await wait_until(pilot, lambda: table.row_count == 1, what="the session list")
            await pilot.press("space")
            run = await run_screen(pilot)
            await wait_until(pilot, lambda: notes.seen(f"being run by pid {holder.pid}"), what="the refusal")
            await wait_until(pilot, lambda: run.run_state == "failed" and not run.running, what="the stop")
        assert _turns(db_file) == before, "the other process's turns were left alone"
    finally:
        holder.kill()
        holder.wait()
