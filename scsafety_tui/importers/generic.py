"""Generic `jsonl`, `csv` and `json` files: `--field NAME=COL` says which column or key holds what.

Every field defaults to a column of the same name, so a file already shaped like a bank needs no `--field`.
JSON keys may be dotted paths (`meta.category`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from scsafety_tui.errors import InputError
from scsafety_tui.importers.base import (
    FieldMap,
    RawItem,
    RowError,
    Skip,
    SourceFile,
    compact,
    csv_rows,
    json_document,
    jsonl_rows,
    label_of,
)

FIELDS = ("prompt", "follow_up", "turns", "category", "sub_dimension", "id", "reference")

Getter = Callable[[str], Any]
Row = tuple[str, dict[str, int], Any]
"""(where, line-or-index, decoded object)."""


def parse_fields(specs: list[str] | None) -> FieldMap:
    """Columns for every field from `--field NAME=COL` options; unnamed fields use their own name."""
    columns = {name: name for name in FIELDS}
    explicit: set[str] = set()
    for spec in specs or []:
        name, sep, col = spec.partition("=")
        name, col = name.strip(), col.strip()
        if not sep or not col:
            raise InputError(f"--field {spec!r}: expected NAME=COLUMN, e.g. --field prompt=question")
        if name not in FIELDS:
            raise InputError(f"--field {spec!r}: unknown field {name!r} (use {', '.join(FIELDS)})")
        columns[name] = col
        explicit.add(name)
    return FieldMap(columns, frozenset(explicit))


def _dig(obj: dict[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    value: Any = obj
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _from_object(obj: dict[str, Any], cols: Mapping[str, str]) -> Getter:
    return lambda name: _dig(obj, cols[name])


def _from_record(record: dict[str, str], cols: Mapping[str, str]) -> Getter:
    return lambda name: record.get(cols[name]) or None  # an empty CSV cell means "not given"


def _turns(value: Any, col: str) -> list[str]:
    """A list of strings, a JSON array in a CSV cell, or one string."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RowError(f"{col}: not a JSON array of strings") from None
    items = value if isinstance(value, list) else [value]
    turns = []
    for i, turn in enumerate(items):
        if not isinstance(turn, str):
            raise RowError(f"{col}[{i}]: expected a string, got {type(turn).__name__}")
        if not turn.strip():
            raise RowError(f"{col}[{i}]: empty turn")
        turns.append(turn.strip())
    if not turns:
        raise RowError(f"{col}: no turns")
    return turns


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _item(get: Getter, fields: FieldMap, place: dict[str, int]) -> RawItem:
    cols = fields.columns
    if not _blank(turns_value := get("turns")):
        turns = _turns(turns_value, cols["turns"])
    else:
        if _blank(prompt := get("prompt")):
            raise RowError(f"{cols['prompt']}: missing (name the prompt column with --field prompt=COL)")
        turns = _turns(prompt, cols["prompt"])
        if not _blank(follow_up := get("follow_up")):
            turns += _turns(follow_up, cols["follow_up"])
    original_id = get("id")
    if isinstance(original_id, str):
        original_id = original_id.strip() or None
    ref = str(original_id) if original_id is not None else str(place.get("line", place.get("index")))
    reference = get("reference")
    if reference is not None and not isinstance(reference, str):
        raise RowError(f"{cols['reference']}: expected a string, got {type(reference).__name__}")
    sub, cat = label_of(get("sub_dimension")), label_of(get("category"))
    source = compact(**place, id=original_id, sub_dimension=sub, category=cat)
    return RawItem(ref, turns, [lab for lab in (sub, cat) if lab], source,
                   reference=(reference or "").strip() or None)


def _objects(src: SourceFile, rows: Iterator[Row | Skip], fields: FieldMap) -> Iterator[RawItem | Skip]:
    """Shared by JSONL and JSON: objects in, items out; a named key that no object has is an input error."""
    seen: set[str] = set()
    cols = fields.columns
    for row in rows:
        if isinstance(row, Skip):
            yield row
            continue
        where, place, obj = row
        if not isinstance(obj, dict):
            yield Skip(where, f"expected an object, got {type(obj).__name__}")
            continue
        seen.update(name for name in fields.explicit if _dig(obj, cols[name]) is not None)
        try:
            yield _item(_from_object(obj, cols), fields, place)
        except RowError as e:
            yield Skip(where, str(e))
    for name in sorted(fields.explicit - seen):
        raise InputError(f"{src.path}: --field {name}={cols[name]}: no row has a key {cols[name]!r}")


def read_jsonl(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    def rows() -> Iterator[Row | Skip]:
        for row in jsonl_rows(src):
            yield row if isinstance(row, Skip) else (f"{src.path}:{row[0]}", {"line": row[0]}, row[1])

    yield from _objects(src, rows(), fields)


def read_json(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    data = json_document(src)
    if not isinstance(data, list):
        raise InputError(f"{src.path}: expected a JSON array of objects, got {type(data).__name__}")
    rows = ((f"{src.path}: [{i}]", {"index": i}, obj) for i, obj in enumerate(data))
    yield from _objects(src, rows, fields)


def read_csv(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    """A header row names the columns; `.tsv` files are tab-separated."""
    rows = csv_rows(src, "\t" if src.path.suffix.lower() == ".tsv" else ",")
    first = next(rows, None)
    if first is None:
        return
    header = [cell.strip() for cell in first[1]]
    cols = fields.columns
    for name in sorted(fields.explicit):
        if cols[name] not in header:
            raise InputError(f"{src.path}: --field {name}={cols[name]}: no such column "
                             f"(columns: {', '.join(header)})")
    for line, cells in rows:
        where = f"{src.path}:{line}"
        if len(cells) != len(header):
            yield Skip(where, f"expected {len(header)} fields, got {len(cells)}")
            continue
        record = dict(zip(header, cells, strict=True))
        try:
            yield _item(_from_record(record, cols), fields, {"line": line})
        except RowError as e:
            yield Skip(where, str(e))
