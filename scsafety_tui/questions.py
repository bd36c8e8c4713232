"""Question bank items: loading JSONL banks and validating them against the taxonomy.

Every problem in every file is collected and reported together as ``file:line: field: what``, so a user
fixes a bank in one pass instead of one error per run.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scsafety_tui.errors import InputError
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.taxonomy import Taxonomy

ROLES = ("system", "user", "assistant")
KNOWN_FIELDS = {"id", "category", "sub_dimension", "turns", "system", "context", "notes", "reference",
                "source"}


class BankError(InputError):
    """One or more problems in question banks; ``problems`` holds every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


@dataclass(frozen=True)
class Item:
    """One bank item: a question and its follow-ups, asked in one conversation."""

    id: str
    category: str
    sub_dimension: str
    turns: tuple[str, ...]
    system: str | None = None
    context: tuple[dict[str, str], ...] = ()
    notes: str | None = None
    reference: str | None = None
    source: Any = None
    origin: str = field(default="", compare=False)
    """file:line it was loaded from, for messages."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "category": self.category,
                               "sub_dimension": self.sub_dimension, "turns": list(self.turns)}
        if self.system is not None:
            out["system"] = self.system
        if self.context:
            out["context"] = [dict(m) for m in self.context]
        for key in ("notes", "reference", "source"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Item:
        return cls(id=d["id"], category=d["category"], sub_dimension=d["sub_dimension"],
                   turns=tuple(d["turns"]), system=d.get("system"),
                   context=tuple(d.get("context") or ()), notes=d.get("notes"),
                   reference=d.get("reference"), source=d.get("source"))

    def prefix_messages(self) -> list[dict[str, str]]:
        """What is sent before the first turn: the system prompt, then any prior context."""
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [dict(m) for m in self.context]


def _check(obj: Any, where: str, problems: list[str]) -> Item | None:
    """Validate one decoded line; append problems, return the item if it is usable."""
    if not isinstance(obj, dict):
        problems.append(f"{where}: expected a JSON object, got {type(obj).__name__}")
        return None
    before = len(problems)
    for key in ("id", "category", "sub_dimension"):
        value = obj.get(key)
        if value is None:
            problems.append(f"{where}: {key}: missing")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: {key}: expected a non-empty string, got {value!r}")
    turns = obj.get("turns")
    if turns is None:
        problems.append(f"{where}: turns: missing")
    elif not isinstance(turns, list) or not turns:
        problems.append(f"{where}: turns: expected a non-empty list of strings")
    else:
        for i, t in enumerate(turns):
            if not isinstance(t, str):
                problems.append(f"{where}: turns[{i}]: expected a string, got {type(t).__name__}")
            elif not t.strip():
                problems.append(f"{where}: turns[{i}]: empty turn")
    for key in ("system", "notes", "reference"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], str):
            problems.append(f"{where}: {key}: expected a string")
    context = obj.get("context") or []
    if not isinstance(context, list):
        problems.append(f"{where}: context: expected a list of messages")
    else:
        for i, m in enumerate(context):
            if not (isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)):
                problems.append(f"{where}: context[{i}]: expected {{\"role\": system|user|assistant, "
                                f"\"content\": string}}")
    for key in sorted(set(obj) - KNOWN_FIELDS):
        problems.append(f"{where}: {key}: unknown field")
    if len(problems) > before:
        return None
    return Item.from_dict(obj)


BANK_REENCODE = "re-save as UTF-8, or convert it with `scsafety-tui questions import jsonl`"


def read_jsonl(path: Path, problems: list[str], hint: str = BANK_REENCODE) -> list[tuple[int, Any]]:
    """(line number, decoded JSON) for each non-blank line; BOM and CRLF accepted. Lines end at \\n only:
    str.splitlines would also cut at U+2028, U+0085 and the like, which json.dumps(ensure_ascii=False)
    leaves raw inside strings. hint: what a file that is not UTF-8 is told to do."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{path}: no such file")
        return []
    except OSError as e:
        problems.append(f"{path}: cannot read: {e.strerror}")
        return []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        n = raw[:e.start].count(b"\n") + 1
        problems.append(f"{path}:{n}: not UTF-8 (byte {e.start}); {hint}")
        return []
    rows = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: bad JSON: {e.msg} (column {e.colno})")
    return rows


def bank_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their *.jsonl files (sorted); keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.jsonl")) if p.is_dir() else [p])
    return out


def load_banks(paths: Iterable[str | Path], taxonomy: Taxonomy) -> list[Item]:
    """Load and validate banks; raise BankError with every problem found, or return the items."""
    problems: list[str] = []
    items: list[Item] = []
    seen: dict[str, str] = {}
    files = bank_files(paths) or [SAMPLE_BANK]
    for path in files:
        for n, obj in read_jsonl(path, problems):
            where = f"{path}:{n}"
            item = _check(obj, where, problems)
            if item is None:
                continue
            sub = taxonomy.sub_dimension(item.sub_dimension)
            if sub is None:
                problems.append(f"{where}: sub_dimension: unknown {item.sub_dimension!r} "
                                f"(not in {taxonomy.source})")
                continue
            if sub.category != item.category:
                problems.append(f"{where}: category: {item.category!r} does not match sub_dimension "
                                f"{item.sub_dimension!r} (belongs to {sub.category!r})")
                continue
            if item.id in seen:
                problems.append(f"{where}: id: duplicate {item.id!r} (first at {seen[item.id]})")
                continue
            seen[item.id] = where
            items.append(Item(**{**item.__dict__, "origin": where}))
    if problems:
        raise BankError(problems)
    if not items:
        raise BankError([f"{', '.join(map(str, files))}: no items"])
    return items


def select_items(items: list[Item], *, sub_dimensions: Iterable[str] = (), limit: int = 0,
                 seed: int | None = None) -> list[Item]:
    """Filter by sub-dimension, then take `limit` items (a seeded sample when a seed is given)."""
    wanted = set(sub_dimensions)
    chosen = [i for i in items if not wanted or i.sub_dimension in wanted]
    if limit and limit < len(chosen):
        if seed is None:
            chosen = chosen[:limit]
        else:
            keep = set(random.Random(seed).sample(range(len(chosen)), limit))
            chosen = [it for n, it in enumerate(chosen) if n in keep]
    return chosen


def stratified_sample(items: list[Item], per_sub: int, seed: int = 0) -> list[Item]:
    """`per_sub` items from every sub-dimension, reproducible with the seed, in bank order."""
    rng = random.Random(seed)
    by_sub: dict[str, list[Item]] = {}
    for it in items:
        by_sub.setdefault(it.sub_dimension, []).append(it)
    keep: set[str] = set()
    for sub in sorted(by_sub):
        group = by_sub[sub]
        keep.update(it.id for it in rng.sample(group, min(per_sub, len(group))))
    return [it for it in items if it.id in keep]


def fingerprint(items: Iterable[Item]) -> str:
    """A short hash of the items' content: two sessions with the same fingerprint asked the same things."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps(it.to_dict(), ensure_ascii=False, sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]
