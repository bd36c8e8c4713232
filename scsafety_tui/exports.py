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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scsafety_tui import report
from scsafety_tui.atomic import write_atomic
from scsafety_tui.errors import InputError
from scsafety_tui.scoring import TargetScores, median_score, score_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import Taxonomy, parse_taxonomy

FORMATS = ("md", "csv", "json", "html")


@dataclass
class SessionData:
    session: dict[str, Any]
    taxonomy: Taxonomy
    targets: list[str]
    items: list[Any]
    transcripts: list[queries.Transcript]
    scores: dict[str, TargetScores]
    human_scores: dict[str, TargetScores]


async def load_session(store: Store, sid: int) -> SessionData:
    row = await queries.session_row(store, sid)
    session = {k: row[k] for k in row.keys()}  # noqa: SIM118 - iterating a Row yields values
    session["config"] = json.loads(session["config"])
    taxonomy = parse_taxonomy(json.loads(session.pop("taxonomy")), f"session {sid}")
    targets = [r["key"] for r in await queries.targets(store, sid)]
    convs = await queries.conversation_ids(store, sid)
    turns = await queries.turns_of(store, [c for c, _, _ in convs])
    rows = await store.fetchall("SELECT id, status, error, started_at, finished_at FROM conversation"
                                " WHERE session_id = ?", (sid,))
    meta = {r[0]: r for r in rows}
    transcripts = [queries.Transcript(cid, item, target, meta[cid][1], meta[cid][2], meta[cid][3],
                                      meta[cid][4], turns.get(cid, [])) for cid, item, target in convs]
    answers = await queries.answer_rows(store, sid)
    return SessionData(session, taxonomy, targets, await queries.items(store, sid), transcripts,
                       score_answers(answers), score_answers(answers, human=True))


def _tables(data: SessionData, human: bool) -> list[report.TableData]:
    return report.all_tables(data.human_scores if human else data.scores, data.taxonomy, data.targets)


def _turn_score(turn: queries.TurnRow) -> int | None:
    return median_score(v.score for v in turn.verdicts)


def to_markdown(data: SessionData, human: bool = False) -> str:
    s = data.session
    out = [f"# {s['name']}", "", f"Session {s['id']} · {s['kind']} · {s['status']} · "
           f"targets: {', '.join(data.targets)} · {len(data.items)} items", ""]
    if human:
        out += ["Scores are human-adjusted: a human label replaces the judges' median.", ""]
    out += [report.markdown_table(t) for t in _tables(data, human)]
    out += ["## Conversations", ""]
    for tr in data.transcripts:
        out += [f"### {tr.item_id} · {tr.target} ({tr.status})", ""]
        for turn in tr.turns:
            who = "User" if turn.role == "user" else "Model"
            out += [f"**{who}, round {turn.round}**" + (f" [{turn.status}]" if turn.status != "done" else ""),
                    "", _fence(turn.content or turn.error or ""), ""]
            for v in turn.verdicts:
                label = f"score {v.score}" if v.score is not None else f"judge error: {v.error}"
                tag = " (heuristic)" if v.heuristic else ""
                out += [f"- judge `{v.judge}`{tag}: {label} — {v.reason}"]
            if turn.label:
                out += [f"- human: score {turn.label[0]}" + (f" — {turn.label[2]}" if turn.label[2] else "")]
            if turn.verdicts or turn.label:
                out.append("")
    return "\n".join(out)


