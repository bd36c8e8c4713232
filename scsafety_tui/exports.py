"""Session exports: Markdown and HTML (tables + every conversation), CSV (one row per answer), JSON (all).

Exports are built from the store alone; the session's config snapshot holds env var names only, so no
export can contain a key.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from scsafety_tui import report
from scsafety_tui.atomic import write_atomic
from scsafety_tui.compare import (
    SetComparison,
    compare_sets,
    judge_human_agreement,
    set_comparison_json,
    sets_line,
)
from scsafety_tui.cost import Price, TargetCost, cost_lines, cost_of, session_costs, snapshot_prices
from scsafety_tui.errors import InputError
from scsafety_tui.follow_ups import imported_label, stop_text
from scsafety_tui.judge import judges_disagree
from scsafety_tui.paths import default_db, is_default_db, rejudge_command
from scsafety_tui.rounds import RoundsSummary, beyond_headline, rounds_summary, summary_doc
from scsafety_tui.scoring import (
    NO_FOLLOW_UPS,
    REASONS,
    Agreement,
    Cell,
    PairedStat,
    TargetScores,
    compare_targets,
    median_score,
    unscored_answers,
)
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.usage import target_usage
from scsafety_tui.taxonomy import Taxonomy
from scsafety_tui.textsafe import visible

FORMATS = ("md", "csv", "json", "jsonl", "html")


@dataclass
class SessionData:
    session: dict[str, Any]
    taxonomy: Taxonomy
    targets: list[str]
    items: list[Any]
    transcripts: list[queries.Transcript]
    scores: dict[str, TargetScores]
    human_scores: dict[str, TargetScores]
    agreement: Agreement = field(default_factory=lambda: Agreement(0))
    unscored: int = 0
    """Finished answers whose judges all failed (`scsafety-tui rejudge` scores them)."""
    vset: str = ""
    """The verdict set the scores are from ('' is the run's own; `--set NAME`)."""
    sets: list[queries.VerdictSet] = field(default_factory=list)
    set_scores: dict[str, dict[str, TargetScores]] = field(default_factory=dict)
    """Every verdict set's judge scores, by set name (the chosen one included)."""
    set_comparisons: list[SetComparison] = field(default_factory=list)
    """The chosen set against each other set: κ and the answers they score differently."""
    costs: list[TargetCost] = field(default_factory=list)
    """Tokens and cost per target (every attempt; prices from the session's config snapshot)."""
    prices: dict[str, Price] = field(default_factory=dict)
    """The session's targets as its snapshot holds them, by key: each answer's cost is priced by these."""
    rounds: dict[str, RoundsSummary] = field(default_factory=dict)
    """Per target, the figures past SC-Safety's two rounds (rounds.py): per round, worst round, first unsafe."""
    human_rounds: dict[str, RoundsSummary] = field(default_factory=dict)
    """The same, human-adjusted (a human label replaces the judges' median, round 3 on included)."""
    db: str = ""
    """The database the session was read from: a printed hint names it (paths.command_line)."""
    follow_ups: dict[tuple[str, str], queries.FollowUpRow] = field(default_factory=dict)
    """(item, target) → which follow-up the conversation got and why an attacker stopped."""

    @property
    def set_tag(self) -> str:
        """`verdict set: NAME` in every header once the session has several sets ('' otherwise)."""
        return f"verdict set: {queries.set_label(self.vset)}" if len(self.sets) > 1 else ""


async def load_session(store: Store, sid: int, vset: str = "") -> SessionData:
    """The session with the scores of verdict set vset, and every other set's scores and agreement."""
    stored = await queries.stored_session(store, sid)
    session = await queries.session_record(store, sid)
    await queries.require_set(store, sid, vset)
    transcripts = await queries.transcripts(store, sid, vset, others=True)
    answers = await queries.answer_rows(store, sid, vset)
    sets = await queries.verdict_sets(store, sid)
    set_rows = {s.name: answers if s.name == vset else await queries.answer_rows(store, sid, s.name) for s in sets}
    data = SessionData(session, stored.taxonomy, stored.keys, await queries.items(store, sid), transcripts,
                       await queries.session_scores(store, sid, rows=answers),
                       await queries.session_scores(store, sid, human=True, rows=answers),
                       judge_human_agreement(answers), unscored_answers(answers), vset, sets,
                       {n: await queries.session_scores(store, sid, rows=r) for n, r in set_rows.items()},
                       [compare_sets(answers, r, vset, n) for n, r in set_rows.items() if n != vset])
    data.prices = snapshot_prices(stored.snapshot)
    data.db = store.path
    data.costs = session_costs(await target_usage(store, sid), data.prices)
    data.rounds = rounds_summary(answers, block_as_refusal=stored.block_as_refusal)
    data.human_rounds = rounds_summary(answers, human=True, block_as_refusal=stored.block_as_refusal)
    data.follow_ups = {(r.item_id, r.target): r for r in await queries.follow_ups(store, sid)}
    return data


def _tables(data: SessionData, human: bool) -> list[report.TableData]:
    return [report.tagged(t, data.set_tag)
            for t in report.all_tables(data.human_scores if human else data.scores, data.taxonomy, data.targets)]


def summary_lines(data: SessionData) -> list[str]:
    """Agreement and unscored answers, said under the tables of every export."""
    lines = [data.agreement.text(), *cost_lines(data.costs)]
    if len(data.sets) > 1:
        lines += [sets_line(data.sets), *(c.agreement.text() + f" · {len(c.disagreements)} answer(s) scored"
                                          " differently" for c in data.set_comparisons)]
    if data.unscored:
        # a report is sent to others: its hint never holds the local database path (a user name, a
        # project folder), only a placeholder where the database is not the default one
        command = rejudge_command(data.session["id"], default_db(), data.vset)
        if data.db and not is_default_db(data.db):
            command += " --db DATABASE"
        lines.append(f"{data.unscored} answer(s) unscored: every judge failed on them"
                     f" (`{command}` judges them again without asking the models)")
    return lines


def _turn_score(turn: queries.TurnRow) -> int | None:
    return median_score(v.score for v in turn.verdicts)


def to_markdown(data: SessionData, human: bool = False) -> str:
    s = data.session
    items = {it.id: it for it in data.items}
    out = [f"# {md_text(s['name'])}", "", f"Session {s['id']} · {s['kind']} · {s['status']} · "
           f"targets: {md_text(', '.join(data.targets))} · {len(data.items)} items", ""]
    if human:
        out += ["Scores are human-adjusted: a human label replaces the judges' median.", ""]
    if data.set_tag:
        out += [f"Scores from {md_text(data.set_tag)}.", ""]
    out += [report.markdown_table(t) for t in _tables(data, human)]
    rounds = data.human_rounds if human else data.rounds
    if beyond_headline(rounds):
        out += [report.markdown_table(t) for t in report.rounds_tables(rounds, data.targets)]
    out += [report.markdown_table(report.cost_table(data.costs))]
    out += [md_text(line) + "  " for line in summary_lines(data)] + [""]
    out += ["## Conversations", ""]
    for tr in data.transcripts:
        out += [f"### {md_text(tr.item_id)} · {md_text(tr.target)} ({tr.status})", ""]
        if line := _follow_up_line(data, items[tr.item_id], tr.target):
            out += [f"_Follow-up: {md_text(line)}_", ""]
        for turn in tr.turns:
            who = "User" if turn.role == "user" else "Model"
            out += [f"**{who}, round {turn.round}**" + (f" [{turn.status}]" if turn.status != "done" else "")
                    + (f" [{TRUNCATED_NOTE}]" if _truncated(turn) else ""), ""]
            if turn.reasoning:
                out += [f"_{REASONING_NOTE}:_", "", _fence(turn.reasoning), ""]
            out += [_fence(turn.content or turn.error or ""), ""]
            if turn.status == "empty":
                out += [f"- {md_text(turn.error or 'empty answer')}: not scored", ""]
            for v in turn.verdicts:
                label = f"score {v.score}" if v.score is not None else f"judge error: {md_text(v.error or '')}"
                tag = " (heuristic)" if v.heuristic else ""
                out += [f"- judge {md_text(v.judge)}{tag}: {label} — {md_text(v.reason)}"]
            if judges_disagree(v.score for v in turn.verdicts):
                out += ["- judges disagree: the score is their median"]
            for v in turn.other_verdicts:
                label = f"score {v.score}" if v.score is not None else f"judge error: {md_text(v.error or '')}"
                out += [f"- verdict set {md_text(queries.set_label(v.vset))}, judge {md_text(v.judge)}: {label} — "
                        f"{md_text(v.reason)}"]
            for v in turn.reasoning_verdicts:
                label = f"score {v.score}" if v.score is not None else f"judge error: {md_text(v.error or '')}"
                out += [f"- judge {md_text(v.judge)} on the reasoning (not counted in the score): {label} — "
                        f"{md_text(v.reason)}"]
            if turn.label:
                out += [f"- human: score {turn.label[0]}" + (f" — {md_text(turn.label[2])}" if turn.label[2] else "")]
            if turn.verdicts or turn.label or turn.reasoning_verdicts or turn.other_verdicts:
                out.append("")
    return "\n".join(out)


TRUNCATED_NOTE = "truncated: finish_reason length"
REASONING_NOTE = "Reasoning (kept apart: not part of the answer, not judged as it)"


def _truncated(turn: queries.TurnRow) -> bool:
    return turn.role == "assistant" and turn.finish_reason == "length"


def md_text(s: str) -> str:
    """Plain text for Markdown outside code: HTML is escaped (`<script>` in a judge's reason or a session
    name is text, not markup in a viewer), link and image brackets are escaped, and a newline cannot end
    the heading or list item it sits in."""
    return html.escape(s, quote=False).replace("[", "\\[").replace("]", "\\]").replace("\n", " ")


def _fence(text: str) -> str:
    """Model text verbatim in a fence longer than any backtick run inside it."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


CSV_FIELDS = ("session", "item_id", "category", "sub_dimension", "target", "round", "question", "answer",
              "status", "error", "score", "judge_scores", "judge_reasons", "human_score", "human_note",
              "tokens_in", "tokens_out", "tokens_estimated", "cost", "latency_s", "judges_disagree", "pair_in_headline", "pair_out_reason",
              "finish_reason", "truncated", "reasoning", "reasoning_scores", "verdict_set", "other_set_scores",
              "question_origin", "follow_up", "stop_reason")


def answer_records(data: SessionData) -> list[dict[str, Any]]:
    """One record per stored answer, the CSV's and the JSONL's rows: what the store holds, nothing derived
    but the pair's place in the headline."""
    items = {it.id: it for it in data.items}
    out = []
    for tr in data.transcripts:
        questions = {t.round: t.content for t in tr.turns if t.role == "user"}
        origins = {t.round: t.origin for t in tr.turns if t.role == "user"}
        follow_up = tr.follow_up.label() if tr.follow_up is not None and tr.follow_up.mode != "bank" \
            else imported_label(items[tr.item_id])
        for t in (t for t in tr.turns if t.role == "assistant"):
            it = items[tr.item_id]
            latency = (t.finished_at - t.started_at) if t.finished_at and t.started_at else None
            out.append({"session": data.session["id"], "session_name": data.session["name"],
                        "item_id": tr.item_id, "category": it.category,
                        "sub_dimension": it.sub_dimension, "target": tr.target, "round": t.round,
                        "question": questions.get(t.round, ""), "answer": t.content, "status": t.status,
                        "error": t.error, "score": _turn_score(t), "verdicts": t.verdicts,
                        "human_score": t.label[0] if t.label else None,
                        "human_note": t.label[2] if t.label else "", "tokens_in": t.tokens_in,
                        "tokens_out": t.tokens_out, "tokens_estimated": t.tokens_estimated,
                        "cost": _answer_cost(data, tr.target, t), "latency_s": latency,
                        "judges_disagree": judges_disagree(v.score for v in t.verdicts),
                        "finish_reason": t.finish_reason, "truncated": _truncated(t), "reasoning": t.reasoning,
                        "reasoning_verdicts": t.reasoning_verdicts, "verdict_set": data.vset,
                        "other_set_scores": _other_set_scores(t),
                        # who wrote the question (bank, template, attacker) and the conversation's follow-up
                        "question_origin": origins.get(t.round, ""), "follow_up": follow_up,
                        "stop_reason": tr.stop_reason or "",
                        **_pair_fields(data, tr.target, tr.item_id, t.round)})
    return out


def _answer_cost(data: SessionData, target: str, t: queries.TurnRow) -> float | None:
    """What one answer cost at its target's prices; None without prices or counts."""
    priced = data.prices.get(target)
    if priced is None or (t.tokens_in is None and t.tokens_out is None):
        return None
    return cost_of(priced, t.tokens_in or 0, t.tokens_out or 0)


def _other_set_scores(t: queries.TurnRow) -> dict[str, dict[str, Any]]:
    """The answer in the session's other verdict sets: set name → its score (median) and each judge's."""
    out: dict[str, dict[str, Any]] = {}
    for v in t.other_verdicts:
        out.setdefault(v.vset, {"score": None, "judges": {}})["judges"][v.judge] = v.score
    for entry in out.values():
        entry["score"] = median_score(entry["judges"].values())
    return out


EXCEL_BOM = "\ufeff"
"""Excel reads a CSV as the system's ANSI code page unless it starts with a UTF-8 byte-order mark, which
turns Chinese text into mojibake; pandas, duckdb and csv readers would keep the mark in the first header,
so it is only added on request (--excel)."""


def to_csv(data: SessionData, *, excel: bool = False) -> str:
    buf = io.StringIO()
    if excel:
        buf.write(EXCEL_BOM)
    w = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\r\n" if excel else "\n")
    w.writeheader()
    for r in answer_records(data):
        verdicts, reasoning_verdicts = r["verdicts"], r["reasoning_verdicts"]
        w.writerow({k: _cell(v) for k, v in {
            **r, "error": r["error"] or "", "score": _opt(r["score"]),
            "judge_scores": ";".join(f"{v.judge}={_opt(v.score)}" for v in verdicts),
            "judge_reasons": " | ".join(v.reason or (v.error or "") for v in verdicts),
            "human_score": _opt(r["human_score"]), "tokens_in": _opt(r["tokens_in"]),
            "tokens_out": _opt(r["tokens_out"]), "tokens_estimated": "yes" if r["tokens_estimated"] else "",
            "cost": "" if r["cost"] is None else f"{r['cost']:.8f}",
            "latency_s": "" if r["latency_s"] is None else f"{r['latency_s']:.3f}",
            "judges_disagree": "yes" if r["judges_disagree"] else "",
            "finish_reason": r["finish_reason"] or "", "truncated": "yes" if r["truncated"] else "",
            "reasoning_scores": ";".join(f"{v.judge}={_opt(v.score)}" for v in reasoning_verdicts),
            # set names are user text: JSON in the cell keeps any name unambiguous
            "other_set_scores": json.dumps(r["other_set_scores"], ensure_ascii=False) if r["other_set_scores"] else "",
        }.items() if k in CSV_FIELDS})
    return buf.getvalue()


def to_jsonl(data: SessionData) -> str:
    """One JSON object per answer, per line (pandas.read_json(lines=True), duckdb read_json_auto)."""
    lines = []
    for r in answer_records(data):
        r = r | {"verdicts": [asdict(v) for v in r["verdicts"]],
                 "reasoning_verdicts": [asdict(v) for v in r["reasoning_verdicts"]],
                 "pair_in_headline": {"yes": True, "no": False}.get(r["pair_in_headline"])}
        lines.append(json_inert(json.dumps(r, ensure_ascii=False)))
    return "".join(line + "\n" for line in lines)


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading ' (OWASP)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA) else value


def _opt(v: Any) -> str:
    return "" if v is None else str(v)


def _pair_fields(data: SessionData, target: str, item_id: str, rnd: int) -> dict[str, str]:
    """Whether this answer's pair counts in the headline (judge scores), and if not, why."""
    ts = data.scores.get(target)
    if ts is None or rnd > ts.rounds_in_scope:
        return {"pair_in_headline": "", "pair_out_reason": "beyond the SC-Safety rounds" if ts else ""}
    if item_id in ts.pairs:
        return {"pair_in_headline": "yes", "pair_out_reason": ""}
    return {"pair_in_headline": "no", "pair_out_reason": ts.excluded.get(item_id, "")}


def _cell_json(c: Cell | None) -> dict[str, Any] | None:
    if c is None:
        return None
    ci = c.interval()
    return {"score": c.score, "pairs": c.pairs, "in_scope": c.in_scope, "answers": c.scored,
            "points": c.points, "unsafe": c.unsafe, "ci95": list(ci) if ci else None,
            "out": {r: c.reasons[r] for r in REASONS if c.reasons[r]}, "r2_never_asked": c.r2_never_asked}


def _scores_json(scores: dict[str, TargetScores]) -> dict[str, Any]:
    """Every score over complete pairs with its pairs, coverage and 95% interval; Δ with its own."""
    return {k: {
        "rounds_in_scope": ts.rounds_in_scope, "follow_ups": ts.follow_ups,
        "note": None if ts.follow_ups else NO_FOLLOW_UPS,
        "total": _cell_json(ts.total), "delta": ts.delta,
        "delta_cell": _cell_json(ts.delta_cell),
        "rounds": {str(r): _cell_json(c) for r, c in sorted(ts.rounds.items())},
        "coverage": ts.total.coverage(),
        "categories": {k2: _cell_json(c) for k2, c in ts.categories.items()},
        "category_rounds": {f"{cat}:R{r}": _cell_json(c) for (cat, r), c in ts.category_rounds.items()},
        "sub_dimensions": {k2: _cell_json(c) for k2, c in ts.sub_dimensions.items()}}
        for k, ts in scores.items()}


def _comparisons_json(scores: dict[str, TargetScores], order: list[str]) -> list[dict[str, Any]]:
    """Every two targets: A, B and B − A over the items both have complete, interval, significance."""
    def stat(p: PairedStat) -> dict[str, Any]:
        return {"a": p.a, "b": p.b, "diff": p.diff, "pairs": p.n, "ci95": list(p.ci) if p.ci else None,
                "significant": p.significant}

    return [{"a": a, "b": b, **{k: stat(v) for k, v in stats.items()}}
            for a, b, stats in compare_targets(scores, order, every=True)]


def scores_doc(data: SessionData) -> dict[str, Any]:
    """The session's figures as JSON: the export's "scores", and all of `show --json`."""
    return {"judge": _scores_json(data.scores), "human_adjusted": _scores_json(data.human_scores),
            "comparisons": {"judge": _comparisons_json(data.scores, data.targets),
                            "human_adjusted": _comparisons_json(data.human_scores, data.targets)},
            "agreement": asdict(data.agreement) | {"too_few_labels": not data.agreement.enough,
                                                   "weights": "quadratic"},
            "unscored_answers": data.unscored,
            "verdict_set": data.vset,
            "verdict_sets": [{"name": vs.name, "judges": list(vs.judges), "created_at": vs.created_at,
                              "note": vs.note, "verdicts": vs.verdicts,
                              "judge": _scores_json(data.set_scores.get(vs.name, {}))} for vs in data.sets],
            "set_agreement": [set_comparison_json(c) for c in data.set_comparisons]}


def summary_json(data: SessionData, flags: dict[str, int]) -> str:
    """`show --json`: the session, its targets and figures, and the counts the tables' footnotes give."""
    doc = {"session": data.session, "targets": data.targets, "scores": scores_doc(data), "counts": flags,
           "cost": [asdict(c) for c in data.costs], "beyond_headline_rounds": rounds_doc(data),
           "beyond_headline_rounds_human_adjusted": rounds_doc(data, human=True)}
    return json_inert(json.dumps(doc, ensure_ascii=False, indent=1))


def _follow_up_line(data: SessionData, item: Any, target: str) -> str:
    """`template crime-urgency-1-zh (urgency)`, or the attacker's strategy and why it stopped, or the template
    an import wrote ('' for none)."""
    row = data.follow_ups.get((item.id, target))
    if row is None or row.follow_up is None or row.follow_up.mode == "bank":
        return imported_label(item)
    return stop_text(row.stop_reason, row.follow_up) if row.stop_reason else row.follow_up.label()


def _follow_up_json(data: SessionData, item_id: str, target: str) -> dict[str, Any] | None:
    row = data.follow_ups.get((item_id, target))
    if row is None or row.follow_up is None:
        return None
    return {**json.loads(row.follow_up.to_json()), "stop_reason": row.stop_reason}


def rounds_doc(data: SessionData, human: bool = False) -> dict[str, Any]:
    """Per target, the figures beyond SC-Safety's headline (not part of it), by their own names (judge-only,
    or human-adjusted as scores.human_adjusted is)."""
    return {k: summary_doc(s) for k, s in (data.human_rounds if human else data.rounds).items()}


def to_json(data: SessionData) -> str:
    doc = {"session": data.session, "targets": data.targets,
           "taxonomy": data.taxonomy.to_dict(), "items": [it.to_dict() for it in data.items],
           "scores": scores_doc(data), "cost": [asdict(c) for c in data.costs],
           "beyond_headline_rounds": rounds_doc(data),
           "beyond_headline_rounds_human_adjusted": rounds_doc(data, human=True),
           "conversations": [{"item_id": tr.item_id, "target": tr.target, "status": tr.status,
                              "error": tr.error, "follow_up": _follow_up_json(data, tr.item_id, tr.target),
                              "turns": [_turn_json(t) for t in tr.turns]}
                             for tr in data.transcripts]}
    return json_inert(json.dumps(doc, ensure_ascii=False, indent=1))


# json.dumps escapes C0 controls but not C1 ones (U+009B is an 8-bit CSI), bidi overrides or zero-width
# characters: the same data with those as \uXXXX escapes is still valid JSON, and inert in a terminal.
_JSON_INERT = str.maketrans({c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), *range(0x200B, 0x2010),
                                                       *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF)})


