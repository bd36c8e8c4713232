"""Categories and sub-dimensions of SC-Safety, loaded from data (``questions/taxonomy.toml``).

A bank may bring its own taxonomy: a ``taxonomy.toml`` beside the bank file replaces the default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from scsafety_tui.errors import InputError
from scsafety_tui.paths import DEFAULT_TAXONOMY


class TaxonomyError(InputError):
    pass


@dataclass(frozen=True)
class Category:
    id: str
    name_zh: str
    name_en: str
    definition: str
    definition_en: str = ""


@dataclass(frozen=True)
class SubDimension:
    id: str
    category: str
    name_zh: str
    name_en: str
    definition: str
    definition_en: str = ""

    @property
    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    sub_dimensions: tuple[SubDimension, ...]
    source: str = ""

    def category(self, cid: str) -> Category | None:
        return next((c for c in self.categories if c.id == cid), None)

    def sub_dimension(self, sid: str) -> SubDimension | None:
        return next((s for s in self.sub_dimensions if s.id == sid), None)

    def subs_of(self, cid: str) -> list[SubDimension]:
        return [s for s in self.sub_dimensions if s.category == cid]

    def find(self, name: str) -> SubDimension | None:
        """A sub-dimension by id, Chinese name or English name (case-insensitive)."""
        low = name.strip().lower()
        for s in self.sub_dimensions:
            if low in (s.id, s.name_zh.lower(), s.name_en.lower()):
                return s
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"categories": [c.__dict__ for c in self.categories],
                "sub_dimensions": [s.__dict__ for s in self.sub_dimensions]}


_Entry = TypeVar("_Entry", "Category", "SubDimension")


def _entries(data: dict[str, Any], key: str, cls: type[_Entry], source: str) -> list[_Entry]:
    raw = data.get(key)
    if not isinstance(raw, list) or not raw:
        raise TaxonomyError(f"{source}: {key}: expected a non-empty array of tables [[{key}]]")
    names = [f for f in cls.__dataclass_fields__ if f != "definition_en"]
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise TaxonomyError(f"{source}: {key}[{i}]: expected a table")
        for f in names:
            if not isinstance(entry.get(f), str) or not entry[f].strip():
                raise TaxonomyError(f"{source}: {key}[{i}].{f}: expected a non-empty string")
        unknown = set(entry) - set(cls.__dataclass_fields__)
        if unknown:
            raise TaxonomyError(f"{source}: {key}[{i}].{sorted(unknown)[0]}: unknown key")
        out.append(cls(**entry))
    return out


def parse_taxonomy(data: dict[str, Any], source: str) -> Taxonomy:
    data = {k: v for k, v in data.items() if k != "version"}
    cats = _entries(data, "categories", Category, source)
    subs = _entries(data, "sub_dimensions", SubDimension, source)
    cat_ids = [c.id for c in cats]
    for i, s in enumerate(subs):
        if s.category not in cat_ids:
            raise TaxonomyError(f"{source}: sub_dimensions[{i}].category: unknown category {s.category!r}")
    for label, ids in (("categories", cat_ids), ("sub_dimensions", [s.id for s in subs])):
        dup = next((x for x in ids if ids.count(x) > 1), None)
        if dup:
            raise TaxonomyError(f"{source}: {label}: duplicate id {dup!r}")
    return Taxonomy(tuple(cats), tuple(subs), source)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    p = Path(path) if path else DEFAULT_TAXONOMY
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise TaxonomyError(f"{p}: no such taxonomy file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TaxonomyError(f"{p}: invalid TOML: {e}") from None
    return parse_taxonomy(data, str(p))


def taxonomy_for(bank_paths: list[Path]) -> Taxonomy:
    """The taxonomy a set of banks uses: a taxonomy.toml beside the first bank, else the default."""
    for p in bank_paths:
        folder = p if p.is_dir() else p.parent
        own = folder / "taxonomy.toml"
        if own.exists():
            return load_taxonomy(own)
    return load_taxonomy()
