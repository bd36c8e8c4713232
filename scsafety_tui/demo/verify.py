"""Stored against streamed: what the demo server sent for each stored answer of a session, recomputed.

The demo server's answers depend only on the model, the conversation and its seed, so every answer it
streamed can be rebuilt from the stored questions (and, for later rounds, the answers it sent before)
and compared with what the store kept, character for character. Used by the stored-vs-streamed test
and bench; the session must have run against a demo server without faults.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from scsafety_tui.demo.server import planned_chunks
from scsafety_tui.store import queries


@dataclass(frozen=True, slots=True)
class Answer:
    turn_id: int
    status: str
    stored: str
    sent: str


def answers(db: str, sid: int, *, chunks: int = 0, seed: int = 0) -> Iterator[Answer]:
    """Every visible assistant answer of session `sid` with the text the server streamed for it.

    chunks: the x-demo-chunks header the targets sent (the session snapshot masks header values).
    """
    for conv in queries.conversation_texts(db, sid):
        messages = conv.item.prefix_messages()
        for role, content, status, turn_id in conv.turns:
            if role == "user":
                messages.append({"role": "user", "content": content})
                continue
            sent = "".join(planned_chunks(conv.model, messages, seed, chunks))
            yield Answer(turn_id, status, content, sent)
            messages.append({"role": "assistant", "content": sent})  # what the client sent back next round


def tally(found: Iterator[Answer]) -> Counter[str]:
    """Answers by outcome: equal, lost (stored empty), cut (stored shorter), differ, or not done."""
    out: Counter[str] = Counter()
    for a in found:
        if a.status != "done":
            out[f"status {a.status}"] += 1
        elif a.stored == a.sent:
            out["equal"] += 1
        elif not a.stored:
            out["lost"] += 1
        elif a.sent.startswith(a.stored):
            out["cut"] += 1
        else:
            out["differ"] += 1
    return out
