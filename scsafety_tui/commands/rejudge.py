"""rejudge: score again the answers whose judges all failed, without asking the models again."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from scsafety_tui.commands.common import db_path, load_user_config
from scsafety_tui.errors import InputError

if TYPE_CHECKING:
    from scsafety_tui.config import Config


def cmd_rejudge(args: argparse.Namespace) -> int:
    config = load_user_config(args, required=bool(args.config))
    return asyncio.run(_rejudge(args, db_path(args, config), config if args.config else None))


async def _rejudge(args: argparse.Namespace, db: str, config: Config | None) -> int:
    from scsafety_tui.engine.rejudge import rejudge
    from scsafety_tui.engine.resume import needs_demo_server, session_config
    from scsafety_tui.headless import EXIT_ERRORS, EXIT_OK, print_tables, stdout_console
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    console = stdout_console()
    if db != ":memory:" and not Path(db).exists():  # a mistyped --db is an error, not a new empty database
        raise InputError(f"{db}: no such database")
    store = await Store.open(db)
    server = None
    try:
        sid = await queries.resolve_session(store, args.session)
        stored = (await queries.stored_session(store, sid)).config
        if needs_demo_server(stored, config):  # a demo judge lives on a demo server started anew
            from scsafety_tui.demo.server import DemoServer

            server = DemoServer(first_token_delay=0.0, token_delay=0.0)
            config = session_config(stored, config, demo_url=await server.start(), judge_only=True)
        result = await rejudge(store, sid, config=config)
        console.print(f"session {sid}: {result.tried} unscored answer(s) judged again, {result.scored} now"
                      f" scored, {result.still_unscored} still unscored", highlight=False)
        problems = await print_tables(store, sid, console)
        return EXIT_ERRORS if problems else EXIT_OK
    finally:
        await store.close()
        if server is not None:
            await server.stop()

