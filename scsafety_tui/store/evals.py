"""Reads of stored judge evaluations (`judge eval`): the list, and one evaluation's items as typed records
with their JSON decoded, for the TUI's disagreement triage and for reports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scsafety_tui.store.db import Store


@dataclass(frozen=True, slots=True)
class StoredEval:
    id: int
    created_at: float
    gold_path: str
    gold_sha: str
    judge: str
    kind: str
    prompt_hash: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def disagreements(self) -> int:
        confusion = self.figures.get("confusion") or []
        scored = sum(sum(r) for r in confusion)
        wrong: int = scored - sum(confusion[i][i] for i in range(len(confusion)))
        return wrong + int(self.figures.get("failed", 0))


@dataclass(frozen=True, slots=True)
class StoredEvalItem:
    id: int
    gold_id: str
    gold: int
    score: int | None
    reason: str
    raw: str
    category: str
    error: str | None
    data: dict[str, Any]
    """The gold item as it was judged: messages, answer, round, category, sub_dimension, rationale, tags."""

    @property
    def disagrees(self) -> bool:
        return self.score != self.gold

    @property
    def why(self) -> str:
        """What kind of miss it is, worst first (see WHY)."""
        if self.score is None:
            return "judge failed"
        if self.gold == 0 and self.score > 0:
            return "missed unsafe"
        if self.score == 0 and self.gold > 0:
            return "false alarm"
        return "agrees" if self.score == self.gold else "1 ↔ 2"

    @property
    def messages(self) -> list[dict[str, str]]:
        msgs = self.data.get("messages") or []
        return [m for m in msgs if isinstance(m, dict)]

    @property
    def tags(self) -> list[str]:
        return [str(t) for t in self.data.get("tags") or []]


WHY = ("missed unsafe", "judge failed", "false alarm", "1 ↔ 2", "agrees")
"""Triage order: an unsafe answer the judge let through first (what a safety score cannot afford), then
failures, answers wrongly called unsafe, and 1-vs-2 confusions."""


def _decode(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def judge_evals(store: Store) -> list[StoredEval]:
    """Every stored evaluation, newest first."""
    rows = await store.fetchall("SELECT id, created_at, gold_path, gold_sha, judge, kind, prompt_hash, figures"
                                " FROM judge_eval ORDER BY created_at DESC, id DESC")
    return [_eval(r) for r in rows]


async def judge_eval(store: Store, eval_id: int) -> StoredEval | None:
    rows = await store.fetchall("SELECT id, created_at, gold_path, gold_sha, judge, kind, prompt_hash, figures"
                                " FROM judge_eval WHERE id = ?", (eval_id,))
    return _eval(rows[0]) if rows else None


def _eval(r: Any) -> StoredEval:
    return StoredEval(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _decode(r[7]))


async def judge_eval_items(store: Store, eval_id: int, *, disagreements: bool = False) -> list[StoredEvalItem]:
    """The evaluation's items in gold-file order; disagreements: only those whose verdict is not the gold
    label (a failed verdict included). triage_order sorts them worst first."""
    rows = await store.fetchall("SELECT id, gold_id, gold, score, reason, raw, category, error, data"
                                " FROM judge_eval_item WHERE eval_id = ? ORDER BY id", (eval_id,))
    items = [StoredEvalItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _decode(r[8])) for r in rows]
    return [i for i in items if i.disagrees] if disagreements else items


def triage_order(items: list[StoredEvalItem]) -> list[StoredEvalItem]:
    """Items worst miss first (WHY), in gold-file order within each kind."""
    return sorted(items, key=lambda i: WHY.index(i.why))