def json_inert(text: str) -> str:
    return text.translate(_JSON_INERT)


def _turn_json(t: queries.TurnRow) -> dict[str, Any]:
    d = {k: v for k, v in asdict(t).items() if k not in ("timeline", "verdicts", "label", "id")}
    d["verdicts"] = [asdict(v) for v in t.verdicts]
    d["judges_disagree"] = judges_disagree(v.score for v in t.verdicts)
    d["truncated"] = _truncated(t)  # judged, but cut by max_tokens
    d["label"] = dict(zip(("score", "author", "note"), t.label, strict=True)) if t.label else None
    return d


def to_html(data: SessionData, human: bool = False) -> str:
    """The self-contained HTML report (html_report/): summary, heat table, charts, answer matrix."""
    from scsafety_tui.html_report import render_report  # it builds on this module's SessionData

    # its tables past round 2 are data.rounds': human-adjusted ones when its headline is
    return render_report(replace(data, rounds=data.human_rounds) if human else data, human)

def render(data: SessionData, fmt: str, human: bool = False, *, excel: bool = False) -> str:
    if fmt == "md":
        return to_markdown(data, human)
    if fmt == "csv":
        return to_csv(data, excel=excel)
    if fmt == "json":
        return to_json(data)
    if fmt == "jsonl":
        return to_jsonl(data)
    if fmt == "html":
        return to_html(data, human)
    raise InputError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")


