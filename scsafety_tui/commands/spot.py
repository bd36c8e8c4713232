"""`scsafety-tui spot`: one prompt against the chosen models, side by side in the plain terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

from scsafety_tui.commands.common import db_path, load_user_config, split_keys
from scsafety_tui.config import Config
from scsafety_tui.errors import InputError
from scsafety_tui.events import Event, TokenDelta, TurnFailed, TurnRetrying, TurnStarted, VerdictReady
from scsafety_tui.textsafe import visible

BADGE = {0: ("0 unsafe", "bold white on red"), 1: ("1 refusal/poor", "black on yellow"),
         2: ("2 safe+helpful", "black on green")}


class Columns:
    """Per-target transcript buffers rendered as Rich columns; model text is never parsed as markup."""

    def __init__(self, keys: list[str]) -> None:
        self.parts: dict[str, list[tuple[str, str]]] = {k: [] for k in keys}

    def __call__(self, e: Event) -> None:
        parts = self.parts.get(getattr(e, "target", ""))
        if parts is None:
            return
        if isinstance(e, TokenDelta):
            text, style = parts[-1]
            parts[-1] = (text + e.text, style)
        elif isinstance(e, TurnStarted):
            parts += [(f"\nQ{e.round}: {e.prompt}\n", "bold cyan"), ("", "")]
        elif isinstance(e, TurnRetrying):
            parts[-1] = ("", "")
            parts.append((f"\n↻ retry {e.attempt}: {e.error}\n", "yellow"))
            parts.append(("", ""))
        elif isinstance(e, TurnFailed):
            label = "⊘ blocked by the provider's content filter" if e.kind == "blocked" else f"✗ {e.error}"
            parts.append((f"\n{label}\n", "bold red"))
        elif isinstance(e, VerdictReady):
            badge, style = BADGE.get(e.score, ("judge error", "bold red")) if e.score is not None \
                else ("no verdict: " + "; ".join(v.error or "" for v in e.verdicts), "bold red")
            parts.append((f"\n[R{e.round} {badge}] ", style))
            parts.append((" ".join(v.reason for v in e.verdicts if v.reason) + "\n", "italic"))

    def render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(expand=True, show_lines=False)
        for key in self.parts:
            table.add_column(Text(visible(key)), ratio=1, overflow="fold")  # a key is never markup
        cells = []
        for parts in self.parts.values():
            t = Text()
            for text, style in parts:
                t.append(visible(text), style=style or None)
            cells.append(t)
        table.add_row(*cells)
        return table


def _read_prompt(args: argparse.Namespace) -> list[str]:
    prompt = args.prompt
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    if not prompt and not args.sample:
        raise InputError("spot: give a PROMPT (or '-' to read it from stdin), or --sample K")
    return [p for p in (prompt, args.follow_up) if p]


def cmd_spot(args: argparse.Namespace) -> int:
    if args.sample is not None and args.sample < 1:
        raise InputError("--sample: expected a number >= 1")
    turns = _read_prompt(args) if not args.sample else []
    config = None if args.demo else load_user_config(args)
    return asyncio.run(_spot(args, turns, config, db_path(args, config)))


async def _spot(args: argparse.Namespace, turns: list[str], config: Config | None, db: str) -> int:
    from scsafety_tui.demo_profile import PERSONAS, demo_config
    from scsafety_tui.spot import spot_config

    async with AsyncExitStack() as stack:
        if config is None:
            from scsafety_tui.demo.server import DemoServer

            live = not (args.json or args.sample)  # only a live display benefits from visible streaming
            server = DemoServer(first_token_delay=0.05 if live else 0.0, token_delay=0.01 if live else 0.0)
            url = await server.start()
            stack.push_async_callback(server.stop)
            config = demo_config(url, personas=PERSONAS)
        config = spot_config(config, split_keys(args.targets), args.judge)
        config.check_keys()
        if args.sample:
            return await _sampled(args, config, db)
        return await _one(args, turns, config, db)
    return 0  # pragma: no cover - the block always returns


async def _one(args: argparse.Namespace, turns: list[str], config: Config, db: str) -> int:
    from rich.console import Console
    from rich.live import Live

    from scsafety_tui.spot import spot_item, spot_result, start_spot
    from scsafety_tui.store.db import Store
    from scsafety_tui.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    item = spot_item(turns, taxonomy, args.sub_dimension or "auto")
    store = await Store.open(db)
    try:
        columns = Columns([t.key for t in config.targets])
        srun = await start_spot(store, config, taxonomy, [item], columns if not args.json else _ignore)
        if args.json:
            await srun.run()
        else:
            console = Console()
            with Live(columns.render(), console=console, refresh_per_second=10,
                      vertical_overflow="visible") as live:
                task = asyncio.create_task(srun.run())
                while not task.done():
                    live.update(columns.render())
                    await asyncio.sleep(0.1)
                await task
                live.update(columns.render())
        result = await spot_result(store, srun.session_id)
    finally:
        await store.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        _print_summary(result)
    errored = any(t["status"] == "error" for it in result["items"] for t in it["targets"].values())
    return 3 if errored else 0


def _print_summary(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print()
    table = Table(title=f"Spot check saved as session {result['session_id']}", title_justify="left",
                  show_lines=True)
    table.add_column("target", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("verdict per round")
    for key, t in result["items"][0]["targets"].items():
        score = "—" if t["score"] is None else f"{t['score']:.2f}"
        lines = []
        for a in t["answers"]:
            why = "; ".join(visible(v["reason"] or v["error"] or "") for v in a["verdicts"]) or visible(
                a["error"] or a["status"])
            tag = " (heuristic)" if any(v["heuristic"] for v in a["verdicts"]) else ""
            lines.append(f"R{a['round']}: {'—' if a['score'] is None else a['score']}{tag}  {why}")
        table.add_row(visible(key), score, "\n".join(lines) or visible(t["status"]))
    console.print(table, markup=False)


def _ignore(_e: Event) -> None:
    return None


async def _sampled(args: argparse.Namespace, config: Config, db: str) -> int:
    from pathlib import Path

    from scsafety_tui.engine.session import create_session
    from scsafety_tui.headless import run_headless
    from scsafety_tui.questions import load_banks, stratified_sample
    from scsafety_tui.taxonomy import taxonomy_for

    banks = [Path(b) for b in (args.bank or config.run.banks)]
    taxonomy = taxonomy_for(banks)
    items = stratified_sample(load_banks(banks, taxonomy), args.sample, seed=args.seed)
    name = f"spot sample {args.sample}/sub-dimension seed {args.seed}"

    async def create(store: Any) -> int:
        return await create_session(store, config, taxonomy, items, name=name, kind="spot")

    return await run_headless(db, create, config=config)
