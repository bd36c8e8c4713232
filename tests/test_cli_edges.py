"""The finished features used from outside, as a demanding user and a script meet them: cost figures that
agree everywhere (blocked and empty answers are billed too), prices that are numbers, `run` where there is
no terminal, a closed pipe, a narrow terminal, serve's refusals, and every printed hint working as printed."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
from dataclasses import replace

import pytest
from engine_helpers import bank, config_for, run_session
from test_tui_support import SIZE, Notes, app_for, finished, new_session, run_screen, screen_text, wait_until

from scsafety_tui.config import ConfigError, parse_config
from scsafety_tui.cost import LiveCost, session_costs, snapshot_prices
from scsafety_tui.events import SessionStarted, TurnCompleted, TurnFailed
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.usage import target_usage

PY = sys.executable
# blocked after a few chunks (its tokens stored and billed) and an empty answer (4 reasoning tokens use up
# max_tokens 3: billed, never scored)
BILLED_FAILURES = ("demo-guardian", "demo-pushover+filter", "demo-wobbly+reasoning")


def _billed_failures(config):
    return replace(config, targets=tuple(replace(t, max_tokens=3) if t.key.endswith("+reasoning") else t
                                         for t in config.targets))


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return env | extra


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The CLI as a script runs it: stdin, stdout and stderr none of them a terminal."""
    return subprocess.run([PY, "-m", "scsafety_tui", *args], capture_output=True, text=True, timeout=timeout,
                          env=env or child_env(), stdin=subprocess.DEVNULL)


def _config_file(tmp_path, url, models=("demo-guardian", "demo-pushover"), judge="heuristic", **run) -> str:
    lines = []
    for i, model in enumerate(models):
        lines += ["[[targets]]", f'key = "t{i}"', f'base_url = "{url}"', f'model = "{model}"',
                  "price_in = 1000000.0", "price_out = 1000000.0", 'currency = "CNY"', ""]
    if judge == "heuristic":
        lines += ["[judge]", 'mode = "heuristic"', ""]
    else:
        lines += ["[judge]", 'mode = "model"', "[[judge.targets]]", 'key = "j"', f'base_url = "{url}"',
                  f'model = "{judge}"', ""]
    lines += ["[run]", "max_retry_wait_s = 0.05", "retries = 1", *(f"{k} = {v}" for k, v in run.items())]
    path = tmp_path / "c.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _stored_cost(db: str) -> float:
    shown = json.loads(cli("show", "1", "--db", db, "--json").stdout)
    return sum(c["cost"] for c in shown["cost"])


# ---------------------------------------------------------------- cost agrees everywhere


async def test_live_cost_counts_blocked_and_empty_answers_as_show_does(db_file, demo_url):
    """A block by finish reason and an empty answer are stored with their tokens and billed (show counts
    them, max_cost charges them); the live figure left them out."""
    config = _billed_failures(config_for(demo_url, BILLED_FAILURES, heuristic=True, retries=1))
    config = replace(config, targets=tuple(replace(t, price_in=3.0, price_out=5.0) for t in config.targets))
    sid, _status, events = await run_session(db_file, config, bank(3))
    live = LiveCost()
    for e in events:
        if isinstance(e, SessionStarted | TurnCompleted | TurnFailed):
            live.add(e)
    store = await Store.open(db_file, readonly=True)
    try:
        usage = await target_usage(store, sid)
        stored = session_costs(usage, snapshot_prices((await queries.stored_session(store, sid)).snapshot))
    finally:
        await store.close()
    failed = {e.target for e in events if isinstance(e, TurnFailed)}
    assert {"demo-pushover+filter", "demo-wobbly+reasoning"} <= failed
    by_key = {u.key: u for u in usage}
    for c in stored:
        assert by_key[c.key].tokens_out > 0, c  # each target's failures were stored with their counts
        assert live.tokens[c.key][:2] == [by_key[c.key].tokens_in, by_key[c.key].tokens_out], c.key
        assert live.cost(c.key) == pytest.approx(c.cost), c.key
        # and the hand computation from the stored turns
        assert c.cost == pytest.approx((by_key[c.key].tokens_in * 3 + by_key[c.key].tokens_out * 5) / 1e6)


