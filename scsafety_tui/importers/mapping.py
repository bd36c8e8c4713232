"""Category mappings: which taxonomy sub-dimension a dataset's own label means.

Each format has a default mapping as data (`mappings/<format>.toml`); `--map FILE` layers over it (or
replaces it with `replace = true`). Labels are matched loosely (see `base.norm`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scsafety_tui.errors import InputError
from scsafety_tui.importers.base import norm
from scsafety_tui.taxonomy import Taxonomy

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
KEYS = {"dataset", "fallback_category", "unlabeled", "replace", "sub_dimensions", "categories"}


@dataclass
class Mapping:
    dataset: str | None = None
    """Written to each item's `source.dataset`; generic formats default to the file name."""
    sub_dimensions: dict[str, str] = field(default_factory=dict)
    """Normalised source label → sub-dimension id."""
    categories: dict[str, str] = field(default_factory=dict)
    """Normalised source label → category id: the best guess for a label left unmapped."""
    fallback_category: str | None = None
    unlabeled: str | None = None
    """Sub-dimension for rows that carry no label at all (e.g. JADE's alignment release)."""

    def sub_dimension_for(self, labels: Sequence[str], taxonomy: Taxonomy) -> str | None:
        """The mapped sub-dimension, else a label that already names one (`insult`, `脏话侮辱`), else None."""
        if not labels:
            return self.unlabeled
        for label in labels:
            if sid := self.sub_dimensions.get(norm(label)):
                return sid
        for label in labels:
            if sub := taxonomy.find(label):
                return sub.id
        return None

    def category_for(self, labels: Sequence[str], taxonomy: Taxonomy) -> str:
        for label in labels:
            if cid := self.categories.get(norm(label)):
                return cid
        for label in labels:
            if cid := _category(taxonomy, label):
                return cid
        if self.fallback_category:
            return self.fallback_category
        return "traditional" if taxonomy.category("traditional") else taxonomy.categories[0].id


def _category(taxonomy: Taxonomy, name: str) -> str | None:
    low = name.strip().casefold()
    return next((c.id for c in taxonomy.categories if low in (c.id, c.name_zh.casefold(),
                                                               c.name_en.casefold())), None)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: expected a non-empty string")
    return value.strip()


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, str]:
    raw = data.get(key, {})
    if not isinstance(raw, dict):
        raise InputError(f"{source}: {key}: expected a table [{key}] of \"label\" = \"id\"")
    return {label: _text(value, f"{source}: {key}.\"{label}\"") for label, value in raw.items()}


def _layer(data: dict[str, Any], source: str, taxonomy: Taxonomy, lenient: bool) -> tuple[Mapping, bool]:
    """One mapping file checked against the taxonomy; `lenient` drops entries whose target is missing
    (a default mapping against a bank's own taxonomy) instead of failing."""
    for key in data:
        if key not in KEYS:
            raise InputError(f"{source}: {key}: unknown key (use {', '.join(sorted(KEYS))})")
    replace = data.get("replace", False)
    if not isinstance(replace, bool):
        raise InputError(f"{source}: replace: expected true or false")
    out = Mapping()
    if "dataset" in data:
        out.dataset = _text(data["dataset"], f"{source}: dataset")
    for label, target in _table(data, "sub_dimensions", source).items():
        if sub := taxonomy.find(target):
            out.sub_dimensions[norm(label)] = sub.id
        elif not lenient:
            raise InputError(f"{source}: sub_dimensions.\"{label}\": unknown sub-dimension {target!r} "
                             f"(not in {taxonomy.source})")
    for label, target in _table(data, "categories", source).items():
        if cid := _category(taxonomy, target):
            out.categories[norm(label)] = cid
        elif not lenient:
            raise InputError(f"{source}: categories.\"{label}\": unknown category {target!r}")
    if "fallback_category" in data:
        target = _text(data["fallback_category"], f"{source}: fallback_category")
        out.fallback_category = _category(taxonomy, target)
        if out.fallback_category is None and not lenient:
            raise InputError(f"{source}: fallback_category: unknown category {target!r}")
    if "unlabeled" in data:
        target = _text(data["unlabeled"], f"{source}: unlabeled")
        sub = taxonomy.find(target)
        if sub is None and not lenient:
            raise InputError(f"{source}: unlabeled: unknown sub-dimension {target!r}")
        out.unlabeled = sub.id if sub else None
    return out, replace


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such mapping file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8; re-save the mapping file as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: invalid TOML: {e}") from None


def default_path(fmt: str) -> Path:
    return MAPPINGS_DIR / f"{fmt}.toml"


def load_mapping(fmt: str, override: str | Path | None, taxonomy: Taxonomy) -> Mapping:
    """The format's default mapping, with `override` (a `--map` file) layered on top."""
    path = default_path(fmt)
    mapping = _layer(read_toml(path), str(path), taxonomy, lenient=True)[0] if path.exists() else Mapping()
    if override is None:
        return mapping
    user, replace = _layer(read_toml(Path(override)), str(override), taxonomy, lenient=False)
    if replace:
        return user
    return Mapping(dataset=user.dataset or mapping.dataset,
                   sub_dimensions={**mapping.sub_dimensions, **user.sub_dimensions},
                   categories={**mapping.categories, **user.categories},
                   fallback_category=user.fallback_category or mapping.fallback_category,
                   unlabeled=user.unlabeled or mapping.unlabeled)
