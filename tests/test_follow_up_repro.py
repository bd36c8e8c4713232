"""Follow-up choices are reproducible: the same seed picks the same templates and strategies in two sessions,
another seed picks differently, a run killed with -9 and resumed asks what was picked at its start (real CLI
processes, a demo server process, real SQLite), and a session whose choices never got stored (its process
died between writing the session and its choices) gets, on resume, the picks of its own seed."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from engine_helpers import TAXONOMY, bank, config_for, run_session
from waiting import wait_for

from scsafety_tui.config import AttackConfig
from scsafety_tui.demo_profile import demo_target
from scsafety_tui.engine.plan import follow_up_choices
from scsafety_tui.engine.session import create_session, fingerprint, prepare, snapshot
from scsafety_tui.store.db import Store


def single_turn(items):
    return [replace(it, turns=it.turns[:1]) for it in items]


def stored_choices(db: str, sid: int) -> dict[str, str]:
    """item → the follow-up each of its conversations got (one value: the same for every target)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT i.item_key, c.follow_up FROM conversation c JOIN item i ON i.id = c.item_id"
                            " WHERE c.session_id = ?", (sid,)).fetchall()
    out: dict[str, set[str]] = {}
    for item, raw in rows:
        doc = json.loads(raw) if raw else {}
        pick = [t["id"] for t in doc.get("templates", [])] or doc.get("strategy") or ""
        out.setdefault(item, set()).add(json.dumps(pick))
    assert all(len(v) == 1 for v in out.values()), out
    return {k: next(iter(v)) for k, v in out.items()}


def asked(db: str, sid: int) -> dict[tuple[str, int], set[str]]:
    """(item, round) → the user messages asked there, over every target."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT i.item_key, t.round, t.content FROM turn t JOIN conversation c ON c.id ="
                            " t.conversation_id AND t.attempt = c.attempt JOIN item i ON i.id = c.item_id"
                            " WHERE c.session_id = ? AND t.role = 'user'", (sid,)).fetchall()
    out: dict[tuple[str, int], set[str]] = {}
    for item, rnd, text in rows:
        out.setdefault((item, rnd), set()).add(text)
    return out


async def _create(db: str, config, items) -> int:
    store = await Store.open(db)
    try:
        return await create_session(store, config, TAXONOMY, items, name="repro")
    finally:
        await store.close()


async def test_the_same_seed_picks_the_same_another_seed_differently(demo_url, tmp_path):
    items = single_turn(bank(20))
    templates = config_for(demo_url, ("demo-guardian", "demo-pushover"), rounds=3, follow_ups="templates", seed=11)
    attacker = replace(config_for(demo_url, ("demo-guardian",), rounds=4, follow_ups="attacker", seed=11),
                       attacker=demo_target("attacker", demo_url, "demo-attacker"), attack=AttackConfig("mix", 4))
    for config in (templates, attacker):
        a = stored_choices(str(tmp_path / "a.db"), await _create(str(tmp_path / "a.db"), config, items))
        b = stored_choices(str(tmp_path / "b.db"), await _create(str(tmp_path / "b.db"), config, items))
        other = replace(config, run=replace(config.run, seed=12))
        c = stored_choices(str(tmp_path / "c.db"), await _create(str(tmp_path / "c.db"), other, items))
        assert a == b and len(a) == len(items)
        assert sum(a[k] != c[k] for k in a) >= len(items) // 4, "another seed should change many picks"
        for path in ("a.db", "b.db", "c.db"):
            (tmp_path / path).unlink()


async def test_choices_never_stored_are_made_on_resume_from_the_sessions_seed(demo_url, db_file):
    """Simulates a process that died right after the session was written: its conversations hold no
    follow-up. The resume (with a config of another seed) must pick as the session's own seed does."""
    items = single_turn(bank(6))
    config = config_for(demo_url, ("demo-guardian",), rounds=3, follow_ups="templates", seed=11)
    store = await Store.open(db_file)
    try:
        sid = await store.create_session(name="died", kind="run", config=snapshot(config),
                                         taxonomy=TAXONOMY.to_dict(), fingerprint=fingerprint(items),
                                         targets=list(config.targets), items=items)
        other_seed = replace(config, run=replace(config.run, seed=99))
        srun = await prepare(store, sid, lambda e: None, config=other_seed)
        assert await srun.run() == "done"
    finally:
        await store.close()
    want = {k: json.loads(raw) for k, raw in follow_up_choices(config, items)}
    got = asked(db_file, sid)
    for item in items:
        for t in want[item.id]["templates"]:
            assert got[item.id, t["round"]] == {t["text"]}, (item.id, t["round"])


