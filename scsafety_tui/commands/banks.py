"""questions validate | stats | import."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from scsafety_tui.paths import QUESTIONS_DIR
from scsafety_tui.questions import BankError, bank_files, load_banks
from scsafety_tui.taxonomy import taxonomy_for
from scsafety_tui.textsafe import visible


def _paths(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.paths] or [QUESTIONS_DIR]


def cmd_questions_validate(args: argparse.Namespace) -> int:
    paths = _paths(args)
    taxonomy = taxonomy_for(paths)
    try:
        items = load_banks(paths, taxonomy)
    except BankError as e:
        for problem in e.problems:
            print(visible(problem))  # problems quote the bank's text
        print(f"{len(e.problems)} problem(s) found")
        return 2
    files = bank_files(paths)
    print(visible(f"OK: {len(items)} items in {len(files)} file(s), taxonomy {taxonomy.source}"))
    return 0


def cmd_questions_stats(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from scsafety_tui.headless import stdout_console

    paths = _paths(args)
    taxonomy = taxonomy_for(paths)
    items = load_banks(paths, taxonomy)
    files = sorted({it.origin.rsplit(":", 1)[0] for it in items})
    count: Counter[tuple[str, str]] = Counter()
    multi: Counter[tuple[str, str]] = Counter()
    for it in items:
        f = it.origin.rsplit(":", 1)[0]
        count[f, it.sub_dimension] += 1
        multi[f, it.sub_dimension] += len(it.turns) > 1
    table = Table(title=f"{len(items)} items; cells: items (multi-turn)", title_justify="left")
    table.add_column("Sub-dimension")
    table.add_column("id")
    # file and taxonomy names come from the user's files: Text, never markup, controls visible
    for f in files:
        table.add_column(Text(visible(Path(f).stem)), justify="right", min_width=len(Path(f).stem))
    for cat in taxonomy.categories:
        subs = taxonomy.subs_of(cat.id)
        for sub in subs:
            cells = [f"{count[f, sub.id]} ({multi[f, sub.id]})" for f in files]
            table.add_row(Text(visible(sub.name_zh)), Text(visible(sub.id)), *cells, style="red" if not any(count[f, sub.id] for f in files)
                          else None)
        totals = [str(sum(count[f, s.id] for s in subs)) for f in files]
        table.add_row(Text(visible(cat.name_zh), style="bold"), Text(visible(cat.id)), *totals, end_section=True)
    stdout_console().print(table)
    return 0


def cmd_questions_import(args: argparse.Namespace) -> int:
    from scsafety_tui.importers.cli import run_import

    return run_import(args)
