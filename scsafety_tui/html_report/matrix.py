"""The report's answer matrix: one row per item, per target each round's answer beside its verdict.

A row carries what the page's filters test (data-cat, data-sub, data-unsafe, data-flip, data-disagree),
computed here with scoring's own rules (AnswerRow.score), so "unsafe only" shows exactly the answers the
scores count as 0. Every answer's state is said in words: a block, an error, an empty or truncated answer,
a judge that failed, a round never asked; never a bare "done".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from scsafety_tui.judge import judges_disagree
from scsafety_tui.questions import Item
from scsafety_tui.scoring import AnswerRow, median_score
from scsafety_tui.store.queries import Transcript, TurnRow, VerdictRow, set_label
from scsafety_tui.taxonomy import Taxonomy
from scsafety_tui.textsafe import visible

TRUNCATED_NOTE = "truncated: finish_reason length"  # the words every export uses (exports.TRUNCATED_NOTE)
REASONING_NOTE = "Reasoning (kept apart: not part of the answer, not judged as it)"
PREVIEW = 2000
"""Characters of an answer shown before "more"; the rest is one click away, never dropped."""


def text(s: str | None) -> str:
    """Untrusted text for the page: control, bidi and zero-width characters made visible, then escaped."""
    return escape(visible(s or ""))


@dataclass(frozen=True)
class Answer:
    """One assistant turn as the matrix shows it, with the score the report's mode counts."""

    turn: TurnRow
    score: int | None
    judge: int | None

    @property
    def truncated(self) -> bool:
        """Cut by max_tokens: the rule of every export (an empty answer whose reasoning used them up too)."""
        return self.turn.finish_reason == "length"

    @property
    def disagree(self) -> bool:
        """A human label that differs from the judges' median."""
        return self.turn.label is not None and self.judge is not None and self.turn.label[0] != self.judge


def answers_of(tr: Transcript, item: Item, *, human: bool, block_as_refusal: bool) -> dict[int, Answer]:
    out = {}
    for t in tr.turns:
        if t.role != "assistant":
            continue
        judge = median_score(v.score for v in t.verdicts)
        row = AnswerRow(tr.target, item.id, item.category, item.sub_dimension, t.round, t.status,
                        tuple(v.score for v in t.verdicts), t.label[0] if t.label else None)
        out[t.round] = Answer(t, row.score(human, block_as_refusal), judge)
    return out


def _flip(a: dict[int, Answer]) -> bool:
    """Safe in round 1 and unsafe in round 2, or the other way round (the follow-up changed the verdict)."""
    s1, s2 = (a[r].score if r in a else None for r in (1, 2))
    return s1 is not None and s2 is not None and (s1 == 0) != (s2 == 0)


def _badge(score: int | None, cls: str, label: str) -> str:
    return f'<span class="badge {cls}{"" if score is None else f" s{score}"}">{escape(label)}</span>'


def _state(a: Answer) -> str:
    """The answer's state in words, when it is anything but a finished, judged answer."""
    cut = f'<p class="state trunc">✂ [{TRUNCATED_NOTE}]</p>' if a.truncated else ""
    return _status(a) + cut


def _status(a: Answer) -> str:
    t = a.turn
    if t.status == "blocked":
        why = f" (finish_reason {t.finish_reason})" if t.finish_reason else ""
        return f'<p class="state blocked">⊘ blocked by the provider{text(why)}: partial text kept</p>'
    if t.status == "error":
        return f'<p class="state error">✗ error: {text(t.error or t.error_kind or "")}</p>'
    if t.status == "empty":
        return f'<p class="state empty">∅ {text(t.error or "empty answer")}: not scored</p>'
    if t.status in ("cancelled", "streaming"):
        return f'<p class="state pending">{escape(t.status)}: never finished</p>'
    if t.verdicts and a.judge is None:
        errors = "; ".join(v.error or "" for v in t.verdicts if v.error)
        return f'<p class="state error">? judge failed: {text(errors)}</p>'
    if not t.verdicts:
        return '<p class="state pending">not judged yet</p>'
    return ""


def _raw(v: VerdictRow) -> str:
    """A guard's own words, and what a failed judge said instead of a verdict: folded, never dropped."""
    if not v.raw or (v.score is not None and v.kind in ("rubric", "heuristic")):
        return ""
    return f'<details class="raw"><summary>raw output</summary><pre>{text(v.raw)}</pre></details>'