def _write_config(path: Path, url: str) -> Path:
    lines = []
    for key in ("demo-guardian", "demo-wobbly"):
        lines += ["[[targets]]", f'key = "{key}"', f'base_url = "{url}"', f'model = "{key}"', "concurrency = 2", ""]
    lines += ["[judge]", 'mode = "model"', "[[judge.targets]]", 'key = "judge"', f'base_url = "{url}"',
              'model = "demo-judge"', "concurrency = 8", "", "[run]", "max_retry_wait_s = 0.1",
              f'banks = ["{path.parent / "single.jsonl"}"]', 'follow_ups = "templates"', "rounds = 3", "seed = 11"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _done_answers(db: str) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM turn WHERE role = 'assistant' AND status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_templates_run_resumes_asking_what_it_picked(tmp_path, demo_server_process):
    items = single_turn(bank(30))
    (tmp_path / "single.jsonl").write_text(
        "".join(json.dumps(it.to_dict(), ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
    cfg = _write_config(tmp_path / "c.toml", demo_server_process)
    db = str(tmp_path / "k.db")
    cli = [sys.executable, "-m", "scsafety_tui"]
    proc = subprocess.Popen([*cli, "run", "--config", str(cfg), "--headless", "--db", db],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: _done_answers(db) >= 20, 120, "20 answers stored")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    before = stored_choices(db, 1)
    assert _done_answers(db) < len(items) * 2 * 3, "the kill must land mid-run"
    done = subprocess.run([*cli, "resume", "1", "--headless", "--db", db], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert stored_choices(db, 1) == before
    got = asked(db, 1)
    with sqlite3.connect(db) as conn:
        records = conn.execute("SELECT i.item_key, c.follow_up FROM conversation c JOIN item i ON i.id = c.item_id"
                               ).fetchall()
    assert len(records) == len(items) * 2
    for item, raw in records:  # every target was asked, in every round, the template stored at the start
        for t in json.loads(raw)["templates"]:
            assert got[item, t["round"]] == {t["text"]}
    # and a clean run of the same config picks exactly what the killed one did
    clean = str(tmp_path / "clean.db")
    assert subprocess.run([*cli, "run", "--config", str(cfg), "--headless", "--db", clean], capture_output=True,
                          timeout=300).returncode == 0
    assert stored_choices(clean, 1) == before and asked(clean, 1) == got


def test_show_and_exports_name_each_items_template(demo_thread_url, tmp_path, capsys):
    from scsafety_tui.cli import main

    db = str(tmp_path / "t.db")
    items = single_turn(bank(4))
    config = config_for(demo_thread_url, ("demo-guardian",), rounds=2, follow_ups="templates", seed=3)
    sid, _, _ = asyncio.run(run_session(db, config, items))
    picks = {k: json.loads(raw)["templates"][0] for k, raw in follow_up_choices(config, items)}
    capsys.readouterr()
    assert main(["export", str(sid), "--db", db, "--format", "md"]) == 0
    md = capsys.readouterr().out
    for item in items:
        t = picks[item.id]
        assert f"_Follow-up: template {t['id']} ({t['pretext']})_" in md