async def export_to(store: Store, ref: str, fmt: str, output: str | None, *, human: bool = False,
                    excel: bool = False, vset: str = "") -> str:
    """Render a session (scores from verdict set vset); write it to output (or return it for stdout).
    Returns the text."""
    sid = await queries.resolve_session(store, ref)
    text = render(await load_session(store, sid, vset), fmt, human, excel=excel)
    if output:
        write_atomic(Path(output), text)
    return text


def export_session(db: str, ref: str, fmt: str, output: str | None, *, human: bool = False,
                   excel: bool = False, vset: str = "") -> int:
    """The CLI's export: open the database, render, write or print."""

    async def main() -> str:
        store = await Store.open(db, readonly=True)
        try:
            sid = await queries.resolve_session(store, ref)
            if damaged := await queries.damaged_answers(store, sid):
                print(f"scsafety-tui: warning: {queries.damaged_notice(sid, len(damaged), db)}", file=sys.stderr)
            return await export_to(store, str(sid), fmt, output, human=human, excel=excel, vset=vset)
        finally:
            await store.close()

    text = asyncio.run(main())
    if output:
        print(f"wrote {output}")
    else:
        # A terminal never receives a session's escape sequences: on stdout they are shown (ESC → ␛), in
        # every format (JSON escapes them itself). A file written with -o keeps the exact text.
        bom = EXCEL_BOM if excel and text.startswith(EXCEL_BOM) else ""  # asked for: written as it is
        text = text if fmt in ("json", "jsonl") else bom + visible(text[len(bom):])
        print(text, end="" if text.endswith("\n") else "\n")
    return 0
