"""What every reader shares: the decoded source, the row it yields, and small parsing helpers."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scsafety_tui.errors import InputError


@dataclass(frozen=True)
class SourceFile:
    """One input file, already decoded (CRLF turned into LF)."""

    path: Path
    text: str
    encoding: str


@dataclass
class RawItem:
    """One row of a dataset, before its labels are mapped onto the taxonomy."""

    ref: str
    """The original id, or the line / index when the row has none: the item id is `{format}-{ref}`."""
    turns: list[str]
    labels: list[str]
    """The row's category labels, most specific first (e.g. subcomponent, then dimension)."""
    source: dict[str, Any]
    """Where the row comes from (line or index, original id, original labels); dataset and file are added."""
    context: list[dict[str, str]] = field(default_factory=list)
    reference: str | None = None


@dataclass(frozen=True)
class Skip:
    """A malformed row: reported with its place and left out."""

    where: str
    why: str


class RowError(Exception):
    """Raised while reading one row; the reader turns it into a `Skip`."""


@dataclass(frozen=True)
class FieldMap:
    """Generic formats: bank field name → source column or key (`--field NAME=COL`)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()
    """The fields the user named: a column missing for one of those is an input error, not a default."""


Reader = Callable[[SourceFile, FieldMap], Iterable[RawItem | Skip]]


def norm(label: str) -> str:
    """Compare labels loosely: case, width, and space / hyphen / underscore differences do not matter."""
    text = unicodedata.normalize("NFKC", label).strip().casefold()
    return re.sub(r"[\s_\-]+", "_", text).strip("_")


def slug(label: str, limit: int = 40) -> str:
    """An id-safe form of a label; CJK characters are kept, since they are the label."""
    text = re.sub(r"\W+", "_", unicodedata.normalize("NFKC", label).casefold()).strip("_")
    return text[:limit].rstrip("_")


def label_of(value: Any) -> str:
    """A category label as text ('' when absent); numbers are accepted, containers are not."""
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    raise RowError(f"expected a label, got {type(value).__name__}")


def need_text(obj: Mapping[str, Any], key: str, name: str | None = None) -> str:
    """A required non-empty string field, stripped."""
    value = obj.get(key)
    name = name or key
    if value is None:
        raise RowError(f"{name}: missing")
    if not isinstance(value, str):
        raise RowError(f"{name}: expected a string, got {type(value).__name__}")
    if not value.strip():
        raise RowError(f"{name}: empty")
    return value.strip()


def opt_text(obj: Mapping[str, Any], key: str) -> str | None:
    """An optional string field: None when absent or blank."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"{key}: expected a string, got {type(value).__name__}")
    return value.strip() or None


def compact(**values: Any) -> dict[str, Any]:
    """Source metadata without the empty entries."""
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def jsonl_rows(src: SourceFile) -> Iterator[tuple[int, dict[str, Any]] | Skip]:
    """(line, object) for each non-blank line; bad JSON and non-objects come back as `Skip`s."""
    for n, line in enumerate(src.text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{src.path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Skip(where, f"bad JSON: {e.msg} (column {e.colno})")
            continue
        if not isinstance(obj, dict):
            yield Skip(where, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield n, obj


def json_document(src: SourceFile) -> Any:
    """The whole file as JSON; a file that does not parse cannot be imported row by row."""
    try:
        return json.loads(src.text)
    except json.JSONDecodeError as e:
        raise InputError(f"{src.path}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None


def csv_rows(src: SourceFile, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) for each non-blank record; quoted cells may span lines."""
    reader = csv.reader(io.StringIO(src.text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield start, row
            start = reader.line_num + 1
    except csv.Error as e:
        raise InputError(f"{src.path}:{reader.line_num}: CSV error: {e}") from None
