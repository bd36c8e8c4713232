"""Re-emit a saved session as the engine's event stream, with its original timing.

Each conversation's events are rebuilt from its rows and ordered by their stored times, then
all conversations are merged by time, so the run screen's handlers serve live runs and replays alike.
Long pauses (an interrupted session resumed later) are shortened to one second.
"""

from __future__ import annotations

import heapq
import json
import math
import sqlite3
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    Event,
    ItemInfo,
    Progress,
    ReasoningVerdictReady,
    SessionFinished,
    SessionStarted,
    TargetInfo,
    TokenDelta,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Verdict,
    VerdictReady,
)
from scsafety_tui.follow_ups import FollowUp, stop_text
from scsafety_tui.scoring import median_score
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store

MAX_GAP_S = 1.0
Timed = tuple[float, Event]


def _conversation_events(item_id: str, target: str, conv: Any, turns: list[queries.TurnRow]) -> list[Timed]:
    out: list[Timed] = []
    if conv["started_at"] is None:
        return out
    record = FollowUp.from_json(conv["follow_up"])
    out.append((conv["started_at"], ConversationStarted(item_id, target)))
    for turn in turns:
        if turn.role == "user":
            out.append((turn.started_at or 0.0, TurnStarted(item_id, target, turn.round, turn.content, turn.origin,
                                                            record.via(turn.origin, turn.round) if record else "")))
            continue
        if turn.status == "cancelled":
            continue
        start = turn.started_at or 0.0
        if turn.status == "done":
            end = turn.finished_at or start
            # Offsets are kept to the millisecond: clamp so no chunk lands after its turn ended.
            out.extend((min(start + off, end), TokenDelta(item_id, target, turn.round, text))
                       for off, text in turn.chunks())
            out.append((end, TurnCompleted(
                item_id, target, turn.round, turn.content, turn.finish_reason, turn.tokens_in, turn.tokens_out,
                turn.reasoning, turn.tokens_estimated)))
        elif turn.status in ("error", "blocked", "empty"):
            out.append((turn.finished_at or start, TurnFailed(
                item_id, target, turn.round, turn.error_kind or turn.status, turn.error or "", turn.content,
                turn.reasoning, turn.tokens_in, turn.tokens_out, turn.tokens_estimated)))
        if turn.verdicts:
            verdicts = tuple(_verdict(v) for v in turn.verdicts)
            out.append((turn.verdict_at or turn.finished_at or start, VerdictReady(
                item_id, target, turn.round, median_score(v.score for v in verdicts), verdicts)))
        if turn.reasoning_verdicts:
            verdicts = tuple(_verdict(v) for v in turn.reasoning_verdicts)
            out.append((turn.verdict_at or turn.finished_at or start, ReasoningVerdictReady(
                item_id, target, turn.round, median_score(v.score for v in verdicts), verdicts)))
    if conv["status"] in ("done", "error", "cancelled") and conv["finished_at"]:
        stop = stop_text(conv["stop_reason"], record) if conv["stop_reason"] else ""
        out.append((conv["finished_at"], ConversationFinished(item_id, target, conv["status"], stop)))
    # Rounds overlap (round 1 is judged while round 2 streams): order by time; stable, so events
    # stamped alike keep their causal order.
    out.sort(key=lambda te: te[0])
    return out


async def timed_events(store: Store, sid: int, batch: int = 256) -> AsyncIterator[Timed]:
    """Every event of the session with its offset in seconds from the session's first event.

    Lazy: conversations are loaded in batches as the clock reaches their start, so replay of a
    full-scale session begins at once instead of after building millions of events.
    """
    row = await queries.session_row(store, sid)
    targets = await queries.targets(store, sid)
    items = await queries.items(store, sid)
    convs = await store.fetchall(
        "SELECT c.id, i.item_key, tg.key, c.status, c.started_at, c.finished_at, c.follow_up, c.stop_reason"
        " FROM conversation c"
        " JOIN item i ON i.id = c.item_id JOIN target tg ON tg.id = c.target_id"
        " WHERE c.session_id = ? AND c.started_at IS NOT NULL ORDER BY c.started_at, c.id", (sid,))
    prices = {t.get("key"): t for t in json.loads(row["config"]).get("targets", []) if isinstance(t, dict)}
    yield 0.0, SessionStarted(
        sid, row["name"], tuple(TargetInfo(t["key"], t["provider"], t["model"], t["base_url"],
                                           *_prices(prices.get(t["key"], {}))) for t in targets),
        tuple(ItemInfo(i.id, i.category, i.sub_dimension, i.turns) for i in items),
        _judges(json.loads(row["config"])))
    total = (await store.fetchall("SELECT count(*) FROM conversation WHERE session_id = ?", (sid,)))[0][0]
    pending = deque(convs)
    heap: list[tuple[float, int, int, Event]] = []
    loaded = done = tokens = errors = 0
    clock, prev = 0.0, convs[0]["started_at"] if convs else 0.0
    while pending or heap:
        top = heap[0][0] if heap else math.inf
        if pending and pending[0]["started_at"] <= top:
            chunk: list[sqlite3.Row] = []
            while pending and len(chunk) < batch and pending[0]["started_at"] <= top:
                chunk.append(pending.popleft())
            turns = await queries.turns_of(store, [c["id"] for c in chunk])
            for c in chunk:
                for k, (t, e) in enumerate(_conversation_events(c["item_key"], c["key"], c, turns.get(c["id"], []))):
                    heapq.heappush(heap, (t, loaded, k, e))
                loaded += 1
            continue
        t, _, _, event = heapq.heappop(heap)
        clock += min(max(t - prev, 0.0), MAX_GAP_S)
        prev = max(prev, t)
        yield clock, event
        if isinstance(event, TokenDelta):
            tokens += 1
        elif isinstance(event, ConversationFinished):
            done += 1
            errors += event.status == "error"
            yield clock, Progress(done, total, tokens, 0, errors)
    yield clock, SessionFinished(sid, row["status"])


def _judges(config: dict[str, Any]) -> tuple[str, ...]:
    judge = config.get("judge", {})
    if judge.get("mode") == "model":
        return tuple(t["key"] for t in judge.get("targets", []))
    return ("heuristic",)


def _prices(t: dict[str, Any]) -> tuple[float | None, float | None, str]:
    """A stored target's prices (its config snapshot), for the replay's live cost; anything but numbers
    (a hand-edited database) is no price."""
    pin, pout, cur = t.get("price_in"), t.get("price_out"), t.get("currency")
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (pin, pout))
    currency = cur if isinstance(cur, str) else "USD"
    return (pin, pout, currency) if ok else (None, None, currency)


def _verdict(v: queries.VerdictRow) -> Verdict:
    """A stored verdict as the engine emitted it: kind, a guard's category and the prompt hash included."""
    return Verdict(v.judge, v.score, v.reason, v.error, v.heuristic, v.kind, v.category, v.prompt_hash)
