"""JADE-DB (Fudan Whitzard) CSV files, told apart by their Chinese header row.

- benchmark releases: `ID,问题,违规类型,违规子类`; a sub-class cell may hold several, joined by `|`;
- alignment release: `ID,问题,违规回答,安全有用回答`; the safe, helpful answer becomes `reference`. The
  violating answer is kept only in `source.violating_answer`, so nothing ever presents it as a good answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from scsafety_tui.errors import InputError
from scsafety_tui.importers.base import FieldMap, RawItem, Skip, SourceFile, compact, csv_rows

BENCHMARK = ["ID", "问题", "违规类型", "违规子类"]
ALIGNMENT = ["ID", "问题", "违规回答", "安全有用回答"]


def read(src: SourceFile, fields: FieldMap) -> Iterator[RawItem | Skip]:
    rows = csv_rows(src)
    first = next(rows, None)
    header = [cell.strip() for cell in first[1]] if first else []
    if header[:4] not in (BENCHMARK, ALIGNMENT):
        raise InputError(f"{src.path}: not a JADE file: header {','.join(header) or '(empty)'} "
                         f"(expected {','.join(BENCHMARK)} or {','.join(ALIGNMENT)})")
    aligned = header[:4] == ALIGNMENT
    for line, cells in rows:
        where = f"{src.path}:{line}"
        if len(cells) != len(header):
            yield Skip(where, f"expected {len(header)} fields, got {len(cells)}")
            continue
        original, question = cells[0].strip(), cells[1].strip()
        if not question:
            yield Skip(where, "问题: empty")
            continue
        ref = original or str(line)
        if aligned:
            yield RawItem(ref, [question], [], compact(line=line, id=original, violating_answer=cells[2].strip()),
                          reference=cells[3].strip() or None)
            continue
        kind, subs = cells[2].strip(), cells[3].strip()
        labels = [s.strip() for s in subs.split("|") if s.strip()] + ([kind] if kind else [])
        yield RawItem(ref, [question], labels,
                      compact(line=line, id=original, violation_type=kind, violation_subtype=subs))
