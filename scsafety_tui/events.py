"""The plain events the engine emits, and the store re-emits on replay.

Every event carries ``t``: seconds since the session's run started (live) or since replay began; it is
left out of equality so a replayed stream compares equal to the live one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TargetInfo:
    key: str
    provider: str
    model: str
    base_url: str


@dataclass(frozen=True, slots=True)
class ItemInfo:
    id: str
    category: str
    sub_dimension: str
    turns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge's verdict on one answer; score None means the judge failed (see error)."""

    judge: str
    score: int | None
    reason: str
    error: str | None = None
    heuristic: bool = False
    kind: str = "rubric"
    """'rubric' (the 0/1/2 prompt), 'heuristic', or a guard model's format (see judge kinds)."""
    category: str = ""
    """A guard model's harm category, as it named it."""
    prompt_hash: str = ""
    """Hash of the judge prompt template that produced this verdict ('' for the heuristic)."""


@dataclass(frozen=True, slots=True)
class SessionStarted:
    session_id: int
    name: str
    targets: tuple[TargetInfo, ...]
    items: tuple[ItemInfo, ...]
    judges: tuple[str, ...]
    resumed: bool = False
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class ConversationStarted:
    item_id: str
    target: str
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class TurnStarted:
    item_id: str
    target: str
    round: int
    prompt: str
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class TokenDelta:
    """High rate: a UI buffers these and flushes at a fixed rate."""

    item_id: str
    target: str
    round: int
    text: str
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text as it streams (reasoning_content, thinking, inline <think>): never the answer.
    A UI shows it apart (dimmed, collapsed); consumers that only want the answer ignore it."""

    item_id: str
    target: str
    round: int
    text: str
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class TurnRetrying:
    """The turn's answer restarts from the beginning: clear any partial text shown."""

    item_id: str
    target: str
    round: int
    attempt: int
    error: str
    delay: float
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class TurnCompleted:
    item_id: str
    target: str
    round: int
    text: str
    finish_reason: str | None
    """"length" marks a truncated answer: judged, and flagged wherever it is shown."""
    tokens_in: int | None
    tokens_out: int | None
    reasoning: str = ""
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class TurnFailed:
    """kind: rate_limited | transient | auth | bad_request | blocked | malformed | cancelled | error |
    empty (an answer with no content: never scored, the conversation ends as an error)."""

    item_id: str
    target: str
    round: int
    kind: str
    error: str
    partial: str = ""
    reasoning: str = ""
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class VerdictReady:
    """Emitted only once the verdicts are stored. score: the median of the judges that answered."""

    item_id: str
    target: str
    round: int
    score: int | None
    verdicts: tuple[Verdict, ...]
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class ReasoningVerdictReady:
    """Verdicts on an answer's reasoning text ([judge] score_reasoning): shown beside the answer's
    verdict, never mixed into its score."""

    item_id: str
    target: str
    round: int
    score: int | None
    verdicts: tuple[Verdict, ...]
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class ConversationFinished:
    """status: done | error | cancelled."""

    item_id: str
    target: str
    status: str
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    tokens: int
    retries: int
    errors: int
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """status: done | interrupted | cancelled."""

    session_id: int
    status: str
    t: float = field(default=0.0, compare=False)


Event = (SessionStarted | ConversationStarted | TurnStarted | TokenDelta | ReasoningDelta | TurnRetrying
         | TurnCompleted | TurnFailed | VerdictReady | ReasoningVerdictReady | ConversationFinished | Progress
         | SessionFinished)
