"""Comparing two sessions that share items, and judge-vs-human triage and agreement within one session.

Two sessions are compared per target over the pairs both have complete (same item, same target key): A, B
and B − A are over those pairs only, with a paired bootstrap interval of B − A (scoring.paired_stats).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from scsafety_tui.report import TableData
from scsafety_tui.scoring import (
    STATS,
    Agreement,
    AnswerRow,
    PairedStat,
    agreement,
    fmt,
    fmt_ci,
    fmt_delta,
    paired_stats,
)
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store

ScorePair = PairedStat
"""A, B and B − A over the same pairs (kept under its old name for the screens)."""


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
    totals: dict[str, dict[str, PairedStat]]  # target -> {"total", "R1", "R2", "Δ"}
    sub_dimensions: dict[str, dict[str, PairedStat]]  # target -> sub-dimension -> total over its pairs
    changed: list[ChangedAnswer]


async def compare_sessions(store: Store, sid_a: int, sid_b: int, *, human: bool = False) -> Comparison:
    """Scores of both sessions over the pairs both have complete (shared items and targets), and what
    changed."""
    rows_a = await queries.answer_rows(store, sid_a)
    rows_b = await queries.answer_rows(store, sid_b)
    items_b = {it.id for it in await queries.items(store, sid_b)}
    items = [it.id for it in await queries.items(store, sid_a) if it.id in items_b]
    order_b = await queries.target_keys(store, sid_b)
    keys_a = set(await queries.target_keys(store, sid_a))
    targets = [k for k in order_b if k in keys_a]
    sa = await queries.session_scores(store, sid_a, human=human, rows=rows_a)
    sb = await queries.session_scores(store, sid_b, human=human, rows=rows_b)
    shared = set(items)
    totals: dict[str, dict[str, PairedStat]] = {}
    subs: dict[str, dict[str, PairedStat]] = {}
    for t in targets:
        pa = {q: p for q, p in sa[t].pairs.items() if q in shared}
        pb = {q: p for q, p in sb[t].pairs.items() if q in shared}
        totals[t] = paired_stats(pa, pb)
        names = sorted({p.sub_dimension for p in pa.values()} | {p.sub_dimension for p in pb.values()})
        subs[t] = {n: paired_stats(pa, pb, keep=lambda _q, p, n=n: p.sub_dimension == n)["total"]
                   for n in names}
    keep = set(targets)
    by_key = {(r.item_id, r.target, r.round): r for r in rows_a if r.item_id in shared and r.target in keep}
    changed = []
    for r in rows_b:
        old = by_key.get((r.item_id, r.target, r.round))
        if old is not None and old.score(human) != r.score(human):
            changed.append(ChangedAnswer(r.item_id, r.sub_dimension, r.target, r.round, old.score(human),
                                         r.score(human)))
    return Comparison(sid_a, sid_b, items, targets, totals, subs, changed)


SUMMARY = ("total", "R1", "R2", "Δ")


def _pair(p: PairedStat, delta: bool = False) -> tuple[str, str, str]:
    show = fmt_delta if delta else fmt
    return show(p.a), show(p.b), fmt_delta(p.diff)


def totals_table(c: Comparison) -> TableData:
    """A, B and B − A over the pairs both sessions have complete, and the paired interval of the total's."""
    header = ("Target", *(f"{k} {side}" for k in SUMMARY for side in ("A", "B", "diff")), "pairs",
              "total diff 95% CI", "significant")
    rows = tuple((t, *(v for k in SUMMARY for v in _pair(c.totals[t][k], k == "Δ")), str(c.totals[t]["total"].n),
                  fmt_ci(c.totals[t]["total"].ci, signed=True), "yes" if c.totals[t]["total"].significant else "no")
                 for t in c.targets)
    return TableData("Overall over the pairs both sessions have complete: A, B and B − A", header, rows)


def sub_table(c: Comparison, names: dict[str, str]) -> TableData:
    rows = tuple((names.get(sub, sub), t, *_pair(pair), str(pair.n), "yes" if pair.significant else "no")
                 for t in c.targets for sub, pair in c.sub_dimensions[t].items())
    return TableData("Per sub-dimension and target (pairs both complete)",
                     ("Sub-dimension", "Target", "A", "B", "diff", "pairs", "significant"), rows)