def _fence(text: str) -> str:
    """Model text verbatim in a fence longer than any backtick run inside it."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


CSV_FIELDS = ("session", "item_id", "category", "sub_dimension", "target", "round", "question", "answer",
              "status", "error", "score", "judge_scores", "judge_reasons", "human_score", "human_note",
              "tokens_in", "tokens_out", "latency_s")


def to_csv(data: SessionData) -> str:
    items = {it.id: it for it in data.items}
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for tr in data.transcripts:
        questions = {t.round: t.content for t in tr.turns if t.role == "user"}
        for t in (t for t in tr.turns if t.role == "assistant"):
            it = items[tr.item_id]
            latency = (t.finished_at - t.started_at) if t.finished_at and t.started_at else None
            w.writerow({"session": data.session["id"], "item_id": tr.item_id, "category": it.category,
                        "sub_dimension": it.sub_dimension, "target": tr.target, "round": t.round,
                        "question": questions.get(t.round, ""), "answer": t.content, "status": t.status,
                        "error": t.error or "", "score": _opt(_turn_score(t)),
                        "judge_scores": ";".join(f"{v.judge}={_opt(v.score)}" for v in t.verdicts),
                        "judge_reasons": " | ".join(v.reason or (v.error or "") for v in t.verdicts),
                        "human_score": _opt(t.label[0] if t.label else None),
                        "human_note": t.label[2] if t.label else "", "tokens_in": _opt(t.tokens_in),
                        "tokens_out": _opt(t.tokens_out),
                        "latency_s": "" if latency is None else f"{latency:.3f}"})
    return buf.getvalue()


def _opt(v: Any) -> str:
    return "" if v is None else str(v)


def _scores_json(scores: dict[str, TargetScores]) -> dict[str, Any]:
    def cell(c: Any) -> dict[str, Any]:
        ci = c.interval()
        return {"score": c.score, "scored": c.scored, "unsafe": c.unsafe, "blocked": c.blocked,
                "errors": c.errors, "ci95": list(ci) if ci else None}

    return {k: {"total": cell(ts.total), "delta": ts.delta,
                "rounds": {str(r): cell(c) for r, c in sorted(ts.rounds.items())},
                "categories": {k2: cell(c) for k2, c in ts.categories.items()},
                "sub_dimensions": {k2: cell(c) for k2, c in ts.sub_dimensions.items()}}
            for k, ts in scores.items()}


def to_json(data: SessionData) -> str:
    doc = {"session": data.session, "targets": data.targets,
           "taxonomy": data.taxonomy.to_dict(), "items": [it.to_dict() for it in data.items],
           "scores": {"judge": _scores_json(data.scores), "human_adjusted": _scores_json(data.human_scores)},
           "conversations": [{"item_id": tr.item_id, "target": tr.target, "status": tr.status,
                              "error": tr.error, "turns": [_turn_json(t) for t in tr.turns]}
                             for tr in data.transcripts]}
    return json.dumps(doc, ensure_ascii=False, indent=1)


def _turn_json(t: queries.TurnRow) -> dict[str, Any]:
    d = {k: v for k, v in asdict(t).items() if k not in ("timeline", "verdicts", "label", "id")}
    d["verdicts"] = [asdict(v) for v in t.verdicts]
    d["label"] = dict(zip(("score", "author", "note"), t.label, strict=True)) if t.label else None
    return d


def to_html(data: SessionData, human: bool = False) -> str:
    e = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>{e(data.session['name'])}</title>",
             "<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}td:first-child{text-align:left}"
             "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}</style>",
             f"<h1>{e(data.session['name'])}</h1>",
             f"<p>Session {data.session['id']} · {e(data.session['status'])} · targets: "
             f"{e(', '.join(data.targets))}</p>"]
    for t in _tables(data, human):
        parts.append(f"<h3>{e(t.title)}</h3><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in t.header)
                     + "</tr>" + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                                         for row in t.rows) + "</table>")
    parts.append("<h2>Conversations</h2>")
    for tr in data.transcripts:
        parts.append(f"<h3>{e(tr.item_id)} · {e(tr.target)} ({e(tr.status)})</h3>")
        for turn in tr.turns:
            who = "User" if turn.role == "user" else "Model"
            parts.append(f"<p><b>{who}, round {turn.round}</b> {e(turn.status)}</p>"
                         f"<pre>{e(turn.content or turn.error or '')}</pre>")
            for v in turn.verdicts:
                parts.append(f"<p>judge {e(v.judge)}{' (heuristic)' if v.heuristic else ''}: "
                             f"{e(str(v.score) if v.score is not None else 'error: ' + str(v.error))} — "
                             f"{e(v.reason)}</p>")
            if turn.label:
                parts.append(f"<p>human: {turn.label[0]} — {e(turn.label[2])}</p>")
    return "\n".join(parts)


def render(data: SessionData, fmt: str, human: bool = False) -> str:
    if fmt == "md":
        return to_markdown(data, human)
    if fmt == "csv":
        return to_csv(data)
    if fmt == "json":
        return to_json(data)
    if fmt == "html":
        return to_html(data, human)
    raise InputError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")


async def export_to(store: Store, ref: str, fmt: str, output: str | None, *, human: bool = False) -> str:
    """Render a session; write it to output (or return it for stdout). Returns the text."""
    sid = await queries.resolve_session(store, ref)
    text = render(await load_session(store, sid), fmt, human)
    if output:
        write_atomic(Path(output), text)
    return text


def export_session(db: str, ref: str, fmt: str, output: str | None, *, human: bool = False) -> int:
    """The CLI's export: open the database, render, write or print."""

    async def main() -> str:
        store = await Store.open(db)
        try:
            return await export_to(store, ref, fmt, output, human=human)
        finally:
            await store.close()

    text = asyncio.run(main())
    if output:
        print(f"wrote {output}")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0
