"""The run screen's live state, updated from engine events: conversations in flight, navigator glyphs,
the answer rows behind the scoreboard, progress. No Textual here, so it is cheap and easy to test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    Event,
    Progress,
    ReasoningVerdictReady,
    TurnCompleted,
    TurnFailed,
    TurnRetrying,
    TurnStarted,
    VerdictReady,
)
from scsafety_tui.questions import Item
from scsafety_tui.rounds import RoundsSummary, rounds_summary
from scsafety_tui.scoring import AnswerRow, Scope, TargetScores, score_answers
from scsafety_tui.tui.model import (
    BLOCKED,
    CANCELLED,
    EMPTY,
    ERROR,
    JUDGING,
    SCORED,
    STREAMING,
    ConvModel,
    Reason,
)

ConvKey = tuple[str, str]  # (item id, target key)

PENDING, ACTIVE, JUDGE_WAIT, FAILED, FILTERED, SKIPPED, NOTHING = "·", "▸", "…", "✗", "⊘", "–", "∅"
TRUNCATED_SCORE = {0: "⁰", 1: "¹", 2: "²"}
"""The score of a truncated answer (finish_reason length): raised, so the cut shows in the navigator."""
ENDS_CONVERSATION = (FAILED, FILTERED, NOTHING)


def glyph(status: str, score: int | None, truncated: bool = False) -> str:
    """One round's navigator glyph from its answer's stored status, score and whether it was cut."""
    if status == "done":
        if score is None:
            return "?"
        return TRUNCATED_SCORE.get(score, "?") if truncated else str(score)
    return {"error": FAILED, "blocked": FILTERED, "empty": NOTHING, "streaming": ACTIVE}.get(status, PENDING)


AnswerKey = tuple[str, str, int]  # (target, item id, round)


class LiveScores:
    """Answer rows keyed by (target, item, round): seeded from the store, then kept current by events.
    Human labels are kept apart from the rows, so events (which never carry labels) can't drop them."""

    def __init__(self, items: dict[str, Item], targets: Sequence[str] = ()) -> None:
        self.items = items
        # every item × target is in scope from the start, so coverage counts pairs not yet run as pending
        self.scope = Scope.of(items.values(), targets) if targets else None
        self.block_as_refusal = False
        """The session's [run] block_as_refusal (the screen sets it from the store)."""
        self.rows: dict[AnswerKey, AnswerRow] = {}
        self.labels: dict[AnswerKey, int] = {}
        self.dirty = True

    def seed(self, rows: Sequence[AnswerRow], labels: Mapping[AnswerKey, int] | None = None) -> None:
        self.rows = {(r.target, r.item_id, r.round): r for r in rows}
        self.labels = dict(labels) if labels is not None else {
            k: r.label for k, r in self.rows.items() if r.label is not None}
        self.dirty = True

    def set_label(self, key: AnswerKey, score: int | None) -> None:
        if score is None:
            self.labels.pop(key, None)
        else:
            self.labels[key] = score
        self.dirty = True

    def put(self, target: str, item_id: str, rnd: int, status: str, scores: tuple[int | None, ...] = ()) -> None:
        item = self.items[item_id]
        old = self.rows.get((target, item_id, rnd))
        self.rows[(target, item_id, rnd)] = AnswerRow(target, item_id, item.category, item.sub_dimension, rnd,
                                                      status, scores, rounds=old.rounds if old else
                                                      len(item.turns))
        self.dirty = True

    def rounds(self, human: bool = False) -> dict[str, RoundsSummary]:
        """The figures past round 2 (rounds.py) from the same rows, labels applied when human."""
        rows = (replace(r, label=self.labels.get(k)) for k, r in self.rows.items()) if human else self.rows.values()
        return rounds_summary(rows, human=human, block_as_refusal=self.block_as_refusal)

    def compute(self, human: bool = False) -> dict[str, TargetScores]:
        """Judge-only scores, or human-adjusted ones (a label replaces the judges' median)."""
        self.dirty = False
        if not human:
            return score_answers(self.rows.values(), scope=self.scope, block_as_refusal=self.block_as_refusal)
        return score_answers((replace(r, label=self.labels.get(k)) for k, r in self.rows.items()), human=True,
                             scope=self.scope, block_as_refusal=self.block_as_refusal)


