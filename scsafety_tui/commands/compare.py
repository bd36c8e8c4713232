"""compare: two sessions on the items they share."""

from __future__ import annotations

import argparse
import asyncio

from scsafety_tui.commands.common import db_path, load_user_config


def cmd_compare(args: argparse.Namespace) -> int:
    """Two sessions on the same items: per target, B − A over the pairs both have complete."""
    from scsafety_tui.headless import stdout_console

    console = stdout_console()

    async def main() -> int:
        import json

        from rich.text import Text

        from scsafety_tui import report
        from scsafety_tui.compare import compare_sessions, comparison_json, summary_tables
        from scsafety_tui.exports import json_inert
        from scsafety_tui.store import queries
        from scsafety_tui.store.db import Store

        store = await Store.open(db_path(args, load_user_config(args, required=False)), readonly=True)
        try:
            a = await queries.resolve_session(store, args.a)
            b = await queries.resolve_session(store, args.b)
            c = await compare_sessions(store, a, b, human=args.human)
        finally:
            await store.close()
        if args.json:
            print(json_inert(json.dumps(comparison_json(c), ensure_ascii=False, indent=1)))
            return 0
        console.print(Text(f"A: session {a} · B: session {b} · {len(c.items)} shared items · "
                           f"{len(c.targets)} shared targets" + (" · human-adjusted" if args.human else "")))
        for table in summary_tables(c):
            console.print(report.rich_table(table))
        return 0

    return asyncio.run(main())
