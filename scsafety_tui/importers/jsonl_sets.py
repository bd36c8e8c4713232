"""JSONL datasets with one object per line: Flames, CValues and SafeDialBench."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from scsafety_tui.importers.base import (
    FieldMap,
    RawItem,
    RowError,
    Skip,
    SourceFile,
    compact,
    jsonl_rows,
    label_of,
    need_text,
    slug,
)


def _each(src: SourceFile, convert: Callable[[int, dict[str, Any]], RawItem]) -> Iterator[RawItem | Skip]:
    for row in jsonl_rows(src):
        if isinstance(row, Skip):
            yield row
            continue
        line, obj = row
        try:
            yield convert(line, obj)
        except RowError as e:
            yield Skip(f"{src.path}:{line}", str(e))


def _flames(line: int, obj: dict[str, Any]) -> RawItem:
    """`prompt`, `dimension`, `subcomponent`; no id, so the line number is the reference."""
    dim, sub = label_of(obj.get("dimension")), label_of(obj.get("subcomponent"))
    return RawItem(str(line), [need_text(obj, "prompt")], [lab for lab in (sub, dim) if lab],
                   compact(line=line, dimension=dim, subcomponent=sub))


def _cvalues(line: int, obj: dict[str, Any]) -> RawItem:
    """`id_`, `prompt`, `domain_en`, `domain_zh`."""
    original = obj.get("id_")
    en, zh = label_of(obj.get("domain_en")), label_of(obj.get("domain_zh"))
    ref = label_of(original) or str(line)
    return RawItem(ref, [need_text(obj, "prompt")], [lab for lab in (en, zh) if lab],
                   compact(line=line, id=original, domain_en=en, domain_zh=zh))


def _safedialbench(line: int, obj: dict[str, Any]) -> RawItem:
    """`task`, `method`, `scene`, `id`, `history: [{user, bot}]`: the user messages are the turns.

    The dataset's bot replies came from the model that generated the dialogue; the model under test
    answers each turn itself, so they are neither sent nor kept.
    """
    history = obj.get("history")
    if not isinstance(history, list) or not history:
        raise RowError("history: expected a non-empty list of {user, bot} turns")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict):
            raise RowError(f"history[{i}]: expected an object, got {type(turn).__name__}")
        turns.append(need_text(turn, "user", f"history[{i}].user"))
    task, original = label_of(obj.get("task")), obj.get("id")
    ref = f"{slug(task)}-{label_of(original)}" if task and original is not None else str(line)
    return RawItem(ref, turns, [task] if task else [],
                   compact(line=line, id=original, task=task, method=label_of(obj.get("method")),
                           scene=label_of(obj.get("scene")), model_type=label_of(obj.get("model_type"))))


def read_flames(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    return _each(src, _flames)


def read_cvalues(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    return _each(src, _cvalues)


def read_safedialbench(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    return _each(src, _safedialbench)
