"""The seams between UI, commands, engine and store: run planning lives in the core (the CLI and the TUI
plan alike, and tui/ never imports commands/), the store hands out typed records (SQL stays in store/),
and one rule says which config a stored session runs with, whoever resumes it."""

from __future__ import annotations

import ast
import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest
from engine_helpers import TAXONOMY, bank, config_for, run_session
from test_tui_support import SIZE, finished, new_session, run_screen, wait_until

from scsafety_tui.cli import build_parser, main
from scsafety_tui.commands.runs import run_choices
from scsafety_tui.config import Config, ConfigError, load_config
from scsafety_tui.demo.launch import DemoServerThread
from scsafety_tui.engine.plan import RunChoices, plan_run
from scsafety_tui.engine.resume import needs_demo_server, session_config
from scsafety_tui.engine.session import snapshot
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import Item
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.screens.confirm import ConfirmScreen

PACKAGE = Path(__file__).resolve().parent.parent / "scsafety_tui"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def write_config(path: Path, url: str, models: list[tuple[str, str]], **run: object) -> Path:
    lines = []
    for key, model in models:
        lines += ["[[targets]]", f'key = "{key}"', f'base_url = "{url}"', f'model = "{model}"', ""]
    lines += ["[judge]", 'mode = "heuristic"', "", "[run]", *(f"{k} = {v}" for k, v in run.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------ 1. run planning in the core


def test_tui_never_imports_commands():
    offenders = {str(p.relative_to(PACKAGE)): sorted(m for m in _imports(p) if m.startswith("scsafety_tui.commands"))
                 for p in (PACKAGE / "tui").rglob("*.py")}
    assert {p: m for p, m in offenders.items() if m} == {}


def test_cli_arguments_become_the_cores_run_choices():
    sub = TAXONOMY.sub_dimensions[0].id
    args = build_parser().parse_args(["run", "--targets", "b, a", "--bank", str(SAMPLE_BANK), "--sub-dimension",
                                      sub, "--limit", "1", "--name", "mine"])
    choices = run_choices(args)
    assert choices == RunChoices(targets=("b", "a"), banks=(str(SAMPLE_BANK),), sub_dimensions=(sub,), limit=1,
                                 name="mine")
    config = config_for("http://127.0.0.1:9", ("demo-guardian", "demo-refuser"))
    config = replace(config, targets=tuple(replace(t, key=k) for t, k in zip(config.targets, "ab", strict=True)))
    plan = plan_run(config, choices)
    assert [t.key for t in plan.config.targets] == ["b", "a"]
    assert plan.name == "mine" and len(plan.items) == 1 and plan.items[0].sub_dimension == sub
    assert plan.config.run.banks == (str(SAMPLE_BANK),) and plan.config.run.limit == 1
    # no options: the config's own choices, as the TUI's RunChoices() gives them
    assert plan_run(config, run_choices(build_parser().parse_args(["run"]))).items == \
        plan_run(config, RunChoices()).items


def test_cli_run_and_tui_new_run_store_the_same_plan(tmp_path):
    # sync: the CLI runs its own event loop (and signal handlers) in the main thread; the app runs after it
    db = str(tmp_path / "s.db")
    with DemoServerThread(first_token_delay=0.0, token_delay=0.0) as demo:
        cfg = write_config(tmp_path / "c.toml", demo.url, [("a", "demo-guardian"), ("b", "demo-refuser")],
                           limit=2, retries=1)
        assert main(["run", "--config", str(cfg), "--headless", "--db", db]) == 0
        config = load_config(cfg)

        async def new_run_in_the_app() -> None:
            app = ScSafetyApp(db=db, config=config)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("r")  # the home screen's new run from the app's config
                # the estimate comes first (answers, judge calls, the token bound): start
                await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="the estimate")
                assert pilot.app.screen.question.startswith("Before the run: 8 answers and 0 judge calls")
                await pilot.press("y")
                run = await run_screen(pilot)
                assert run.session_id == 2
                await finished(pilot, run)

        asyncio.run(new_run_in_the_app())
    cli, tui = asyncio.run(_stored(db, 1)), asyncio.run(_stored(db, 2))
    cli_items, tui_items = asyncio.run(_items(db, 1)), asyncio.run(_items(db, 2))
    plan = plan_run(config, RunChoices())
    assert cli_items == tui_items == plan.items and len(plan.items) == 2
    assert cli.snapshot == tui.snapshot == snapshot(plan.config)
    assert cli.taxonomy_data == tui.taxonomy_data == plan.taxonomy.to_dict()
    assert cli.targets == tui.targets and cli.keys == ["a", "b"]
    assert cli.name.endswith(" a,b") and tui.name.endswith(" a,b")
    assert cli.status == tui.status == "done"


# ------------------------------------------------------------ 2. typed records from the store


async def test_stored_session_decodes_a_real_session_file(db_file, demo_url):
    config = config_for(demo_url, ("demo-guardian", "demo-refuser"), block_as_refusal=True)
    first = replace(config.targets[0], params={"top_p": 0.5, "api_token": "sk-not-for-the-db"}, max_tokens=300)
    config = replace(config, targets=(first, config.targets[1]))
    sid, status, _ = await run_session(db_file, config, bank(2), name="typed")
    assert status == "done"
    store = await Store.open(db_file, readonly=True)
    try:
        s = await queries.stored_session(store, sid)
        summary = await queries.session_summary(store, sid)
        listed = next(x for x in await queries.list_sessions(store) if x.id == sid)
        keys = await queries.target_keys(store, sid)
    finally:
        await store.close()
    assert (s.id, s.name, s.kind, s.status, s.notes) == (sid, "typed", "run", "done", "")
    assert s.finished_at is not None and s.finished_at >= s.created_at
    assert s.keys == keys == ["demo-guardian", "demo-refuser"]
    t = s.targets[0]
    assert (t.key, t.provider, t.base_url, t.model) == ("demo-guardian", "openai", demo_url, "demo-guardian")
    assert t.params["top_p"] == 0.5 and t.params["max_tokens"] == 300 and t.params["temperature"] == 0.0
    assert t.params["api_token"] != "sk-not-for-the-db"  # masked when stored
    parsed = s.config
    assert parsed.targets[1] == config.targets[1] and parsed.judge == config.judge and parsed.run == config.run
    assert parsed.source == f"session {sid}"
    assert s.taxonomy.to_dict() == TAXONOMY.to_dict()
    assert s.block_as_refusal is True
    assert summary == listed and summary.done == 4


def test_no_sql_outside_the_store():
    sql = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET)\b")
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "store":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(PACKAGE)}:{n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and sql.search(n.value)]
        found += [f"{path.relative_to(PACKAGE)}: imports {m}" for m in _imports(path) if m in ("sqlite3", "aiosqlite")]
    assert found == []