def test_the_headless_bar_shows_the_sessions_cost_after_blocks_and_a_resume(tmp_path, demo_thread_url):
    """The progress bar's cost is the session's: blocked answers counted, and a resumed session's earlier
    spend included (it read 0 after a resume, then only the new answers)."""
    db = str(tmp_path / "s.db")
    cfg = _config_file(tmp_path, demo_thread_url, ("demo-guardian", "demo-pushover+filter"), limit=6,
                       max_cost=300.0)
    first = cli("run", "--config", cfg, "--headless", "--db", db)
    assert first.returncode == 4, first.stdout + first.stderr
    bars = re.findall(r"· cost ([\d,]+\.\d+) CNY", first.stdout)
    assert bars and float(bars[-1].replace(",", "")) == pytest.approx(_stored_cost(db), abs=0.01)
    again = cli("resume", "1", "--db", db, "--headless")
    assert again.returncode in (0, 4), again.stdout + again.stderr
    bars = re.findall(r"· cost ([\d,]+\.\d+) CNY", again.stdout)
    assert bars and float(bars[-1].replace(",", "")) == pytest.approx(_stored_cost(db), abs=0.01)


async def test_the_apps_cost_equals_shows_with_blocked_answers(db_file, demo_url):
    config = _billed_failures(config_for(demo_url, BILLED_FAILURES, heuristic=True, retries=1))
    config = replace(config, targets=tuple(replace(t, price_in=2.0, price_out=8.0, currency="CNY")
                                           for t in config.targets))
    sid = await new_session(db_file, config, bank(3))
    async with app_for(db_file, sid, config).run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        store = await Store.open(db_file, readonly=True)
        try:
            used = await target_usage(store, sid)
        finally:
            await store.close()
        total = sum((u.tokens_in * 2 + u.tokens_out * 8) / 1e6 for u in used)
        await wait_until(pilot, lambda: f"cost {total:,.4f} CNY" in screen_text(pilot),
                         what=f"the status bar's cost to be the stored {total:,.4f} CNY")


# ---------------------------------------------------------------- prices are numbers


@pytest.mark.parametrize(("table", "key"), [
    ("targets", "price_in = nan"), ("targets", "price_out = inf"), ("targets", "timeout_s = nan"),
    ("run", "max_cost = nan"), ("run", "max_cost = inf"), ("run", "max_retry_wait_s = inf"),
])
def test_nan_and_inf_are_refused_with_the_key(table, key):
    """TOML has nan and inf: a NaN max_cost never compares as reached (no limit at all), a NaN price makes
    every cost 'nan USD'."""
    import tomllib

    name = key.split(" = ")[0]
    data = {"targets": [{"key": "a", "base_url": "http://127.0.0.1:1/v1", "model": "m", "price_in": 1.0,
                         "price_out": 1.0}], "run": {}}
    target_or_run = data["targets"][0] if table == "targets" else data["run"]
    target_or_run[name] = tomllib.loads(key)[name]
    with pytest.raises(ConfigError) as e:
        parse_config(data, "c.toml")
    where = "targets[0]" if table == "targets" else "run"
    assert str(e.value).startswith(f"c.toml: {where}.{name}: expected a finite number"), str(e.value)


# ---------------------------------------------------------------- run where there is no terminal