def _verdicts(t: TurnRow) -> str:
    out = []
    for v in t.verdicts:
        score = "error" if v.score is None else str(v.score)
        tag = " (heuristic)" if v.heuristic else f" ({text(v.kind)})" if v.kind not in ("rubric", "heuristic") else ""
        out.append(f"<li>judge {text(v.judge)}{tag}: {text(score)} — {text(v.reason or v.error or '')}"
                   f"{_raw(v)}</li>")
    if judges_disagree(v.score for v in t.verdicts):
        out.append("<li>judges disagree: the score is their median</li>")
    for v in t.other_verdicts:
        score = "error" if v.score is None else str(v.score)
        out.append(f"<li>verdict set {text(set_label(v.vset))}, judge {text(v.judge)}: {text(score)} — "
                   f"{text(v.reason or v.error or '')}</li>")
    for v in t.reasoning_verdicts:
        score = "error" if v.score is None else str(v.score)
        out.append(f"<li>judge {text(v.judge)} on the reasoning (not counted in the score): {text(score)} — "
                   f"{text(v.reason or v.error or '')}</li>")
    return f'<ul class="verdicts">{"".join(out)}</ul>' if out else ""


def _body(content: str) -> str:
    if len(content) <= PREVIEW:
        return f'<div class="ans">{text(content)}</div>'
    return (f'<div class="ans">{text(content[:PREVIEW])}<details class="more"><summary>more '
            f'({len(content) - PREVIEW} characters)</summary>{text(content[PREVIEW:])}</details></div>')


def answer_cell(a: Answer | None, why_missing: str, question: str | None) -> str:
    if a is None:
        return f'<td class="a none"><p class="state pending">– {escape(why_missing)}</p></td>'
    t = a.turn
    classes = ["a", t.status] + [c for c, on in (("unsafe", a.score == 0), ("trunc", a.truncated),
                                                  ("disagree", a.disagree)) if on]
    head = [_badge(a.score, "score", "–" if a.score is None else str(a.score))]
    if t.label:
        head.append(_badge(t.label[0], "human", f"human {t.label[0]}"))
    parts = [f'<div class="head">{"".join(head)}</div>', _state(a)]
    if question:
        parts.append(f'<details class="q"><summary>asked (not the bank\'s text)</summary>{text(question)}</details>')
    if t.reasoning:
        parts.append(f"<details><summary>{REASONING_NOTE}</summary><pre>{text(t.reasoning)}</pre></details>")
    if t.content:
        parts.append(_body(t.content))
    parts.append(_verdicts(t))
    if t.label and t.label[2]:
        parts.append(f'<p class="note">human note ({text(t.label[1])}): {text(t.label[2])}</p>')
    return f'<td class="{" ".join(classes)}">{"".join(parts)}</td>'


def _why_missing(answers: dict[int, Answer], r: int, bank: str | None) -> str:
    prev = answers.get(r - 1)
    if prev is not None and prev.turn.status in ("error", "blocked", "empty"):
        return f"round {r} never asked: round {r - 1} ended the conversation"
    if bank is None and r > 1 and prev is not None:
        return "no follow-up in the bank"
    return "not asked"


def _item_cell(item: Item, taxonomy: Taxonomy) -> str:
    sub = taxonomy.sub_dimension(item.sub_dimension)
    cat = taxonomy.category(item.category)
    rounds = "".join(f'<p class="turn"><b>R{r}</b> {text(q)}</p>' for r, q in enumerate(item.turns, 1))
    return (f'<th class="item" scope="row"><p class="id">{text(item.id)}</p><p class="where">'
            f'{text(cat.name_zh if cat else item.category)} · {text(sub.name_zh if sub else item.sub_dimension)}'
            f"</p>{rounds}</th>")


def matrix_rows(items: Sequence[Item], transcripts: Sequence[Transcript], order: Sequence[str],
                taxonomy: Taxonomy, rounds: int, *, human: bool, block_as_refusal: bool) -> list[str]:
    """The matrix's <tr>s, items in bank order, targets in session order, rounds 1..rounds each."""
    by_pair = {(tr.item_id, tr.target): tr for tr in transcripts}
    out = []
    for item in items:
        cells, unsafe, flip, disagree = [], False, False, False
        for key in order:
            tr = by_pair.get((item.id, key))
            answers = answers_of(tr, item, human=human, block_as_refusal=block_as_refusal) if tr else {}
            asked = {t.round: t.content for t in tr.turns if t.role == "user"} if tr else {}
            unsafe |= any(a.score == 0 for a in answers.values())
            disagree |= any(a.disagree for a in answers.values())
            flip |= _flip(answers)
            for r in range(1, rounds + 1):
                bank = item.turns[r - 1] if r <= len(item.turns) else None
                q = asked.get(r)
                cells.append(answer_cell(answers.get(r), _why_missing(answers, r, bank),
                                         q if q is not None and q != bank else None))
        flags = "".join(f' data-{name}="1"' for name, on in (("unsafe", unsafe), ("flip", flip),
                                                             ("disagree", disagree)) if on)
        out.append(f'<tr data-cat="{escape(item.category)}" data-sub="{escape(item.sub_dimension)}"{flags}>'
                   f"{_item_cell(item, taxonomy)}{''.join(cells)}</tr>")
    return out
