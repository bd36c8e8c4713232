"""`scsafety-tui questions import FORMAT SRC... -o BANK.jsonl`: check the arguments, convert, write, report.

Everything the user can get wrong is checked before anything is written; the report goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from scsafety_tui.errors import InputError
from scsafety_tui.follow_ups import with_template_follow_up
from scsafety_tui.importers import GENERIC_FORMATS, READERS, SUFFIXES
from scsafety_tui.importers.base import FieldMap, RawItem, Skip, SourceFile
from scsafety_tui.importers.convert import Conversion, convert
from scsafety_tui.importers.encoding import read_source
from scsafety_tui.importers.generic import parse_fields
from scsafety_tui.importers.mapping import load_mapping
from scsafety_tui.importers.output import render_bank, taxonomy_update, write_all
from scsafety_tui.taxonomy import taxonomy_for
from scsafety_tui.textsafe import visible

SHOW_SKIPPED = 10


def source_paths(specs: list[str], fmt: str) -> list[Path]:
    """Files as given; a folder stands for its files with the format's suffix, sorted."""
    out: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES[fmt])
            if not found:
                raise InputError(f"{path}: no {'/'.join(SUFFIXES[fmt])} files in this folder")
            out.extend(found)
        elif not path.exists():
            raise InputError(f"{path}: no such file")
        else:
            out.append(path)
    return out


def _format(name: str) -> str:
    fmt = name.strip().lower().replace("_", "-")
    if fmt not in READERS:
        raise InputError(f"unknown format {name!r} (use one of: {', '.join(READERS)})")
    return fmt


def _fields(fmt: str, specs: list[str] | None) -> FieldMap:
    if fmt in GENERIC_FORMATS:
        return parse_fields(specs)
    if specs:
        raise InputError(f"--field applies to the generic formats ({', '.join(GENERIC_FORMATS)}), "
                         f"not to {fmt}, whose fields are fixed")
    return FieldMap()


def _encodings(files: list[SourceFile]) -> str:
    names = {f.encoding for f in files}
    if len(names) == 1:
        return names.pop()
    return "; ".join(f"{f.encoding} for {f.path.name}" for f in files)


def _rows(n: int, word: str = "row") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def report(fmt: str, result: Conversion, files: list[SourceFile], out: Path, taxonomy_path: Path | None,
           limit: int | None, seed: int, stream: TextIO, follow_ups: bool = False) -> None:
    """A few lines on stderr: the encoding, what was skipped and why, what was kept unmapped, the counts."""
    def say(line: str) -> None:
        print(visible(line), file=stream)  # lines quote dataset rows and file names

    say(f"import {fmt}: {_rows(len(files), 'file')} (encoding: {_encodings(files)})")
    if result.skipped:
        say(f"skipped {_rows(len(result.skipped), 'malformed row')}:")
        for skip in result.skipped[:SHOW_SKIPPED]:
            say(f"  {skip.where}: {skip.why}")
        if len(result.skipped) > SHOW_SKIPPED:
            say(f"  … and {len(result.skipped) - SHOW_SKIPPED} more")
    unmapped = sum(result.unmapped.values())
    if unmapped:
        say(f"unmapped {_rows(unmapped, 'item')}, kept under their own label "
            f"(map them with --map FILE, or refuse them with --strict):")
        for label, n in result.unmapped.most_common():
            sub = result.kept_as[label]
            say(f"  {label!r} → {sub.id} ({sub.category}): {n}")
        if taxonomy_path:
            say(f"  their sub-dimensions were added to {taxonomy_path}")
    sample = (f" (sampled from {result.parsed} with --limit {limit} --seed {seed})"
              if limit and limit < result.parsed else "")
    templated = sum(isinstance(it.source, dict) and "follow_up" in it.source for it in result.items)
    own = sum(len(it.turns) > 1 for it in result.items) - templated
    if templated or follow_ups:  # asked for templates and got none: say why rather than nothing
        say(f"template follow-ups (seed {seed}): {templated} single-turn item(s) got a round 2"
            + ("; each item's source.follow_up names its template" if templated else "")
            + (f"; {own} item(s) already had their own follow-up, left as they were" if own else ""))
    say(f"read {result.read}, imported {len(result.items)}, skipped {len(result.skipped)}, "
        f"unmapped {unmapped} → {out}{sample}")


def run_import(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    fmt = _format(args.format)
    fields = _fields(fmt, args.field)
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit {args.limit}: expected a positive number of items")
    out = Path(args.output)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give the bank file to write, e.g. {out / (fmt + '.jsonl')}")
    paths = source_paths(args.src, fmt)
    if out.resolve() in {p.resolve() for p in paths}:
        raise InputError(f"{out}: is also a source file; write the bank somewhere else")
    taxonomy = taxonomy_for([out])
    mapping = load_mapping(fmt, args.map, taxonomy)
    files = [read_source(p) for p in paths]
    reader = READERS[fmt]

    def sources() -> Iterator[tuple[SourceFile, Iterator[RawItem | Skip]]]:
        for src in files:
            yield src, iter(reader(src, fields))

    result = convert(fmt, sources(), mapping, taxonomy, limit=args.limit, seed=args.seed, strict=args.strict)
    if not result.items:
        raise InputError(f"{', '.join(map(str, paths))}: no items to import "
                         f"({len(result.skipped)} malformed row(s) skipped)")
    if getattr(args, "follow_ups", "none") == "templates":
        result.items = [with_template_follow_up(it, args.seed) for it in result.items]
    update = taxonomy_update(out, taxonomy, result.extras)
    write_all([*([update] if update else []), (out, render_bank(result.items))])
    report(fmt, result, files, out, update[0] if update else None, args.limit, args.seed, stream or sys.stderr,
           follow_ups=getattr(args, "follow_ups", "none") == "templates")
    return 0