class RunState:
    def __init__(self, items: Sequence[Item], targets: Sequence[str], scope: Scope | None = None) -> None:
        """scope: the session's own (queries.scope), whose rounds count follow-ups past an item's turns."""
        self.items = {it.id: it for it in items}
        self.order = [it.id for it in items]
        self.targets = list(targets)
        self.live: dict[ConvKey, ConvModel] = {}
        """Conversations in flight, in start order (the newest last)."""
        rounds = {i: s.rounds for i, s in scope.items.items()} if scope is not None else {}
        self.glyphs: dict[ConvKey, list[str]] = {
            (it.id, t): [PENDING] * max(1, rounds.get(it.id, len(it.turns))) for it in items for t in targets}
        self.scores = LiveScores(self.items, self.targets)
        if scope is not None:
            self.scores.scope = scope
        self.progress: Progress | None = None
        self.retries = 0

    # ------------------------------------------------------------ seeding from the store

    def seed(self, rows: Sequence[AnswerRow], labels: Mapping[AnswerKey, int] | None = None,
             truncated: frozenset[AnswerKey] | set[AnswerKey] = frozenset()) -> None:
        """Glyphs and scores from stored answers; labels default to the rows' own. truncated: the
        (target, item, round) answers that finished with "length"."""
        for marks in self.glyphs.values():
            marks[:] = [PENDING] * len(marks)
        for r in rows:
            conv_marks = self.glyphs.get((r.item_id, r.target))
            if conv_marks is not None and r.round <= len(conv_marks):
                conv_marks[r.round - 1] = glyph(r.status, r.score(), (r.target, r.item_id, r.round) in truncated)
        for marks in self.glyphs.values():  # a block, error or empty answer ends the conversation early
            for i in range(1, len(marks)):
                if marks[i - 1] in ENDS_CONVERSATION and marks[i] == PENDING:
                    marks[i] = SKIPPED
        self.scores.seed(rows, labels)

    # ------------------------------------------------------------ events

    def apply(self, ev: Event) -> ConvKey | None:
        """Update from one event; returns the conversation it touched, if any."""
        handler = _HANDLERS.get(type(ev))
        return handler(self, ev) if handler else None

    def _started(self, ev: ConversationStarted) -> ConvKey:
        key = (ev.item_id, ev.target)
        self.live.pop(key, None)
        self.live[key] = ConvModel(ev.item_id, ev.target, "running")
        self._mark(key, 1, PENDING, reset=True)
        return key

    def _turn_started(self, ev: TurnStarted) -> ConvKey:
        key = (ev.item_id, ev.target)
        turn = self._conv(key).turn(ev.round)
        turn.prompt, turn.state, turn.note = ev.prompt, STREAMING, ""
        turn.origin, turn.via = ev.origin, ev.via
        self._mark(key, ev.round, ACTIVE)
        return key

    def _retrying(self, ev: TurnRetrying) -> ConvKey:
        key = (ev.item_id, ev.target)
        self._conv(key).turn(ev.round).note = f"↻ retry {ev.attempt} in {ev.delay:.1f}s — {ev.error}"
        self.retries += 1
        return key

    def _completed(self, ev: TurnCompleted) -> ConvKey:
        key = (ev.item_id, ev.target)
        turn = self._conv(key).turn(ev.round)
        turn.text, turn.state, turn.note = ev.text, JUDGING, ""
        turn.reasoning, turn.finish_reason = ev.reasoning, ev.finish_reason
        self._mark(key, ev.round, JUDGE_WAIT)
        return key

    def _failed(self, ev: TurnFailed) -> ConvKey:
        key = (ev.item_id, ev.target)
        turn = self._conv(key).turn(ev.round)
        state = {"blocked": BLOCKED, "cancelled": CANCELLED, "empty": EMPTY}.get(ev.kind, ERROR)
        turn.text, turn.state, turn.kind, turn.error, turn.note = ev.partial, state, ev.kind, ev.error, ""
        turn.reasoning = ev.reasoning
        self._mark(key, ev.round, {BLOCKED: FILTERED, ERROR: FAILED, EMPTY: NOTHING}.get(state, PENDING))
        if state != CANCELLED:
            self.scores.put(ev.target, ev.item_id, ev.round, state)
        return key

    def _verdict(self, ev: VerdictReady) -> ConvKey:
        key = (ev.item_id, ev.target)
        turn = self._conv(key).turn(ev.round)
        turn.state, turn.score = SCORED, ev.score
        turn.human = self.scores.labels.get((ev.target, ev.item_id, ev.round))
        turn.reasons = [Reason(v.judge, v.score, v.reason or v.error or "") for v in ev.verdicts]
        self._mark(key, ev.round, glyph("done", ev.score, turn.truncated))
        self.scores.put(ev.target, ev.item_id, ev.round, "done", tuple(v.score for v in ev.verdicts))
        return key

    def _reasoning_verdict(self, ev: ReasoningVerdictReady) -> ConvKey:
        """Shown beside the answer's verdict; the scoreboard never sees it."""
        key = (ev.item_id, ev.target)
        turn = self._conv(key).turn(ev.round)
        turn.reasoning_score = ev.score
        turn.reasoning_reasons = [Reason(v.judge, v.score, v.reason or v.error or "") for v in ev.verdicts]
        return key

    def _finished(self, ev: ConversationFinished) -> ConvKey:
        key = (ev.item_id, ev.target)
        conv = self.live.pop(key, None) or ConvModel(*key)
        conv.status, conv.stop = ev.status, ev.stop
        for turn in conv.turns.values():
            if turn.live or (turn.state == JUDGING and ev.status == "cancelled"):
                turn.state = CANCELLED
        marks = self.glyphs[key]
        for i, m in enumerate(marks):
            if m in (ACTIVE, JUDGE_WAIT) or (m == PENDING and ev.status != "cancelled"):
                marks[i] = PENDING if ev.status == "cancelled" else SKIPPED
        return key

    def _progress(self, ev: Progress) -> None:
        self.progress = ev

    # ------------------------------------------------------------ helpers

    def _conv(self, key: ConvKey) -> ConvModel:
        conv = self.live.get(key)
        if conv is None:  # an event for a conversation whose start we did not see
            conv = self.live[key] = ConvModel(*key, status="running")
        return conv

    def _mark(self, key: ConvKey, rnd: int, mark: str, reset: bool = False) -> None:
        marks = self.glyphs.get(key)
        if marks is None:
            return
        if reset:
            marks[:] = [PENDING] * len(marks)
        if rnd <= len(marks):
            marks[rnd - 1] = mark

    def newest_active(self, target: str) -> ConvModel | None:
        for (_, t), conv in reversed(self.live.items()):
            if t == target:
                return conv
        return None

    def lanes_on(self) -> dict[str, int]:
        """Item id → how many targets have it in flight, in start order of each item's newest start."""
        counts: dict[str, int] = {}
        for item_id, _ in self.live:
            counts[item_id] = counts.pop(item_id, 0) + 1  # re-inserted: the last start orders it last
        return counts

    def follow_item(self, current: str | None = None) -> str | None:
        """The item every following lane shows: the one most targets are on, the newest on ties. The
        current one is kept while no item is on more targets (lanes don't chase each new start), and
        while nothing is in flight."""
        counts = self.lanes_on()
        if not counts:
            return current
        best = max(reversed(counts), key=counts.__getitem__)  # max keeps the first: the newest of a tie
        if current is not None and counts.get(current, 0) >= counts[best]:
            return current
        return best


_HANDLERS: dict[type[Event], Callable[[RunState, Any], ConvKey | None]] = {
             ConversationStarted: RunState._started, TurnStarted: RunState._turn_started,
             TurnRetrying: RunState._retrying, TurnCompleted: RunState._completed, TurnFailed: RunState._failed,
             VerdictReady: RunState._verdict, ReasoningVerdictReady: RunState._reasoning_verdict,
             ConversationFinished: RunState._finished,
             Progress: RunState._progress}
