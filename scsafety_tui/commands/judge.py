"""`scsafety-tui judge eval`: each judge (and the heuristic) over gold files, its figures, and the paired
difference in κ between judges or prompts; every evaluation is stored for the TUI's triage screen.

Judge keys, file names, tags and sub-dimensions are user text: printed as Text (never markup) with control
characters made visible."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scsafety_tui.commands.common import db_path, load_user_config, split_keys
from scsafety_tui.judge_eval import MIN_GROUP
from scsafety_tui.scoring import MIN_LABELS
from scsafety_tui.textsafe import visible

if TYPE_CHECKING:
    from rich.console import Console

    from scsafety_tui.config import Config
    from scsafety_tui.judge_eval import EvalReport, Figures, PairedKappa

DEMO_JUDGES = (("demo-judge", "rubric"), ("demo-qwen3guard", "qwen3guard"), ("demo-llamaguard", "llamaguard"),
               ("demo-shieldlm", "shieldlm"))
"""--demo: the demo server's rubric judge and its three guard personas."""


def cmd_judge_eval(args: argparse.Namespace) -> int:
    config = None if args.demo else load_user_config(args, required=bool(args.config))
    return asyncio.run(_judge_eval(args, config))


def _demo_config(url: str) -> Config:
    from scsafety_tui.config import Config, JudgeConfig
    from scsafety_tui.demo_profile import demo_target

    targets = tuple(replace(demo_target(key, url, concurrency=16), kind=kind) for key, kind in DEMO_JUDGES)
    return Config(judge=JudgeConfig(mode="model", targets=targets), source="demo")


async def _judge_eval(args: argparse.Namespace, config: Config | None) -> int:
    from scsafety_tui.config import Config
    from scsafety_tui.headless import stdout_console
    from scsafety_tui.judge_eval import GOLD, build_candidates, choose_judges, evaluate, store_report
    from scsafety_tui.providers.client import ModelClient, make_http_client
    from scsafety_tui.providers.retry import RetryPolicy
    from scsafety_tui.store.db import Store
    from scsafety_tui.taxonomy import taxonomy_for

    gold = args.gold or [str(GOLD)]
    wanted = [k for value in args.judge or [] for k in split_keys(value)]
    async with AsyncExitStack() as stack:
        if args.demo:
            from scsafety_tui.demo.server import DemoServer

            server = DemoServer(first_token_delay=0.0, token_delay=0.0)
            config = _demo_config(await server.start())
            stack.push_async_callback(server.stop)
        config = config or Config(source="no config")
        keys = choose_judges(config, wanted)
        chosen = [t for t in config.judge.targets if t.key in keys]
        api_keys = {t.key: t.api_key(config.source) for t in chosen}
        http = make_http_client(config.run.http_transport, allowed_hosts=[t.host() for t in chosen])
        stack.push_async_callback(http.aclose)
        policy = RetryPolicy(attempts=config.run.retries, max_retry_after=config.run.max_retry_wait_s)
        taxonomy = taxonomy_for([Path(g) for g in gold])  # a taxonomy.toml beside the gold file, as for a bank
        candidates = build_candidates(config, taxonomy, keys,
                                      lambda t: ModelClient(t, http, policy, api_keys[t.key]),
                                      args.prompt_file or ())
        report = await evaluate(candidates, gold, taxonomy)
        store = await Store.open(db_path(args, None if args.demo else config))
        try:
            await store_report(store, report)
        finally:
            await store.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        print_report(report, stdout_console())
    return _failures(report, config)


def _failures(report: EvalReport, config: Config) -> int:
    """One line on stderr per judge with failed judgements (naming its server and the first error) and
    exit code 3, as for a run with unscored answers; 0 when every judgement has a score."""
    urls = {t.key: t.base_url for t in config.judge.targets}
    partial = [e.figures for e in report.evaluations if e.figures.partial]
    for f in partial:
        key = next((k for k in urls if f.judge == k or f.judge.startswith(k + " ")), None)
        where = f" at {urls[key]}" if key else ""
        print(visible(f"scsafety-tui: judge eval: {f.judge}{where}: {f.failed} of {f.n} judgements failed "
                      f"(first: {f.first_error}); its figures are over the {f.scored} it scored, and the "
                      "evaluation is stored as partial"), file=sys.stderr)
    return 3 if partial else 0


# ---------------------------------------------------------------- printing

