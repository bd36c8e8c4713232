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
    price_in: float | None = None
    """Price per million input tokens ([[targets]] price_in), for the live cost; None: unknown."""
    price_out: float | None = None
    currency: str = "USD"


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
    origin: str = "bank"
    """Who wrote the prompt: 'bank', 'template' (the follow-up library) or 'attacker'."""
    via: str = ""
    """The template id or the attacker's strategy ('' for the bank's own turns)."""
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
    tokens_estimated: bool = False
    """The server sent no usage: tokens_in/out were estimated from characters (cost.estimate_tokens)."""
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
    tokens_in: int | None = None
    """What the failed answer was billed, when it was stored with counts (a block by finish reason, an
    empty answer): live cost counts it as `show` does."""
    tokens_out: int | None = None
    tokens_estimated: bool = False
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
    stop: str = ""
    """Why an attacker's follow-ups stopped (rounds.STOP_REASONS), with detail: '' when none were asked."""
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
class CostLimitReached:
    """[run] max_cost reached: no new conversation starts (those under way finish) until the run is
    resumed, which allows max_cost more. spent: what this run's answers cost so far."""

    spent: float
    limit: float
    currency: str
    t: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """status: done | interrupted | cancelled | paused ([run] max_cost reached in a headless run)."""

    session_id: int
    status: str
    t: float = field(default=0.0, compare=False)


Event = (SessionStarted | ConversationStarted | TurnStarted | TokenDelta | ReasoningDelta | TurnRetrying
         | TurnCompleted | TurnFailed | VerdictReady | ReasoningVerdictReady | ConversationFinished | Progress
         | CostLimitReached | SessionFinished)
