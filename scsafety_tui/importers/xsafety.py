"""XSafety (multilingual safety benchmark): one CSV per category, one prompt per row, no header.

The category is the file name without its language suffix (`Insult.csv`, `Insult_n.csv`,
`Crimes_And_Illegal_Activities_en.csv`). Rows are read as CSV so quoted prompts may hold newlines; an
unquoted prompt with commas in it is split by the CSV reader, so its cells are joined back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from scsafety_tui.importers.base import FieldMap, RawItem, Skip, SourceFile, csv_rows

_SUFFIX = re.compile(r"_(?:n|zh|en|ar|bn|de|es|fr|hi|ja|ru)$")


def category_of(path: Path) -> str:
    return _SUFFIX.sub("", path.stem)


def read(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    label = category_of(src.path)
    for line, cells in csv_rows(src):
        prompt = ",".join(cells).strip()
        yield RawItem(ref=f"{label}-{line}", turns=[prompt], labels=[label], source={"line": line})