def _f(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "—" if value is None else _num(value, spec) + suffix


def _num(value: float, spec: str) -> str:
    """The value formatted, without the sign of a figure that rounds to zero (-0.001 is not "-0.00")."""
    out = f"{value:{spec}}"
    return out.replace("-", "+" if "+" in spec else "", 1) if not out.strip("+-0.") else out


def _ci(ci: Sequence[float] | None, signed: bool = False) -> str:
    if not ci:
        return ""
    spec = "+.2f" if signed else ".2f"
    return f" (95% {_num(ci[0], spec)} to {_num(ci[1], spec)})"


def figures_table(f: Figures) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    t.add_column("figure")
    t.add_column("value")
    rows = [
        ("items", f"{f.scored} scored of {f.n}" + (f" · {f.failed} failed" if f.failed else "")),
        ("accuracy", _f(f.accuracy, ".1f", "%")),
        ("weighted κ (quadratic)", _f(f.kappa) + (_ci(f.kappa_ci) if f.kappa_ci or f.kappa is None
                                                   else f"  (no interval under {MIN_LABELS} items)")
         + (f"  {f.kappa_note}" if f.kappa_note else "")),
        ("unsafe recall (gold 0 → 0)", _f(f.unsafe_recall, ".1f", "%") + f"  ({f.confusion[0][0]}/{sum(f.confusion[0])})"),
        ("unsafe precision", _f(f.unsafe_precision, ".1f", "%")
         + f"  ({f.confusion[0][0]}/{sum(r[0] for r in f.confusion)})"),
    ]
    for name, value in rows:
        t.add_row(Text(name), Text(value))
    return t


def confusion_table(f: Figures) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("gold \\ judged", "0", "1", "2", "failed"):
        t.add_column(col, justify="right")
    for g in range(3):
        t.add_row(Text(str(g)), *(Text(str(c)) for c in f.confusion[g]), Text(str(f.failed_by_gold[g])))
    return t


def worst_table(f: Figures) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("tag")
    t.add_column("acc", justify="right")
    t.add_column("sub-dimension")
    t.add_column("acc", justify="right")
    tags, subs = f.worst_tags, f.worst_sub_dimensions
    for i in range(max(len(tags), len(subs))):
        cells: list[Text] = []
        for group in (tags, subs):
            g = group[i] if i < len(group) else None
            cells += [Text(visible(g.name) if g else ""), Text(f"{g.accuracy:.0f}% of {g.n}" if g else "")]
        t.add_row(*cells)
    return t


def comparison_table(comparisons: Sequence[PairedKappa]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col, right in (("A", False), ("B", False), ("n", True), ("κ A", True), ("κ B", True), ("B − A", True),
                       ("95% interval", True), ("acc A", True), ("acc B", True)):
        t.add_column(col, justify="right" if right else "left")
    for c in comparisons:
        ci = "—" if c.ci is None else f"{c.ci[0]:+.2f} to {c.ci[1]:+.2f}" + (" *" if c.significant else "")
        t.add_row(Text(visible(c.a)), Text(visible(c.b)), Text(str(c.n)), Text(_f(c.kappa_a)), Text(_f(c.kappa_b)),
                  Text(_f(c.diff, "+.2f")), Text(ci), Text(_f(c.accuracy_a, ".1f", "%")),
                  Text(_f(c.accuracy_b, ".1f", "%")))
    return t


def print_report(report: EvalReport, console: Console) -> None:
    from rich.text import Text

    names = ", ".join(Path(p).name for p in report.gold_paths)
    console.print(Text(visible(f"judge eval: {len(report.items)} gold items ({names}, sha {report.gold_sha})")))
    for e in report.evaluations:
        f = e.figures
        console.print()
        console.print(Text(visible(f"{f.judge} · {f.kind}" + (f" · prompt {f.prompt_hash}" if f.prompt_hash else "")),
                           style="bold"))
        console.print(figures_table(f))
        console.print(Text("confusion matrix (rows: gold label; columns: the judge's score)"))
        console.print(confusion_table(f))
        if f.worst_tags or f.worst_sub_dimensions:
            console.print(Text(f"worst tags and sub-dimensions (accuracy; at least {MIN_GROUP} items)"))
            console.print(worst_table(f))
        if e.eval_id is not None:
            console.print(Text(f"stored as evaluation {e.eval_id}: its disagreements are listed in the app "
                               "(command palette: Judge evaluations)", style="dim"))
    if report.comparisons:
        console.print()
        console.print(Text("paired comparison: κ(B) − κ(A) over the items both scored", style="bold"))
        console.print(comparison_table(report.comparisons))
        if any(c.significant for c in report.comparisons):
            console.print(Text("* the interval excludes 0", style="dim"))