def test_run_without_a_terminal_runs_headless_and_ends(tmp_path, demo_thread_url):
    """`run` in a script or CI (stdin and stdout no terminal) drew the app into the pipe and waited for keys
    forever; like `resume`, it now prints progress and tables and exits."""
    db = str(tmp_path / "s.db")
    done = cli("run", "--config", _config_file(tmp_path, demo_thread_url, limit=2), "--db", db, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Before the run: 8 answers")
    assert "SC-Safety overall" in done.stdout and "\x1b[?1049h" not in done.stdout
    home = cli("--db", str(tmp_path / "home.db"), timeout=120)  # the app alone has no headless form
    assert home.returncode == 2 and home.stderr.startswith("scsafety-tui: the app needs a terminal")
    assert home.stderr.count("\n") == 1 and home.stdout == ""
    demo = cli("demo", "--limit", "1", "--speed", "instant", "--db", str(tmp_path / "demo.db"), timeout=240)
    assert demo.returncode == 0, demo.stderr
    assert "SC-Safety overall" in demo.stdout and "\x1b[?1049h" not in demo.stdout


# ---------------------------------------------------------------- a closed pipe, a narrow terminal


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("demo") / "d.db")
    assert cli("demo", "--headless", "--speed", "instant", "--limit", "6", "--db", db).returncode == 0
    return db


