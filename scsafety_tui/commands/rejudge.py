"""rejudge: score a saved session's answers again without asking the models again: the answers whose judges
all failed (the run's own set), or with --judge every answer into a named verdict set."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scsafety_tui.commands.common import db_path, load_user_config, split_keys
from scsafety_tui.errors import InputError

if TYPE_CHECKING:
    from scsafety_tui.config import Config


def cmd_rejudge(args: argparse.Namespace) -> int:
    if args.vset is not None and not args.vset:
        raise InputError("--set: a verdict set needs a name (the run's own set is the one without --set)")
    config = load_user_config(args, required=bool(args.config))
    return asyncio.run(_rejudge(args, db_path(args, config), config if args.config else None))


class Progress:
    """`rejudge: 12/48 answers` on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        step = done * 10 // total
        if self.tty:
            print(f"\rrejudge: {done}/{total} answers", end="\n" if done == total else "", file=sys.stderr,
                  flush=True)
        elif step != self.shown:
            self.shown = step
            print(f"rejudge: {done}/{total} answers", file=sys.stderr, flush=True)


async def _rejudge(args: argparse.Namespace, db: str, config: Config | None) -> int:
    from scsafety_tui.engine.rejudge import HEURISTIC, rejudge
    from scsafety_tui.engine.resume import needs_demo_server, session_config
    from scsafety_tui.headless import EXIT_ERRORS, EXIT_OK, print_tables, stdout_console
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store
    from scsafety_tui.textsafe import visible

    console = stdout_console()
    if db != ":memory:" and not Path(db).exists():  # a mistyped --db is an error, not a new empty database
        raise InputError(f"{db}: no such database")
    judges = split_keys(args.judge)
    if args.judge is not None and not judges:
        raise InputError("--judge: no judge key given (a [[judge.targets]] key, or 'heuristic')")
    store = await Store.open(db)
    server = None
    try:
        sid = await queries.resolve_session(store, args.session)
        stored = (await queries.stored_session(store, sid)).config
        heuristic_only = bool(judges) and all(k == HEURISTIC for k in judges)
        if needs_demo_server(stored, config) and not heuristic_only:  # a demo judge lives on a new demo server
            from scsafety_tui.demo.server import DemoServer

            server = DemoServer(first_token_delay=0.0, token_delay=0.0)
            config = session_config(stored, config, demo_url=await server.start(), judge_only=True)
        result = await rejudge(store, sid, config=config, judges=judges, vset=args.vset, progress=Progress())
        if result.vset:
            # the set's name is user text: shown literally (control characters visible), never as markup
            console.print(visible(f"session {sid}: verdict set '{result.vset}' (judges {', '.join(result.judges)}):"
                                  f" {result.tried} answer(s) judged, {result.scored} scored,"
                                  f" {result.still_unscored} unscored"), markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(f"session {sid}: {result.tried} unscored answer(s) judged again, {result.scored} now"
                          f" scored, {result.still_unscored} still unscored", highlight=False)
        problems = await print_tables(store, sid, console, vset=result.vset)
        return EXIT_ERRORS if problems else EXIT_OK
    finally:
        await store.close()
        if server is not None:
            await server.stop()
