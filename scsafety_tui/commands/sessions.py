"""sessions, show, export."""

from __future__ import annotations

import argparse
import asyncio
import time

from scsafety_tui.commands.common import db_path, load_user_config


def _db(args: argparse.Namespace) -> str:
    return db_path(args, load_user_config(args, required=False))


def cmd_sessions(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from scsafety_tui.scoring import fmt, score_answers
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    async def main() -> int:
        store = await Store.open(_db(args))
        try:
            table = Table(title=f"Sessions in {store.path}", title_justify="left")
            for col in ("id", "name", "date", "kind", "status", "items", "done", "errors", "overall"):
                table.add_column(col, justify="right" if col in ("id", "items", "done", "errors") else "left")
            for s in await queries.list_sessions(store):
                scores = score_answers(await queries.answer_rows(store, s.id))
                overall = " ".join(f"{k} {fmt(scores[k].total.score) if k in scores else '—'}"
                                   for k in s.targets)
                table.add_row(str(s.id), s.name, time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at)),
                              s.kind, s.status, str(s.items), f"{s.done}/{s.conversations}", str(s.errors),
                              overall)
            Console().print(table)
        finally:
            await store.close()
        return 0

    return asyncio.run(main())


def cmd_show(args: argparse.Namespace) -> int:
    from scsafety_tui.headless import print_tables, stdout_console
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    async def main() -> int:
        store = await Store.open(_db(args))
        try:
            sid = await queries.resolve_session(store, args.session)
            await print_tables(store, sid, stdout_console(), human=args.human)
        finally:
            await store.close()
        return 0

    return asyncio.run(main())


def cmd_export(args: argparse.Namespace) -> int:
    from scsafety_tui.exports import export_session

    return export_session(_db(args), args.session, args.format, args.output, human=args.human)