def test_show_into_a_closed_pipe_exits_0_quietly(demo_db):
    """`show | head`: Rich's own broken-pipe handler exited 1, the code of an internal error."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written: every write meets a closed pipe
    try:
        proc = subprocess.run([PY, "-m", "scsafety_tui", "show", "1", "--db", demo_db], stdout=write,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=120,
                              env=child_env())
    finally:
        os.close(write)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


NUMBER = re.compile(r"[-+]?\d+\.\d\d(?:[–…][-+]?\d+\.\d\d)?")


def test_a_narrow_terminal_never_cuts_a_number_or_drops_a_column(demo_db):
    """COLUMNS=60: the overall table lost its Δ and Pairs columns, intervals read -52.89…-38.7 (a wrong
    number, not a cut one), and sessions dropped err and overall. Too wide a table is printed wider than
    asked (the terminal wraps it): nothing is lost."""
    wide = cli("show", "1", "--db", demo_db)
    narrow = cli("show", "1", "--db", demo_db, env=child_env(COLUMNS="60"))
    assert narrow.returncode == 0, narrow.stderr
    assert sorted(NUMBER.findall(narrow.stdout)) == sorted(NUMBER.findall(wide.stdout))
    assert "Δ" in narrow.stdout and "Pairs" in narrow.stdout
    listed = cli("sessions", "--db", demo_db, env=child_env(COLUMNS="60"))
    header = next(line for line in listed.stdout.splitlines() if line.split()[:2] == ["id", "name"])
    assert header.split() == ["id", "name", "date", "kind", "status", "done", "err", "overall"]
    assert "demo-wobbly" in listed.stdout


# ---------------------------------------------------------------- serve refuses before it announces


def test_serve_on_a_taken_port_says_one_line_and_never_that_it_serves(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "--port", str(port), "--db", str(tmp_path / "s.db"), timeout=60)
    assert done.returncode == 2
    assert done.stdout == "", "it announced a server that never listened"
    assert done.stderr.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr


# ---------------------------------------------------------------- printed hints work as printed


def _hints(text: str) -> list[str]:
    return re.findall(r"`(scsafety-tui [^`]+)`", text)


def _run_hint(hint: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(hint)
    assert argv[0] == "scsafety-tui"
    return subprocess.run([PY, "-m", "scsafety_tui", *argv[1:]], capture_output=True, text=True, timeout=240,
                          env=env, stdin=subprocess.DEVNULL)


def test_rejudge_hints_name_the_database_and_work_as_printed(tmp_path, demo_thread_url):
    """A session with unscored answers (the judge answers prose) in a database that is not the default:
    show's, rejudge's and the Markdown export's hints named no --db, so pasted they opened the default
    database (no such session there)."""
    env = child_env(XDG_DATA_HOME=str(tmp_path / "data"))  # the default database: somewhere else, empty
    db = str(tmp_path / "my sessions.db")
    cfg = _config_file(tmp_path, demo_thread_url, judge="demo-judge+badjudge", limit=1)
    ran = cli("run", "--config", cfg, "--headless", "--db", db, env=env)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    for hint in _hints(ran.stdout):
        assert "--db" in hint, hint
    shown = cli("show", "1", "--db", db, env=env)
    md = cli("export", "1", "--db", db, "--format", "md", env=env)
    named = cli("rejudge", "1", "--db", db, "--judge", "j", "--set", "it's [b]x[/b]", env=env)
    assert named.returncode == 3, named.stdout + named.stderr
    dashed = cli("rejudge", "1", "--db", db, "--judge", "j", "--set=-x y", env=env)  # a name like an option
    assert dashed.returncode == 3, dashed.stdout + dashed.stderr
    # a report is sent to others: its hint says where --db goes but never holds the local path
    (md_hint,) = [h for h in _hints(md.stdout) if "rejudge" in h]
    assert md_hint.endswith("--db DATABASE") and db not in md.stdout and "my sessions" not in md.stdout
    hints = [*_hints(shown.stdout), md_hint.replace("DATABASE", shlex.quote(db)), *_hints(named.stdout),
             *_hints(dashed.stdout)]
    assert any("--set" in h for h in _hints(named.stdout))
    for hint in hints:
        again = _run_hint(hint, env)
        assert again.returncode != 2, (hint, again.stderr)  # 2: no such database / session
        assert "judged" in again.stdout or "session 1" in again.stdout, (hint, again.stdout)


def test_the_damaged_answers_notice_names_the_database(tmp_path, demo_thread_url):
    env = child_env(XDG_DATA_HOME=str(tmp_path / "data"))
    db = str(tmp_path / "other.db")
    assert cli("run", "--config", _config_file(tmp_path, demo_thread_url, limit=1), "--headless", "--db", db,
               env=env).returncode == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE turn SET content = substr(content, 1, 3) WHERE id = (SELECT min(id) FROM turn"
                " WHERE role = 'assistant' AND status = 'done')")  # stored shorter than it streamed
    con.commit()
    con.close()
    shown = cli("show", "1", "--db", db, env=env)
    (hint,) = _hints(shown.stderr)
    assert "--db" in hint, hint
    redone = _run_hint(hint, env)
    assert redone.returncode == 0, redone.stderr


def test_a_json_export_carries_no_run_lock(tmp_path, demo_db):
    """An export of a session being run held the runner's lock token, host name and pid."""
    db = str(tmp_path / "locked.db")
    with open(demo_db, "rb") as src, open(db, "wb") as dst:
        dst.write(src.read())
    con = sqlite3.connect(db)
    con.execute("UPDATE session SET lock_token = 'secret-token', lock_pid = 4242, lock_host = 'my-laptop'")
    con.commit()
    con.close()
    for out in (cli("export", "1", "--db", db, "--format", "json").stdout, cli("show", "1", "--db", db,
                                                                                "--json").stdout):
        session = json.loads(out)["session"]
        assert session["id"] == 1 and not [k for k in session if k.startswith("lock_")]
        assert "secret-token" not in out and "my-laptop" not in out


# ---------------------------------------------------------------- resume in a terminal


def _in_a_terminal(argv: list[str], env: dict[str, str], keys_after: str, keys: list[str],
                   timeout: float = 180) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (120x40) as a user's shell would; once `keys_after` has been drawn,
    type each of keys (one every half second of output). Returns (exit code, everything drawn)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    def as_a_shell_starts_it() -> None:
        # its own session with the terminal as its controlling one (Ctrl+C typed there is a SIGINT), and
        # SIGINT not ignored even if this test process ignores it (an ignored signal stays ignored past exec)
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen([PY, "-m", "scsafety_tui", *argv], stdin=slave, stdout=slave, stderr=slave,
                            env=env | {"TERM": "xterm-256color"}, start_new_session=True,
                            preexec_fn=as_a_shell_starts_it)
    os.close(slave)
    out, deadline, typed, next_key = b"", time.monotonic() + timeout, 0, 0.0
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal: it has ended
                    break
                if not chunk:
                    break
                out += chunk
            if proc.poll() is not None and not ready:
                break
            text = out.decode("utf-8", "replace")
            if keys_after in text and typed < len(keys) and time.monotonic() >= next_key:
                os.write(master, keys[typed].encode())
                typed, next_key = typed + 1, time.monotonic() + 0.5
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, out.decode("utf-8", "replace")