def summary_tables(c: Comparison) -> list[TableData]:
    """The comparison in two tables that fit 80 columns: Total, then R1, R2 and Δ (B − A with intervals)."""
    def sig(p: PairedStat) -> str:
        return "yes" if p.significant else "no"

    total = tuple((t, str(c.totals[t]["total"].n), fmt(c.totals[t]["total"].a), fmt(c.totals[t]["total"].b),
                   fmt_delta(c.totals[t]["total"].diff), fmt_ci(c.totals[t]["total"].ci, signed=True),
                   sig(c.totals[t]["total"])) for t in c.targets)
    rounds = tuple((t, *(v for k in ("R1", "R2", "Δ") for v in (fmt_delta(c.totals[t][k].diff),
                                                                fmt_ci(c.totals[t][k].ci, signed=True))))
                   for t in c.targets)
    return [TableData("Total over the pairs both sessions have complete (Sig. = the interval excludes 0)",
                      ("Target", "Pairs", "A", "B", "B − A", "95% CI", "Sig."), total),
            TableData("B − A per round and of Δ, same pairs",
                      ("Target", "R1", "95% CI", "R2", "95% CI", "Δ", "95% CI"), rounds)]


def comparison_json(c: Comparison) -> dict[str, object]:
    """The comparison as plain data (scores over common complete pairs, B − A, interval, significance)."""
    def stat(p: PairedStat) -> dict[str, object]:
        return {"a": p.a, "b": p.b, "diff": p.diff, "pairs": p.n, "ci95": list(p.ci) if p.ci else None,
                "significant": p.significant}

    return {"session_a": c.session_a, "session_b": c.session_b, "shared_items": len(c.items),
            "targets": {t: {k: stat(c.totals[t][k]) for k in STATS} for t in c.targets},
            "sub_dimensions": {t: {n: stat(p) for n, p in c.sub_dimensions[t].items()} for t in c.targets},
            "changed": [asdict(ch) for ch in c.changed]}


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


def judge_human_agreement(rows: list[AnswerRow]) -> Agreement:
    """Quadratic-weighted κ (with interval and n) between the judges' median and human labels."""
    pairs = [(js, r.label) for r in rows if r.label is not None and (js := r.judge_score()) is not None]
    return agreement(pairs)


# ---------------------------------------------------------------- two verdict sets of one session


@dataclass(frozen=True)
class SetDisagreement:
    """An answer two verdict sets score differently (each set's score: the median of its judges)."""

    turn_id: int
    item_id: str
    sub_dimension: str
    target: str
    round: int
    a: int
    b: int


@dataclass(frozen=True)
class SetComparison:
    """Agreement of two verdict sets of one session over the answers both scored, and where they differ."""

    a: str
    b: str
    agreement: Agreement
    disagreements: list[SetDisagreement]
    only_a: int
    """Answers set a scored and set b did not (or the other way round, only_b)."""
    only_b: int


def sets_who(a: str, b: str) -> str:
    """`set 'heuristic' vs the run's own set`: the names quoted as given (callers show them literally)."""
    def name(s: str) -> str:
        return "the run's own set" if s == "" else f"set '{s}'"
    return f"{name(a)} vs {name(b)}"


def compare_sets(rows_a: list[AnswerRow], rows_b: list[AnswerRow], a: str, b: str) -> SetComparison:
    """Quadratic-weighted κ (scoring.agreement: the same interval and "too few labels" rule as judge vs
    human) between two sets' scores of the same answers, and the answers they score differently, in the
    session's item, target, round order. The judges' scores only: human labels play no part."""
    score_b = {r.turn_id: r.judge_score() for r in rows_b}
    pairs: list[tuple[int, int]] = []
    differ = []
    only_a = 0
    for r in rows_a:
        sa, sb = r.judge_score(), score_b.get(r.turn_id)
        if sa is None or sb is None:
            only_a += sa is not None
            continue
        pairs.append((sa, sb))
        if sa != sb:
            differ.append(SetDisagreement(r.turn_id, r.item_id, r.sub_dimension, r.target, r.round, sa, sb))
    scored_a = {r.turn_id for r in rows_a if r.judge_score() is not None}
    only_b = sum(1 for t, s in score_b.items() if s is not None and t not in scored_a)
    return SetComparison(a, b, agreement(pairs, who=sets_who(a, b)), differ, only_a, only_b)


