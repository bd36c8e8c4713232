"""Commands that run sessions: run, demo, resume, demo-server, and the app itself."""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace
from pathlib import Path

from scsafety_tui.commands.common import db_path, load_user_config, split_keys
from scsafety_tui.config import Config, ConfigError
from scsafety_tui.errors import InputError
from scsafety_tui.questions import Item, load_banks, select_items
from scsafety_tui.taxonomy import Taxonomy, taxonomy_for


def plan_run(config: Config, args: argparse.Namespace) -> tuple[Config, Taxonomy, list[Item], str]:
    """Apply command-line choices to a config; load and select the bank items."""
    keys = split_keys(getattr(args, "targets", None))
    targets = tuple(config.target(k) for k in keys) if keys else config.targets
    if not targets:
        raise ConfigError(f"{config.source}: targets: no [[targets]] to run")
    banks = tuple(getattr(args, "bank", None) or config.run.banks)
    subs = tuple(getattr(args, "sub_dimension", None) or config.run.sub_dimensions)
    limit = getattr(args, "limit", None)
    limit = config.run.limit if limit is None else limit
    config = replace(config, targets=targets, run=replace(config.run, banks=banks, sub_dimensions=subs,
                                                          limit=limit))
    taxonomy = taxonomy_for([Path(b) for b in banks])
    for s in subs:
        if taxonomy.sub_dimension(s) is None:
            raise InputError(f"--sub-dimension: unknown {s!r} (see `scsafety-tui questions stats`)")
    # A limit takes a seeded sample in bank order, so `--limit 20` spans sub-dimensions reproducibly.
    items = select_items(load_banks(banks, taxonomy), sub_dimensions=subs, limit=limit, seed=config.run.seed)
    if not items:
        raise InputError("no bank items match the chosen sub-dimensions")
    name = getattr(args, "name", None) or f"{time.strftime('%Y-%m-%d %H:%M')} {','.join(t.key for t in targets)}"
    return config, taxonomy, items, name


def _creator(config: Config, taxonomy: Taxonomy, items: list[Item], name: str, kind: str = "run"):
    from scsafety_tui.engine.session import create_session

    async def create(store) -> int:
        return await create_session(store, config, taxonomy, items, name=name, kind=kind)

    return create


def cmd_run(args: argparse.Namespace) -> int:
    config = load_user_config(args)
    assert config is not None
    config.check_keys()
    config, taxonomy, items, name = plan_run(config, args)
    db = db_path(args, config)
    create = _creator(config, taxonomy, items, name)
    if args.headless:
        from scsafety_tui.headless import run_headless

        # the run uses the config itself: the stored snapshot has header values and secret params masked
        return asyncio.run(run_headless(db, create, config=config))
    from scsafety_tui.tui.launch import launch

    return launch(db=db, config=config, create=create)


def cmd_demo(args: argparse.Namespace) -> int:
    from scsafety_tui.demo_profile import SPEEDS

    speed = args.speed or ("fast" if args.headless else "realistic")
    first, per_token = SPEEDS[speed]
    db = db_path(args)
    if args.headless:
        return asyncio.run(_demo_headless(args, db, first, per_token))
    from scsafety_tui.tui.launch import launch_demo

    return launch_demo(db=db, limit=args.limit or 0, first_token_delay=first, token_delay=per_token,
                       name=args.name)


def demo_plan(url: str, limit: int = 0, name: str | None = None, concurrency: int = 4):
    """Config, taxonomy, items and name for a demo run against a demo server at url."""
    from scsafety_tui.demo_profile import demo_config

    config = demo_config(url, limit=limit, concurrency=concurrency)
    ns = argparse.Namespace(name=name or f"{time.strftime('%Y-%m-%d %H:%M')} demo", limit=limit)
    return plan_run(config, ns)


async def _demo_headless(args: argparse.Namespace, db: str, first: float, per_token: float) -> int:
    from scsafety_tui.demo.server import DemoServer
    from scsafety_tui.headless import run_headless

    server = DemoServer(first_token_delay=first, token_delay=per_token)
    url = await server.start()
    try:
        config, taxonomy, items, name = demo_plan(url, args.limit or 0, args.name, concurrency=8)
        return await run_headless(db, _creator(config, taxonomy, items, name))
    finally:
        await server.stop()


def cmd_resume(args: argparse.Namespace) -> int:
    config = load_user_config(args, required=bool(args.config))
    return asyncio.run(_resume(args, db_path(args, config), config))


async def _resume(args: argparse.Namespace, db: str, config: Config | None) -> int:
    """Resume from the stored snapshot; a demo session gets a fresh demo server (its port changed)."""
    import json

    from scsafety_tui.config import parse_config
    from scsafety_tui.demo_profile import is_demo, rebase
    from scsafety_tui.headless import run_headless
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    store = await Store.open(db)
    try:
        sid = await queries.resolve_session(store, args.session)
        row = await queries.session_row(store, sid)
    finally:
        await store.close()
    if row["status"] == "done" and not args.retry_errors:
        raise InputError(f"session {sid} is already finished; use --retry-errors to rerun its errors")
    stored = parse_config(json.loads(row["config"]), f"session {sid}")
    server = None
    if config is None and is_demo(stored):
        from scsafety_tui.demo.server import DemoServer

        server = DemoServer(first_token_delay=0.02, token_delay=0.002)
        config = rebase(stored, await server.start())

    async def find(_store: Store) -> int:
        return sid

    try:
        return await run_headless(db, find, config=config, retry_errors=args.retry_errors)
    finally:
        if server is not None:
            await server.stop()


def cmd_demo_server(args: argparse.Namespace) -> int:
    from scsafety_tui.demo import run_forever
    from scsafety_tui.demo_profile import SPEEDS

    first, per_token = SPEEDS[args.speed]
    run_forever(args.port, first_token_delay=first, token_delay=per_token,
                announce=lambda line: print(line, flush=True))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    config = load_user_config(args, required=False)
    from scsafety_tui.tui.launch import launch

    return launch(db=db_path(args, config), config=config, create=None)
