"""Headless runs through the real CLI: the whole demo, faults and exit codes, kill -9 + resume, Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import wait_for

from scsafety_tui.cli import main

PY = sys.executable


def hand_scores(db: str, sid: int) -> dict[str, tuple[float, float, float]]:
    """(total, R1, R2) per target, computed straight from the verdict rows, independently of scoring.py."""
    con = sqlite3.connect(db)
    rows = con.execute("""
        SELECT tg.key, t.round, v.score FROM verdict v JOIN turn t ON t.id = v.turn_id
        JOIN conversation c ON c.id = t.conversation_id AND t.attempt = c.attempt
        JOIN target tg ON tg.id = c.target_id
        WHERE c.session_id = ? AND v.score IS NOT NULL AND t.status = 'done'""", (sid,)).fetchall()
    out = {}
    for key in {r[0] for r in rows}:
        by_round = {rnd: [s for k, r, s in rows if k == key and r == rnd] for rnd in (1, 2)}
        allv = by_round[1] + by_round[2]
        out[key] = tuple(round(100 * sum(v) / (2 * len(v)), 2) for v in (allv, by_round[1], by_round[2]))
    return out


def printed_scores(out: str) -> dict[str, tuple[float, float, float]]:
    """(total, R1, R2) per target from the printed overall table."""
    scores = {}
    for line in out.split("Per category")[0].splitlines():
        m = re.match(r"\s*(\S+)\s+([\d.]+)\s+[\d.]+–[\d.]+\s+([\d.]+)\s+([\d.]+)\s", line)
        if m:
            scores[m.group(1)] = tuple(float(x) for x in m.groups()[1:])
    return scores


def test_whole_shipped_bank_demo_scores_equal_hand_computation(tmp_path, capsys):
    db = str(tmp_path / "demo.db")
    assert main(["demo", "--headless", "--speed", "instant", "--db", db]) == 0
    out = capsys.readouterr().out
    sid = int(re.search(r"Session (\d+) saved", out).group(1))
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM conversation WHERE status = 'done'").fetchone()[0] == 100 * 4
    assert con.execute("SELECT count(*) FROM turn WHERE role = 'assistant'").fetchone()[0] == 100 * 4 * 2
    printed = printed_scores(out)
    expected = hand_scores(db, sid)
    assert set(printed) == {"demo-guardian", "demo-refuser", "demo-pushover", "demo-wobbly"}
    assert printed == expected
    assert expected["demo-guardian"][0] == 100.0 and expected["demo-pushover"][2] == 0.0
    # `show` prints the same tables from the database alone.
    assert main(["show", str(sid), "--db", db]) == 0
    assert printed_scores(capsys.readouterr().out) == expected


def write_config(path: Path, url: str, models: list[tuple[str, str]], **run) -> Path:
    lines = []
    for key, model in models:
        lines += ["[[targets]]", f'key = "{key}"', f'base_url = "{url}"', f'model = "{model}"',
                  "concurrency = 2", "timeout_s = 5.0", ""]
    lines += ["[judge]", 'mode = "model"', "[[judge.targets]]", 'key = "judge"', f'base_url = "{url}"',
              'model = "demo-judge"', "concurrency = 8", "", "[run]", "max_retry_wait_s = 0.1"]
    lines += [f"{k} = {v}" for k, v in run.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_faults_finish_with_stored_errors_and_exit_3(tmp_path, demo_thread_url, capsys):
    cfg = write_config(tmp_path / "c.toml", demo_thread_url, [
        ("ok", "demo-guardian"), ("r429", "demo-refuser+ratelimit:1"), ("e500", "demo-guardian+error500:1"),
        ("cut", "demo-guardian+cut:1"), ("bad", "demo-guardian+malformed"), ("down", "demo-guardian+auth")],
        retries=3, limit=3)
    db = str(tmp_path / "f.db")
    assert main(["run", "--config", str(cfg), "--headless", "--db", db]) == 3
    out = capsys.readouterr().out
    assert "6 conversation(s) ended with an error" in out
    con = sqlite3.connect(db)
    states = dict(con.execute("""SELECT tg.key, group_concat(DISTINCT c.status) FROM conversation c
                                 JOIN target tg ON tg.id = c.target_id GROUP BY tg.key"""))
    assert states == {"ok": "done", "r429": "done", "e500": "done", "cut": "done", "bad": "error",
                      "down": "error"}
    errors = [r[0] for r in con.execute("SELECT error FROM turn WHERE status = 'error'")]
    assert len(errors) == 6 and all(e and "\n" not in e for e in errors)


def test_missing_key_env_is_an_input_error(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[targets]]\nkey = "x"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
                   'api_key_env = "SCS_SURELY_UNSET_KEY"\n', encoding="utf-8")
    assert main(["run", "--config", str(cfg), "--headless", "--db", str(tmp_path / "x.db")]) == 2
    assert "SCS_SURELY_UNSET_KEY is not set" in capsys.readouterr().err


def _run_cli(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "scsafety_tui", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _done_turns(db: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("""SELECT c.item_id, c.target_id, t.round, t.content FROM turn t
                              JOIN conversation c ON c.id = t.conversation_id
                              WHERE c.status = 'done' AND t.role = 'assistant' ORDER BY 1, 2, 3""").fetchall()
    finally:
        con.close()


def test_kill_9_then_resume_loses_and_duplicates_nothing(tmp_path, demo_server_process):
    models = [("guardian", "demo-guardian"), ("refuser", "demo-refuser"), ("pushover", "demo-pushover"),
              ("wobbly", "demo-wobbly")]
    cfg = write_config(tmp_path / "c.toml", demo_server_process, models, limit=30)
    killed_db, clean_db = str(tmp_path / "killed.db"), str(tmp_path / "clean.db")
    proc = _run_cli(["run", "--config", str(cfg), "--headless", "--db", killed_db])
    wait_for(lambda: len(_safe_done(killed_db)) >= 20, 60, "20 answers stored")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    before = _done_turns(killed_db)
    assert 20 <= len(before) < 30 * 4 * 2, "kill must land mid-run"
    resumed = _run_cli(["resume", "1", "--db", killed_db])
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    after = _done_turns(killed_db)
    assert set(before) <= set(after), "a finished turn was lost or changed"
    assert len(after) == len(set(after)) == 30 * 4 * 2, "turns missing or duplicated"
    clean = _run_cli(["run", "--config", str(cfg), "--headless", "--db", clean_db])
    clean.communicate(timeout=120)
    assert clean.returncode == 0
    assert hand_scores(killed_db, 1) == hand_scores(clean_db, 1)
    assert printed_scores(out) == hand_scores(clean_db, 1)


def _safe_done(db: str) -> list[tuple]:
    try:
        return _done_turns(db)
    except sqlite3.Error:
        return []


def test_ctrl_c_stops_cleanly_and_marks_interrupted(tmp_path, demo_server_process):
    cfg = write_config(tmp_path / "c.toml", demo_server_process, [("g", "demo-guardian")], limit=40)
    db = str(tmp_path / "i.db")
    proc = _run_cli(["run", "--config", str(cfg), "--headless", "--db", db])
    wait_for(lambda: len(_safe_done(db)) >= 4, 60, "4 answers stored")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err + out
    assert "resume 1" in out
    con = sqlite3.connect(db)
    assert con.execute("SELECT status FROM session").fetchone()[0] == "interrupted"
    assert con.execute("SELECT count(*) FROM turn WHERE status = 'streaming'").fetchone()[0] == 0
    done = con.execute("SELECT count(*) FROM conversation WHERE status = 'done'").fetchone()[0]
    assert 2 <= done < 40


def test_exit_codes_for_usage_and_missing_config(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--limit", "x"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2
    assert main(["run", "--headless", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err


def test_help_lists_every_command_without_loading_the_heavy_modules():
    res = subprocess.run([PY, "-m", "scsafety_tui", "--help"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert res.returncode == 0
    for cmd in ("demo", "run", "resume", "rejudge", "compare", "sessions", "show", "export", "spot", "init",
                "config", "questions", "demo-server", "paths"):
        assert re.search(rf"^\s+{cmd}\s+\S", res.stdout, re.M), cmd
    # what makes --help instant (its time is for benches/, not a timed assertion)
    heavy = subprocess.run([PY, "-X", "importtime", "-m", "scsafety_tui", "--help"], capture_output=True,
                           text=True).stderr
    assert "textual" not in heavy and "httpx" not in heavy and "aiosqlite" not in heavy


def test_core_never_imports_textual():
    code = ("import sys, scsafety_tui.engine.session, scsafety_tui.store.replay, scsafety_tui.headless, "
            "scsafety_tui.report, scsafety_tui.demo.server, scsafety_tui.commands; "
            "print('textual' in sys.modules)")
    res = subprocess.run([PY, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "False", res.stderr


def test_retry_errors_reruns_only_errored_and_keeps_old_error_until_success(tmp_path, demo_thread_url, capsys):
    # The flaky target fails its first two attempts per conversation; one attempt per request at first.
    cfg = write_config(tmp_path / "c.toml", demo_thread_url,
                       [("ok", "demo-guardian"), ("flaky", "demo-refuser+error500:2")], retries=1, limit=3)
    db = str(tmp_path / "r.db")
    assert main(["run", "--config", str(cfg), "--headless", "--db", db]) == 3
    con = sqlite3.connect(db)
    ok_turns = con.execute("SELECT t.id, t.content FROM turn t JOIN conversation c ON c.id = t.conversation_id"
                           " JOIN target tg ON tg.id = c.target_id WHERE tg.key = 'ok' ORDER BY t.id").fetchall()
    assert con.execute("SELECT count(*) FROM conversation WHERE status = 'error'").fetchone()[0] == 3
    # Second pass: three attempts per request; every request (round 1 again, round 2 new) now gets through.
    retry_cfg = write_config(tmp_path / "c2.toml", demo_thread_url,
                             [("ok", "demo-guardian"), ("flaky", "demo-refuser+error500:2")], retries=3, limit=3)
    capsys.readouterr()
    assert main(["resume", "1", "--retry-errors", "--config", str(retry_cfg), "--db", db]) == 0
    assert con.execute("SELECT count(*) FROM conversation WHERE status = 'done'").fetchone()[0] == 6
    assert con.execute("SELECT count(*) FROM turn WHERE status = 'error'").fetchone()[0] == 0
    again = con.execute("SELECT t.id, t.content FROM turn t JOIN conversation c ON c.id = t.conversation_id"
                        " JOIN target tg ON tg.id = c.target_id WHERE tg.key = 'ok' ORDER BY t.id").fetchall()
    assert again == ok_turns  # finished conversations untouched
    assert {r[0] for r in con.execute("SELECT attempt FROM conversation c JOIN target tg ON tg.id = c.target_id"
                                      " WHERE tg.key = 'flaky'")} == {1}


async def test_a_retry_in_progress_leaves_the_old_error_visible(db_file):
    from engine_helpers import TAXONOMY, bank

    from scsafety_tui.config import Config, TargetConfig
    from scsafety_tui.engine.session import create_session
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    config = Config(targets=(TargetConfig("m", "openai", "http://127.0.0.1:1/v1", "m"),))
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config, TAXONOMY, bank(1), name="x")
        (conv,) = await store.conversations(sid)
        await store.start_conversation(conv.id, 0)
        await store.add_user_turn(conv.id, 0, 1, "q")
        turn = await store.start_answer(conv.id, 0, 1, 0.0)
        await store.finish_answer(turn, content="", status="error", error_kind="transient", error="HTTP 500")
        await store.finish_conversation(conv.id, 0, "error", "HTTP 500")
        # A retry starts (attempt 1) and streams part of an answer, then the process dies.
        await store.start_conversation(conv.id, 1)
        await store.add_user_turn(conv.id, 1, 1, "q")
        await store.start_answer(conv.id, 1, 1, 0.0)
        await store.sync()
        rows = await queries.answer_rows(store, sid)
        assert [(r.status, r.turn_id) for r in rows] == [("error", turn)]
        assert (await store.conversations(sid))[0].status == "error"
        await store.drop_stale_attempts(conv.id)  # what prepare() does before rerunning
        assert len(await store.fetchall("SELECT id FROM turn WHERE attempt = 1")) == 0
    finally:
        await store.close()


def test_a_bug_is_one_line_and_exit_1(capsys):
    from scsafety_tui.cli import run_guarded

    def buggy() -> int:
        raise RuntimeError("boom")

    assert run_guarded(buggy) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: boom (traceback in" in err
