"""sessions, show, export."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import TYPE_CHECKING

from scsafety_tui.commands.common import db_path, load_user_config
from scsafety_tui.errors import InputError

if TYPE_CHECKING:
    from scsafety_tui.store.db import Store


def _db(args: argparse.Namespace) -> str:
    return db_path(args, load_user_config(args, required=False))


def cmd_sessions(args: argparse.Namespace) -> int:
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from scsafety_tui.headless import stdout_console
    from scsafety_tui.scoring import fmt
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store
    from scsafety_tui.textsafe import visible

    async def rows() -> tuple[str, list[tuple[str, ...]]]:
        store = await Store.open(_db(args), readonly=True)
        try:
            out: list[tuple[str, ...]] = []
            for s in await queries.list_sessions(store):
                scores = await queries.session_scores(store, s.id)
                overall = "\n".join(f"{visible(k)} {fmt(scores[k].total.score) if k in scores else '—'}"
                                     for k in s.targets)
                out.append((str(s.id), visible(s.name), time.strftime("%m-%d %H:%M", time.localtime(s.created_at)),
                            visible(s.kind), visible(s.status), f"{s.done}/{s.conversations}", str(s.errors), overall))
            return store.path, out
        finally:
            await store.close()

    if args.json:
        print(_sessions_json(_db(args)))
        return 0
    path, data = asyncio.run(rows())
    table = Table(title=Text(visible(f"Sessions in {path}")), title_justify="left", show_lines=True, box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for i, col in enumerate(("id", "name", "date", "kind", "status", "done", "err", "overall")):
        width = max([cell_len(line) for r in data for line in r[i].split("\n")] + [len(col)])
        # a narrow terminal wraps the name (at least 14 columns of it) and puts a total under its target key;
        # every other column keeps its width, and nothing is ever cut to "…"
        wraps = col in ("name", "overall")
        least = max([cell_len(k) for r in data for k in r[i].split()] + [len(col)]) if col == "overall" else 14
        table.add_column(col, justify="right" if col in ("id", "done", "err") else "left",
                         no_wrap=not wraps, min_width=min(width, least) if wraps else width, overflow="fold")
    for r in data:
        table.add_row(*(Text(c) for c in r))  # names come from prompts: never parsed as markup
    stdout_console().print(table)
    return 0


def _sessions_json(db: str) -> str:
    """`sessions --json`: every session with its counts and each target's SC-Safety Total (null: none)."""
    import json
    from dataclasses import asdict

    from scsafety_tui.exports import json_inert
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    async def main() -> list[dict[str, object]]:
        store = await Store.open(db, readonly=True)
        try:
            out: list[dict[str, object]] = []
            for s in await queries.list_sessions(store):
                scores = await queries.session_scores(store, s.id)
                out.append(asdict(s) | {"targets": list(s.targets), "total": {
                    k: scores[k].total.score if k in scores else None for k in s.targets}})
            return out
        finally:
            await store.close()

    return json_inert(json.dumps(asyncio.run(main()), ensure_ascii=False, indent=1))


def warn_damaged(sid: int, conversations: list[int], db: str) -> None:
    """Say once, on stderr, that a session holds answers an earlier build stored cut short."""
    import sys

    from scsafety_tui.store.queries import damaged_notice

    if conversations:
        print(f"scsafety-tui: warning: {damaged_notice(sid, len(conversations), db)}", file=sys.stderr)


def cmd_show(args: argparse.Namespace) -> int:
    from scsafety_tui.headless import print_tables, stdout_console
    from scsafety_tui.store import queries
    from scsafety_tui.store.db import Store

    async def main() -> int:
        store = await Store.open(_db(args), readonly=True)
        try:
            sid = await queries.resolve_session(store, args.session)
            warn_damaged(sid, await queries.damaged_answers(store, sid), store.path)
            if args.against is not None and not args.vset:
                raise InputError("--against: give --set NAME too (the set measured against it)")
            if args.json:
                print(await _show_json(store, sid, args.vset))
                return 0
            await print_tables(store, sid, stdout_console(), human=args.human, vset=args.vset,
                               against=args.against)
        finally:
            await store.close()
        return 0

    return asyncio.run(main())


async def _show_json(store: Store, sid: int, vset: str = "") -> str:
    from scsafety_tui.exports import load_session, summary_json
    from scsafety_tui.store import queries

    truncated, empty = await queries.answer_flags(store, sid)
    errored = (await queries.status_counts(store, sid)).get("error", 0)
    data = await load_session(store, sid, vset)
    return summary_json(data, {"errored_conversations": errored, "truncated_answers": truncated,
                               "empty_answers": empty, "unscored_answers": data.unscored})


def cmd_export(args: argparse.Namespace) -> int:
    from scsafety_tui.exports import export_session

    if args.excel and args.format != "csv":
        raise InputError(f"--excel: only for --format csv (got --format {args.format})")
    return export_session(_db(args), args.session, args.format, args.output, human=args.human,
                          excel=args.excel, vset=args.vset)
