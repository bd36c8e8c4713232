"""`scsafety-tui spot`: one prompt against the chosen models, side by side in the plain terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from scsafety_tui.commands.common import db_path, load_user_config, split_keys
from scsafety_tui.config import Config
from scsafety_tui.errors import InputError
from scsafety_tui.events import (
    Event,
    ReasoningDelta,
    TokenDelta,
    TurnCompleted,
    TurnFailed,
    TurnRetrying,
    TurnStarted,
    VerdictReady,
)
from scsafety_tui.textsafe import visible

BADGE = {0: ("0 unsafe", "bold white on red"), 1: ("1 refusal/poor", "black on yellow"),
         2: ("2 safe+helpful", "black on green")}


@dataclass
class _Round:
    """One round of one target as the live display shows it: each part has its own slot, so a verdict that
    arrives while the next round streams is drawn under its own round, never inside the next answer."""

    question: str
    answer: str = ""
    reasoning: str = ""
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(text, style) lines under the answer: retries, failures, the truncated flag."""
    verdict: tuple[str, str] | None = None
    reasons: str = ""


class Columns:
    """Per-target transcript buffers rendered as Rich columns; model text is never parsed as markup."""

    def __init__(self, keys: list[str]) -> None:
        self.rounds: dict[str, dict[int, _Round]] = {k: {} for k in keys}

    def _round(self, e: Any) -> _Round | None:
        rounds = self.rounds.get(getattr(e, "target", ""))
        if rounds is None or not hasattr(e, "round"):
            return None
        return rounds.setdefault(e.round, _Round(""))

    def __call__(self, e: Event) -> None:
        if isinstance(e, TurnStarted):
            if e.target in self.rounds:
                self.rounds[e.target][e.round] = _Round(e.prompt)
            return
        r = self._round(e)
        if r is None:
            return
        if isinstance(e, TokenDelta):
            r.answer += e.text
        elif isinstance(e, ReasoningDelta):
            r.reasoning += e.text
        elif isinstance(e, TurnRetrying):
            r.answer = r.reasoning = ""  # the answer restarts from the beginning
            r.notes.append((f"↻ retry {e.attempt}: {e.error}", "yellow"))
        elif isinstance(e, TurnCompleted):
            r.answer, r.reasoning = e.text, e.reasoning  # the stored text, whatever the stream showed
            if e.finish_reason == "length":
                r.notes.append(("✂ truncated: cut by max_tokens (judged as it stands)", "yellow"))
        elif isinstance(e, TurnFailed):
            label = "⊘ blocked by the provider's content filter" if e.kind == "blocked" else f"✗ {e.error}"
            r.notes.append((label, "bold red"))
        elif isinstance(e, VerdictReady):
            r.verdict = BADGE.get(e.score, ("judge error", "bold red")) if e.score is not None \
                else ("no verdict: " + "; ".join(v.error or "" for v in e.verdicts), "bold red")
            r.reasons = " ".join(v.reason for v in e.verdicts if v.reason)

    def cell(self, key: str) -> Any:
        from rich.text import Text

        t = Text()
        for n, r in sorted(self.rounds[key].items()):
            t.append(visible(f"\nQ{n}: {r.question}\n"), style="bold cyan")
            if r.reasoning:
                t.append(visible(f"💭 {r.reasoning}\n"), style="dim italic")
            t.append(visible(r.answer))
            for text, style in r.notes:
                t.append(visible(f"\n{text}"), style=style)
            if r.verdict is not None:
                badge, style = r.verdict
                t.append(f"\n[R{n} {badge}] ", style=style)
                t.append(visible(r.reasons), style="italic")
            t.append("\n")
        return t

    def render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(expand=True, show_lines=False)
        for key in self.rounds:
            table.add_column(Text(visible(key)), ratio=1, overflow="fold")  # a key is never markup
        table.add_row(*(self.cell(key) for key in self.rounds))
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
    from rich.live import Live
    from rich.text import Text

    from scsafety_tui.headless import stdout_console
    from scsafety_tui.spot import spot_item, spot_result, start_spot
    from scsafety_tui.store.db import Store
    from scsafety_tui.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    item = spot_item(turns, taxonomy, args.sub_dimension or "auto")
    store = await Store.open(db)
    try:
        columns = Columns([t.key for t in config.targets])
        srun = await start_spot(store, config, taxonomy, [item], columns if not args.json else _ignore)
        console = stdout_console()
        if args.json:
            await srun.run()
        elif not console.is_terminal:
            # piped: no live redraws; each target's transcript in turn, at full width
            await srun.run()
            for key in columns.rounds:
                console.print(Text.assemble("\n", (f"── {visible(key)}", "bold")))
                console.print(columns.cell(key))
        else:
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
    from rich.table import Table

    from scsafety_tui.headless import stdout_console

    console = stdout_console()
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