# ------------------------------------------------------------ 3. one rule for a stored session's config


def test_a_demo_session_resumes_on_a_new_demo_server_from_the_cli_and_the_tui(tmp_path):
    db = str(tmp_path / "d.db")
    with DemoServerThread(first_token_delay=0.0, token_delay=0.0) as old:
        gone = old.url
        config = config_for(gone, ("demo-guardian", "demo-refuser"))
        cli_sid = asyncio.run(new_session(db, config, bank(1), "cli"))
        tui_sid = asyncio.run(new_session(db, config, bank(1), "tui"))
    # The server the sessions were made with has stopped: each way of resuming starts or uses a new one.
    assert main(["resume", str(cli_sid), "--db", db]) == 0
    with DemoServerThread(first_token_delay=0.0, token_delay=0.0) as new:

        async def resume_in_the_app() -> Config:
            app = ScSafetyApp(db=db, demo=new)
            async with app.run_test(size=SIZE) as pilot:
                run_config = await app.run_config_for(tui_sid)
                app.open_session(tui_sid, start=True)
                run = await run_screen(pilot)
                await finished(pilot, run)
                assert run.run_state == "done"
            return run_config

        run_config = asyncio.run(resume_in_the_app())
    stored = asyncio.run(_stored(db, tui_sid)).config
    assert run_config == session_config(stored, None, demo_url=new.url)
    assert {t.base_url for t in (*run_config.targets, *run_config.judge.targets)} == {new.url} != {gone}
    assert replace(run_config, targets=stored.targets, judge=stored.judge) == stored
    cli = asyncio.run(_stored(db, cli_sid))
    assert cli.status == "done" and {t.base_url for t in cli.targets} == {gone}  # the snapshot is untouched


async def _stored(db: str, sid: int) -> queries.StoredSession:
    store = await Store.open(db, readonly=True)
    try:
        return await queries.stored_session(store, sid)
    finally:
        await store.close()


async def _items(db: str, sid: int) -> list[Item]:
    store = await Store.open(db, readonly=True)
    try:
        return await queries.items(store, sid)
    finally:
        await store.close()


def test_which_config_a_stored_session_runs_with():
    demo = config_for("http://127.0.0.1:1", ("demo-guardian", "demo-refuser"))
    assert needs_demo_server(demo, None) and not needs_demo_server(demo, demo)
    assert session_config(demo, None, demo_url="http://127.0.0.1:2").targets[0].base_url == "http://127.0.0.1:2"
    assert session_config(demo, None) == demo  # no demo server asked for: the snapshot as it is
    mine = plain_config("http://10.0.0.1/v1", ["a", "b"])
    other = plain_config("http://10.0.0.2/v1", ["a"])
    # an explicit config must name every target of the session...
    with pytest.raises(ConfigError, match="this session also needs b"):
        session_config(mine, other)
    # ...the app's (ambient) config counts only when it does; a demo session never takes it
    assert session_config(mine, other, ambient=True) == mine
    both = plain_config("http://10.0.0.3/v1", ["b", "a"])
    assert [t.base_url for t in session_config(mine, both, ambient=True).targets] == ["http://10.0.0.3/v1"] * 2
    assert needs_demo_server(demo, both, ambient=True)
    assert session_config(demo, both, demo_url="http://127.0.0.1:2", ambient=True).targets[0].base_url == \
        "http://127.0.0.1:2"
    # a rejudge takes only the judge (and run settings) of a given config; applying twice changes nothing
    judged = session_config(mine, demo, judge_only=True)
    assert judged.targets == mine.targets and judged.judge == demo.judge
    assert session_config(mine, judged, judge_only=True) == judged
    merged = session_config(mine, both)
    assert session_config(mine, merged) == merged


def plain_config(url: str, keys: list[str]) -> Config:
    base = config_for(url, ("demo-guardian",) * len(keys))
    return replace(base, targets=tuple(replace(t, key=k, base_url=url) for t, k in zip(base.targets, keys,
                                                                                       strict=True)),
                   source=f"{url}.toml")
