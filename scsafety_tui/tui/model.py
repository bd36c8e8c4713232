"""What a lane shows: one conversation's turns, built from live events or from a stored transcript.

Plain data, no Textual. The text of a turn that is still streaming lives in the EventBridge buffers, not
here; `text` holds the final answer (or the partial one kept with an error).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scsafety_tui.follow_ups import stop_text
from scsafety_tui.scoring import median_score
from scsafety_tui.store.queries import Transcript, TurnRow

# Turn states, in the order a turn moves through them.
WAITING, STREAMING, JUDGING, SCORED = "waiting", "streaming", "judging", "scored"
ERROR, BLOCKED, CANCELLED, EMPTY = "error", "blocked", "cancelled", "empty"
TRUNCATED = "length"
"""The finish reason of an answer cut by max_tokens: judged, and flagged wherever it is shown."""


@dataclass
class Reason:
    judge: str
    score: int | None
    text: str


@dataclass
class TurnModel:
    round: int
    prompt: str = ""
    origin: str = "bank"
    via: str = ""
    """The template id or attacker strategy the prompt came from ('' for the bank's own turns)."""
    text: str = ""
    state: str = WAITING
    error: str = ""
    kind: str = ""
    note: str = ""
    """A transient note, e.g. the retry in progress."""
    score: int | None = None
    reasons: list[Reason] = field(default_factory=list)
    human: int | None = None
    """A human label's score, shown beside the judges' verdict."""
    human_note: str = ""
    """The human label's note, shown with it."""
    reasoning: str = ""
    """The model's reasoning, kept apart from its answer (shown dimmed, on request)."""
    finish_reason: str | None = None
    reasoning_score: int | None = None
    """The judges' score of the reasoning text ([judge] score_reasoning), never the answer's."""
    reasoning_reasons: list[Reason] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.state in (WAITING, STREAMING)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == TRUNCATED


@dataclass
class ConvModel:
    item_id: str
    target: str
    status: str = "pending"  # pending | running | done | error | cancelled
    turns: dict[int, TurnModel] = field(default_factory=dict)
    error: str = ""
    stop: str = ""
    """Why an attacker's follow-ups stopped (the ConversationFinished event's text); '' for none."""

    def turn(self, rnd: int) -> TurnModel:
        t = self.turns.get(rnd)
        if t is None:
            t = self.turns[rnd] = TurnModel(rnd)
        return t

    @property
    def running(self) -> bool:
        return self.status == "running"


def from_transcript(tr: Transcript | None, item_id: str, target: str) -> ConvModel:
    """A finished (or pending) conversation as the store holds it."""
    if tr is None:
        return ConvModel(item_id, target)
    conv = ConvModel(item_id, target, tr.status, error=tr.error or "",
                     stop=stop_text(tr.stop_reason, tr.follow_up) if tr.stop_reason else "")
    for row in tr.turns:
        turn = conv.turn(row.round)
        if row.role == "user":
            turn.prompt, turn.origin = row.content, row.origin
            turn.via = tr.follow_up.via(row.origin, row.round) if tr.follow_up else ""
        else:
            _answer(turn, row)
    return conv


def _answer(turn: TurnModel, row: TurnRow) -> None:
    turn.text = row.content
    turn.reasoning, turn.finish_reason = row.reasoning, row.finish_reason
    turn.kind, turn.error = row.error_kind or "", row.error or ""
    turn.human = row.label[0] if row.label else None
    turn.human_note = row.label[2] if row.label else ""
    if row.reasoning_verdicts:
        turn.reasoning_reasons = [Reason(v.judge, v.score, v.reason or v.error or "")
                                  for v in row.reasoning_verdicts]
        turn.reasoning_score = median_score(v.score for v in row.reasoning_verdicts)
    if row.status == "done":
        turn.reasons = [Reason(v.judge, v.score, v.reason or v.error or "") for v in row.verdicts]
        turn.score = median_score(v.score for v in row.verdicts)
        turn.state = SCORED if row.verdicts else JUDGING
    elif row.status in (ERROR, BLOCKED, CANCELLED, EMPTY):
        turn.state = row.status
    else:  # a partial answer left by a crash
        turn.state = CANCELLED
