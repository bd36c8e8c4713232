"""CHiSafetyBench (China Unicom) risky-question files; both shapes may appear in one JSON list.

- without dialogue history: `{"category", "infos": [{"id", "question", "category"}]}` (outer category,
  inner sub-category);
- with history: `{"category", "sub_category", "input", "history": [{"role", "content"}]}`; the history
  (system, user and assistant messages) becomes the item's `context`, sent before `input`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scsafety_tui.errors import InputError
from scsafety_tui.importers.base import (
    FieldMap,
    RawItem,
    RowError,
    Skip,
    SourceFile,
    compact,
    json_document,
    label_of,
    need_text,
)

ROLES = ("system", "user", "assistant")


def _context(history: Any) -> list[dict[str, str]]:
    if history is None:
        return []
    if not isinstance(history, list):
        raise RowError("history: expected a list of {role, content} messages")
    out = []
    for i, msg in enumerate(history):
        if not (isinstance(msg, dict) and msg.get("role") in ROLES and isinstance(msg.get("content"), str)):
            raise RowError(f"history[{i}]: expected {{\"role\": system|user|assistant, \"content\": string}}")
        out.append({"role": msg["role"], "content": msg["content"]})
    return out


def _plain(src: SourceFile, i: int, group: dict[str, Any]) -> Iterator[RawItem | Skip]:
    infos = group.get("infos")
    try:
        outer = label_of(group.get("category"))
        if not isinstance(infos, list):
            raise RowError("infos: expected a list")
    except RowError as e:
        yield Skip(f"{src.path}: [{i}]", str(e))
        return
    for j, info in enumerate(infos):
        try:
            if not isinstance(info, dict):
                raise RowError(f"expected an object, got {type(info).__name__}")
            inner, original = label_of(info.get("category")), info.get("id")
            yield RawItem(label_of(original) or f"{i}-{j}", [need_text(info, "question")],
                          [lab for lab in (inner, outer) if lab],
                          compact(index=i, infos_index=j, id=original, category=outer, sub_category=inner))
        except RowError as e:
            yield Skip(f"{src.path}: [{i}].infos[{j}]", str(e))


def _dialogue(i: int, obj: dict[str, Any]) -> RawItem:
    outer, inner = label_of(obj.get("category")), label_of(obj.get("sub_category"))
    return RawItem(f"history-{i}", [need_text(obj, "input")], [lab for lab in (inner, outer) if lab],
                   compact(index=i, category=outer, sub_category=inner), context=_context(obj.get("history")))


def read(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    data = json_document(src)
    if not isinstance(data, list):
        raise InputError(f"{src.path}: expected a JSON array (a CHiSafetyBench risky-questions file), "
                         f"got {type(data).__name__}")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            yield Skip(f"{src.path}: [{i}]", f"expected an object, got {type(obj).__name__}")
        elif "infos" in obj:
            yield from _plain(src, i, obj)
        else:
            try:
                yield _dialogue(i, obj)
            except RowError as e:
                yield Skip(f"{src.path}: [{i}]", str(e))
