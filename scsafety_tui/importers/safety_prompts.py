"""thu-coai Safety-Prompts: `{"Insult": [{"prompt", "response", "type"}, ...], ...}`.

The dataset's response was written to be safe, so it becomes the item's `reference`.
"""

from __future__ import annotations

from collections.abc import Iterator

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
    opt_text,
)


def read(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    data = json_document(src)
    if not isinstance(data, dict):
        raise InputError(f"{src.path}: expected a JSON object whose keys are categories "
                         f"(the Safety-Prompts layout), got {type(data).__name__}")
    for key, rows in data.items():
        if not isinstance(rows, list):
            yield Skip(f"{src.path}: {key}", f"expected a list of prompts, got {type(rows).__name__}")
            continue
        for i, obj in enumerate(rows):
            where = f"{src.path}: {key}[{i}]"
            try:
                if not isinstance(obj, dict):
                    raise RowError(f"expected an object, got {type(obj).__name__}")
                kind = label_of(obj.get("type"))
                yield RawItem(ref=f"{key}-{i}", turns=[need_text(obj, "prompt")],
                              labels=[lab for lab in dict.fromkeys((key, kind)) if lab],
                              source=compact(key=key, index=i, type=kind if kind != key else None),
                              reference=opt_text(obj, "response"))
            except RowError as e:
                yield Skip(where, str(e))