def test_resume_in_a_terminal_opens_the_app(tmp_path, demo_thread_url):
    """`resume SESSION` in a terminal opens the app: it crashed with 'internal error: RuntimeError:
    asyncio.run() cannot be called from a running event loop' (the app was started inside the CLI's loop)."""
    env = child_env(XDG_DATA_HOME=str(tmp_path / "data"))
    db = str(tmp_path / "s.db")
    paused = cli("run", "--config", _config_file(tmp_path, demo_thread_url, limit=10, max_cost=1.0), "--headless",
                 "--db", db, env=env)
    assert paused.returncode == 4, paused.stdout + paused.stderr
    code, drawn = _in_a_terminal(["resume", "1", "--db", db], env, "session 1", ["\x11", "y", "y"])
    assert "internal error" not in drawn and "Traceback" not in drawn, drawn[-2000:]
    assert "\x1b[?1049h" in drawn, "the app never took the terminal"
    assert code in (0, 4, 130), (code, drawn[-2000:])


@pytest.mark.parametrize(("key", "code", "says"), [("n\r", 0, "Not started; nothing was stored."),
                                                   ("\x03", 130, "scsafety-tui: interrupted"),
                                                   ("\x04", 0, "Not started; nothing was stored.")])
def test_run_in_a_terminal_asks_first_and_no_ctrl_c_or_ctrl_d_store_nothing(tmp_path, demo_thread_url, key,
                                                                             code, says):
    db = tmp_path / "s.db"
    got, drawn = _in_a_terminal(["run", "--config", _config_file(tmp_path, demo_thread_url, limit=2), "--db",
                                 str(db)], child_env(), "Start this run? [Y/n]", [key])
    assert got == code, drawn
    assert drawn.startswith("Before the run: 8 answers") and says in drawn and "Traceback" not in drawn
    assert not db.exists()


async def test_the_leaderboards_rejudge_hints_name_the_database(demo_url, db_file):
    """The leaderboard's 'one set only' notice and its unscored line named no --db."""
    from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen

    config = config_for(demo_url, ("demo-guardian",))
    config = replace(config, judge=replace(config.judge, targets=tuple(
        replace(t, model=f"{t.model}+badjudge") for t in config.judge.targets)))  # every judge fails
    sid, _status, _ = await run_session(db_file, config, bank(1))
    notes = Notes()
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.rows)
        expected = f"scsafety-tui rejudge {sid} --db {shlex.quote(db_file)}"
        await wait_until(pilot, lambda: expected in " ".join(screen_text(pilot).split()),
                         what="the unscored line's hint with --db")
        await pilot.press("g")
        await wait_until(pilot, lambda: notes.seen(expected), what="the notice with --db")


async def test_the_judge_evaluations_hint_names_the_database(tmp_path):
    """With nothing stored, the judge evaluations screen said to run `scsafety-tui judge eval`: without
    --db that stores into the default database, which this app never reads."""
    from scsafety_tui.tui.screens.judge_evals import JudgeEvalScreen

    db = str(tmp_path / "my [evals].db")
    app = app_for(db, None)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(JudgeEvalScreen())
        expected = f"scsafety-tui judge eval --db {shlex.quote(db)}"
        await wait_until(pilot, lambda: expected in " ".join(screen_text(pilot).split()),
                         what="the hint with --db, the path shown literally")