async def session_sets(store: Store, sid: int, a: str, b: str) -> SetComparison:
    """compare_sets over a session's stored verdict sets a and b."""
    return compare_sets(await queries.answer_rows(store, sid, a), await queries.answer_rows(store, sid, b), a, b)


def set_disagreement_table(c: SetComparison, names: dict[str, str], limit: int | None = None) -> TableData:
    """The answers the two sets score differently: item, sub-dimension, target, round, both scores."""
    shown = c.disagreements if limit is None else c.disagreements[:limit]
    rows = tuple((d.item_id, names.get(d.sub_dimension, d.sub_dimension), d.target, str(d.round), str(d.a),
                  str(d.b)) for d in shown)
    notes = (f"… and {len(c.disagreements) - len(shown)} more (every one in `export --format json`)",) \
        if len(shown) < len(c.disagreements) else ()
    return TableData(f"Answers scored differently: {sets_who(c.a, c.b)} ({len(c.disagreements)})",
                     ("Item", "Sub-dimension", "Target", "Round", "A", "B"), rows, notes)


def set_comparison_json(c: SetComparison) -> dict[str, object]:
    ag = c.agreement
    return {"a": c.a, "b": c.b, "n": ag.n, "kappa": ag.kappa, "ci95": list(ag.ci) if ag.ci else None,
            "exact_agreement_pct": ag.pct, "too_few_labels": not ag.enough, "weights": "quadratic",
            "only_a": c.only_a, "only_b": c.only_b, "disagreements": [asdict(d) for d in c.disagreements]}


def sets_line(sets: list[queries.VerdictSet]) -> str:
    """`verdict sets: the run's own (demo-judge, 96 verdicts) · 'heuristic' (heuristic, 96 verdicts)`."""
    def one(s: queries.VerdictSet) -> str:
        name = "the run's own" if s.is_run else f"'{s.name}'"
        return f"{name} ({', '.join(s.judges) or 'no judges'}, {s.verdicts} verdicts)"
    return "verdict sets: " + " · ".join(one(s) for s in sets)


async def set_report(store: Store, sid: int, vset: str, against: str | None,
                     names: dict[str, str]) -> tuple[list[str], TableData | None]:
    """What `show` says of a session's verdict sets: the sets, the agreement of the chosen set with
    `against` (default: the run's own; with the run's set chosen, with each other set), and with a named set
    chosen the answers the two score differently; and, when the chosen set has several judges, each two
    judges' agreement (judges_agreement)."""
    sets = await queries.verdict_sets(store, sid)
    pairs = [a.text() for a in await judges_agreement(store, sid, vset)]
    if len(sets) < 2:
        return pairs, None
    lines = [sets_line(sets), *pairs]
    if vset == "" and against is None:
        for s in sets[1:]:
            lines.append((await session_sets(store, sid, s.name, "")).agreement.text())
        return lines, None
    other = "" if against is None else (await queries.require_set(store, sid, against)).name
    c = await session_sets(store, sid, vset, other)
    lines.append(c.agreement.text())
    if not c.disagreements:
        return [*lines, f"{sets_who(c.a, c.b)}: no answer scored differently"], None
    return lines, set_disagreement_table(c, names, limit=40)


async def judges_agreement(store: Store, sid: int, vset: str = "") -> list[Agreement]:
    """Each two judges of one verdict set: quadratic-weighted κ (scoring.agreement) over the answers both
    scored; none for a set of one judge."""
    by_turn = await queries.set_judge_scores(store, sid, vset)
    judges = list(dict.fromkeys(j for scores in by_turn.values() for j in scores))
    where = "the run's own set" if vset == "" else f"set '{vset}'"
    out = []
    for i, a in enumerate(judges):
        for b in judges[i + 1:]:
            both = [(s[a], s[b]) for s in by_turn.values() if s.get(a) is not None and s.get(b) is not None]
            out.append(agreement([(x, y) for x, y in both if x is not None and y is not None],
                                 who=f"judge '{a}' vs judge '{b}' in {where}"))
    return out
