"""The log file answers "why did this run take so long": retries, judge failures and the run's start and
end are in it, and nothing of it reaches the terminal."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from engine_helpers import TAXONOMY, bank, config_for
from test_tui_support import SIZE, app_for, finished, new_session, run_screen

from scsafety_tui.cli import main
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.logs import log_path, setup_logging
from scsafety_tui.paths import log_file
from scsafety_tui.store.db import Store, StoreWriteError


def _config(path: Path, url: str) -> Path:
    lines = []
    for key, model in (("ok", "demo-guardian"), ("r429", "demo-guardian+ratelimit:1"),
                       ("e500", "demo-guardian+error500:1")):
        lines += ["[[targets]]", f'key = "{key}"', f'base_url = "{url}"', f'model = "{model}"', ""]
    lines += ["[judge]", 'mode = "model"', "[[judge.targets]]", 'key = "strict"', f'base_url = "{url}"',
              'model = "demo-judge+badjudge"', "", "[run]", "max_retry_wait_s = 0.05", "limit = 1"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_from(path: Path, offset: int) -> str:
    with path.open(encoding="utf-8") as f:
        f.seek(offset)
        return f.read()


def test_a_run_with_faults_logs_retries_judge_failures_and_its_counts(tmp_path, demo_thread_url, capsys):
    path = log_file()
    start = path.stat().st_size if path.exists() else 0
    code = main(["run", "--config", str(_config(tmp_path / "c.toml", demo_thread_url)), "--headless",
                 "--db", str(tmp_path / "s.db"), "--name", "log test"])
    out, err = capsys.readouterr()
    assert code in (0, 3), err
    assert log_path() == path  # the CLI set the file handler up
    logged = _read_from(path, start)
    assert re.search(r"INFO scsafety_tui\.providers\.client: retry r429: attempt 1 of \d+ failed, next in "
                     r"[\d.]+ s: RateLimited ", logged), logged
    assert re.search(r"retry e500: attempt 1 of \d+ failed, next in [\d.]+ s: TransientError ", logged)
    assert re.search(r"judge strict: unparseable verdict \(try 1 of \d+\): .*; output '", logged)
    assert "judge strict failed: unparseable verdict after" in logged
    assert re.search(r"session \d+ 'log test' started: 3 conversation\(s\) to run \(0 done before\), targets "
                     r"ok, r429, e500, judges strict", logged)
    assert re.search(r"session \d+ done after [\d.]+ s: 3 of 3 conversation\(s\) finished, 0 with an error; "
                     r"[1-9]\d* retries, [1-9]\d* tokens streamed", logged)
    for line in ("retry r429", "unparseable verdict", "'log test' started", "tokens streamed"):
        assert line not in out and line not in err  # the log is a file, never the terminal


def test_before_setup_nothing_reaches_stderr(tmp_path, capsys):
    """A record of the package with no file handler is dropped, not printed by Python's last resort."""
    code = ("import logging, scsafety_tui.engine.runner\n"
            "logging.getLogger('scsafety_tui.engine.runner').warning('a warning with nowhere to go')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and (res.stdout, res.stderr) == ("", "")
    before = log_path()
    try:
        target = setup_logging(tmp_path / "x.log")
        logging.getLogger("scsafety_tui.store.lock").warning("now in the file")
        assert "WARNING scsafety_tui.store.lock: now in the file" in target.read_text(encoding="utf-8")
        assert capsys.readouterr() == ("", "")
    finally:
        if before is not None:
            setup_logging(before)


async def test_a_tui_worker_error_and_a_store_write_failure_are_logged(tmp_path, db_file, demo_url):
    before = log_path()
    target = setup_logging(tmp_path / "app.log")
    try:
        # a run whose worker fails (the target's key variable is not set): notified, and logged with its cause
        config = config_for(demo_url, ("demo-guardian",))
        config = replace(config, targets=(replace(config.targets[0], api_key_env="SCSAFETY_TUI_UNSET_KEY"),))
        sid = await new_session(db_file, config, bank(1))
        async with app_for(db_file, sid, config).run_test(size=SIZE) as pilot:
            screen = await run_screen(pilot)
            await finished(pilot, screen)
        logged = target.read_text(encoding="utf-8")
        assert re.search(r"ERROR scsafety_tui\.tui\.screens\.base: .* failed on RunScreen\n", logged), logged
        assert "SCSAFETY_TUI_UNSET_KEY is not set" in logged and "Traceback" in logged

        # a disk that fills mid-run
        store = await Store.open(str(tmp_path / "full.db"))
        try:
            sid = await create_session(store, config_for(demo_url), TAXONOMY, bank(40), name="full")
            pages = (await store.fetchall("PRAGMA page_count"))[0][0]
            await store.conn.execute(f"PRAGMA max_page_count = {pages + 6}")
            srun = await prepare(store, sid, lambda _e: None, config=config_for(demo_url))
            with pytest.raises(StoreWriteError):
                await srun.run()
        finally:
            await store.close()
        logged = target.read_text(encoding="utf-8")
        assert re.search(r"ERROR scsafety_tui\.store\.db: store write failed, every later write refused: .*"
                         r"database or disk is full", logged), logged
        assert re.search(rf"session {sid} failed \(StoreWriteError: .*\) after [\d.]+ s", logged), logged
    finally:
        if before is not None:
            setup_logging(before)
