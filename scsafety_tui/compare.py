"""Comparing two sessions that share items, and judge-vs-human triage and agreement within one session."""

from __future__ import annotations

from dataclasses import dataclass

from scsafety_tui.scoring import AnswerRow, TargetScores, agreement, score_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store


@dataclass(frozen=True)
class ScorePair:
    a: float | None
    b: float | None

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class ChangedAnswer:
    item_id: str
    sub_dimension: str
    target: str
    round: int
    a: int | None
    b: int | None


@dataclass
class Comparison:
    session_a: int
    session_b: int
    items: list[str]
    targets: list[str]
    totals: dict[str, dict[str, ScorePair]]  # target -> {"total", "R1", "R2", "Δ"}
    sub_dimensions: dict[str, dict[str, ScorePair]]  # target -> sub-dimension -> pair
    changed: list[ChangedAnswer]


def _summary(ts: TargetScores | None) -> dict[str, float | None]:
    if ts is None:
        return {"total": None, "R1": None, "R2": None, "Δ": None}
    return {"total": ts.total.score, "R1": ts.round(1), "R2": ts.round(2), "Δ": ts.delta}


async def compare_sessions(store: Store, sid_a: int, sid_b: int, *, human: bool = False) -> Comparison:
    """Scores of both sessions restricted to the items and targets they share, and what changed."""
    rows_a = await queries.answer_rows(store, sid_a)
    rows_b = await queries.answer_rows(store, sid_b)
    items_a = {r.item_id for r in rows_a}
    items = sorted(items_a & {r.item_id for r in rows_b})
    order_b = [r["key"] for r in await queries.targets(store, sid_b)]
    keys_a = {r["key"] for r in await queries.targets(store, sid_a)}
    targets = [k for k in order_b if k in keys_a]
    shared = set(items)

    def keep(rows: list[AnswerRow]) -> list[AnswerRow]:
        return [r for r in rows if r.item_id in shared and r.target in targets]

    a, b = keep(rows_a), keep(rows_b)
    sa, sb = score_answers(a, human=human), score_answers(b, human=human)
    totals = {}
    subs: dict[str, dict[str, ScorePair]] = {}
    for t in targets:
        x, y = _summary(sa.get(t)), _summary(sb.get(t))
        totals[t] = {k: ScorePair(x[k], y[k]) for k in x}
        names = sorted(set(sa[t].sub_dimensions if t in sa else {}) | set(sb[t].sub_dimensions if t in sb else {}))
        subs[t] = {n: ScorePair(_cell_score(sa.get(t), n), _cell_score(sb.get(t), n)) for n in names}
    by_key = {(r.item_id, r.target, r.round): r for r in a}
    changed = []
    for r in b:
        old = by_key.get((r.item_id, r.target, r.round))
        if old is not None and old.score(human) != r.score(human):
            changed.append(ChangedAnswer(r.item_id, r.sub_dimension, r.target, r.round, old.score(human),
                                         r.score(human)))
    return Comparison(sid_a, sid_b, items, targets, totals, subs, changed)


def _cell_score(ts: TargetScores | None, sub: str) -> float | None:
    cell = ts.sub_dimensions.get(sub) if ts else None
    return cell.score if cell else None


@dataclass(frozen=True)
class TriageRow:
    turn_id: int
    item_id: str
    target: str
    round: int
    judge_scores: tuple[int | None, ...]
    judge_score: int | None
    human: int | None
    reason: str  # "human ≠ judge" | "judges disagree"


def triage(rows: list[AnswerRow]) -> list[TriageRow]:
    """Answers worth a human look: judge vs human disagreements first, then judges that disagree."""
    out = []
    for r in rows:
        valid = {s for s in r.judge_scores if s is not None}
        js = r.judge_score()
        if r.label is not None and js is not None and r.label != js:
            reason = "human ≠ judge"
        elif len(valid) > 1:
            reason = "judges disagree"
        else:
            continue
        out.append(TriageRow(r.turn_id, r.item_id, r.target, r.round, r.judge_scores, js, r.label, reason))
    spread = {t.turn_id: (max(s for s in t.judge_scores if s is not None)
                          - min(s for s in t.judge_scores if s is not None)) for t in out}
    return sorted(out, key=lambda t: (t.reason != "human ≠ judge", -spread[t.turn_id]))


def judge_human_agreement(rows: list[AnswerRow]) -> tuple[float, float | None, int]:
    """Percent agreement and Cohen's kappa between the judges' median and human labels."""
    pairs = [(js, r.label) for r in rows if r.label is not None and (js := r.judge_score()) is not None]
    return agreement(pairs)
