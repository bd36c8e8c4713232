"""Write the bank, and the taxonomy.toml it needs, without ever leaving a partial file behind.

Both files are written to temporary files in the target folder first and only then moved into place
with `os.replace`, which is atomic on one filesystem: a failure leaves the old files (or none) as they were.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import tomli_w

from scsafety_tui.atomic import stage
from scsafety_tui.errors import InputError
from scsafety_tui.questions import Item
from scsafety_tui.taxonomy import Category, SubDimension, Taxonomy

MARK = "# Written by `scsafety-tui questions import`"
HEADER = (f"{MARK}: the taxonomy this folder's banks were validated against, plus one\n"
          "# sub-dimension per source label that no mapping covered. Importing into this folder again\n"
          "# keeps these and adds new ones; edit freely, but keep the first line to let it do so.\n")


def _ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8-sig") as f:
            return f.readline().startswith(MARK)
    except (OSError, UnicodeDecodeError):
        return False


def _entry(obj: Category | SubDimension) -> dict[str, str]:
    return {k: v for k, v in asdict(obj).items() if v != ""}  # an empty definition_en is left out


def render_taxonomy(base: Taxonomy, extras: list[SubDimension]) -> str:
    """A complete taxonomy (the loader replaces the default with it, so it must carry everything)."""

    doc = {"version": 1, "categories": [_entry(c) for c in base.categories],
           "sub_dimensions": [_entry(s) for s in (*base.sub_dimensions, *extras)]}
    return HEADER + "\n" + tomli_w.dumps(doc)


def taxonomy_update(out: Path, base: Taxonomy, extras: list[SubDimension]) -> tuple[Path, str] | None:
    """The taxonomy.toml to write beside the bank, or None when the taxonomy in force already fits.

    A taxonomy.toml that import did not write is the user's (or the shipped default): it is never
    rewritten, so unmapped labels that it lacks are an input error instead.
    """
    if not extras:
        return None
    path = out.parent / "taxonomy.toml"
    if path.exists() and not _ours(path):
        ids = ", ".join(s.id for s in extras)
        raise InputError(f"{path}: exists and was not written by import, so it cannot take sub-dimensions for "
                         f"the unmapped labels ({ids}); map them with --map, add them to it, or write the "
                         f"bank to another folder")
    return path, render_taxonomy(base, extras)


def render_bank(items: list[Item]) -> str:
    return "".join(json.dumps(it.to_dict(), ensure_ascii=False) + "\n" for it in items)


def write_all(files: list[tuple[Path, str]]) -> None:
    """Stage every file, then move them into place; on any failure remove what was staged."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            staged.append((stage(path, text), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"{e.filename or files[0][0]}: cannot write: {e.strerror or e}") from None
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
