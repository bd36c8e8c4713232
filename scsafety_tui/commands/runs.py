"""Commands that run sessions: run, demo, resume, demo-server, and the app itself."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from scsafety_tui.commands.common import db_path, load_user_config, split_keys
from scsafety_tui.config import Config
from scsafety_tui.engine.plan import RunChoices, RunPlan, demo_plan, plan_run, session_creator
from scsafety_tui.errors import InputError

if TYPE_CHECKING:
    from scsafety_tui.store.queries import StoredSession


def run_choices(args: argparse.Namespace) -> RunChoices:
    """The run options of `run` as the core's RunChoices (the core never sees argparse)."""
    return RunChoices(targets=tuple(split_keys(args.targets)), banks=tuple(args.bank or ()),
                      sub_dimensions=tuple(args.sub_dimension or ()), limit=args.limit, name=args.name)


def cmd_run(args: argparse.Namespace) -> int:
    config = load_user_config(args)
    assert config is not None
    config.check_keys()
    plan = plan_run(config, run_choices(args))
    config = plan.config
    db = db_path(args, config)
    create = session_creator(plan)
    if _headless(args):  # --headless, or no terminal to draw the app in (a script, CI, a pipe)
        from scsafety_tui.cost import estimate_run
        from scsafety_tui.headless import run_headless

        # the run uses the config itself: the stored snapshot has header values and secret params masked
        return asyncio.run(run_headless(db, create, config=config,
                                        estimate=estimate_run(config, plan.items, plan.taxonomy)))
    if not _start_after_estimate(plan):
        print("Not started; nothing was stored.")
        return 0
    from scsafety_tui.tui.launch import launch

    return launch(db=db, config=config, create=create)


def _start_after_estimate(plan: RunPlan) -> bool:
    """Before the app takes the terminal: the run's bound (answers, judge calls, tokens, cost) and, in a
    terminal, whether to start it (Enter starts)."""
    import sys

    from scsafety_tui.cost import estimate_run
    from scsafety_tui.textsafe import visible

    print(visible("\n".join(estimate_run(plan.config, plan.items, plan.taxonomy).lines())), flush=True)
    if not sys.stdin.isatty():
        return True
    try:
        answer = input("Start this run? [Y/n] ")
    except EOFError:  # Ctrl+D: no, on a line of its own
        print()
        return False
    return answer.strip().lower() in ("", "y", "yes")


def cmd_demo(args: argparse.Namespace) -> int:
    from scsafety_tui.demo_profile import SPEEDS

    headless = _headless(args)  # --headless, or no terminal: the app would wait for keys forever
    speed = args.speed or ("fast" if headless else "realistic")
    first, per_token = SPEEDS[speed]
    db = db_path(args)
    if headless:
        return asyncio.run(_demo_headless(args, db, first, per_token))
    from scsafety_tui.tui.launch import launch_demo

    return launch_demo(db=db, limit=args.limit or 0, first_token_delay=first, token_delay=per_token,
                       name=args.name)


async def _demo_headless(args: argparse.Namespace, db: str, first: float, per_token: float) -> int:
    from scsafety_tui.demo.server import DemoServer
    from scsafety_tui.headless import run_headless

    server = DemoServer(first_token_delay=first, token_delay=per_token)
    url = await server.start()
    try:
        from scsafety_tui.cost import estimate_run

        plan = demo_plan(url, args.limit or 0, args.name, concurrency=8)
        return await run_headless(db, session_creator(plan),
                                  estimate=estimate_run(plan.config, plan.items, plan.taxonomy))
    finally:
        await server.stop()


def cmd_resume(args: argparse.Namespace) -> int:
    config = load_user_config(args, required=bool(args.config))
    db = db_path(args, config)
    sid, stored = asyncio.run(_stored(args, db))
    if stored.status == "done" and not args.retry_errors:
        raise InputError(f"session {sid} is already finished; use --retry-errors to rerun its errors")
    if not _headless(args):
        from scsafety_tui.tui.launch import launch_resume

        # the app runs the resumed session with the same config rule (and its own demo server); it runs its
        # own event loop, so it starts outside any asyncio.run
        return launch_resume(db=db, session_id=sid, config=config, retry_errors=args.retry_errors)
    return asyncio.run(_resume(args, db, config, sid, stored))


async def _stored(args: argparse.Namespace, db: str) -> tuple[int, StoredSession]:
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    store = await Store.open(db)
    try:
        sid = await queries.resolve_session(store, args.session)
        return sid, await queries.stored_session(store, sid)
    finally:
        await store.close()


async def _resume(args: argparse.Namespace, db: str, config: Config | None, sid: int,
                  stored: StoredSession) -> int:
    """Resume headless with the config session_config decides; a demo session gets a fresh demo server."""
    from scsafety_tui.engine.resume import needs_demo_server, session_config
    from scsafety_tui.headless import run_headless
    from scsafety_tui.store.db import Store

    server = None
    demo_url = None
    if needs_demo_server(stored.config, config):
        from scsafety_tui.demo.server import DemoServer

        server = DemoServer(first_token_delay=0.02, token_delay=0.002)
        demo_url = await server.start()

    async def find(_store: Store) -> int:
        return sid

    try:
        config = session_config(stored.config, config, demo_url=demo_url)
        return await run_headless(db, find, config=config, retry_errors=args.retry_errors)
    finally:
        if server is not None:
            await server.stop()


def _headless(args: argparse.Namespace) -> bool:
    """`run`, `demo` and `resume` open the app unless told --headless or not in a terminal (a script, CI, a pipe:
    the app could not be used there and would wait for keys forever; progress and tables are printed)."""
    import sys

    return bool(getattr(args, "headless", False)) or not (sys.stdin.isatty() and sys.stdout.isatty())


def cmd_demo_server(args: argparse.Namespace) -> int:
    from scsafety_tui.demo import run_forever
    from scsafety_tui.demo_profile import SPEEDS

    first, per_token = SPEEDS[args.speed]
    run_forever(args.port, first_token_delay=first, token_delay=per_token,
                announce=lambda line: print(line, flush=True))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    import os

    # with no terminal (a script, a pipe) the app would wait for keys forever; textual-serve (`serve`) runs
    # it without one on purpose, through its web driver
    if _headless(args) and "TEXTUAL_DRIVER" not in os.environ:
        raise InputError("the app needs a terminal (stdin and stdout are not one here); in a script use "
                         "`scsafety-tui run --headless`, `sessions`, `show` or `export` (`--help` lists all)")
    config = load_user_config(args, required=False)
    from scsafety_tui.tui.launch import launch

    return launch(db=db_path(args, config), config=config, create=None)
