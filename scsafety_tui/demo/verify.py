"""Stored against streamed: what the demo server sent for each stored answer of a session, recomputed.

The demo server's answers depend only on the model, the conversation and its seed, so every answer it
streamed can be rebuilt from the stored questions (and, for later rounds, the answers it sent before)
and compared with what the store kept, character for character. Used by the stored-vs-streamed test
and bench; the session must have run against a demo server without faults.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from scsafety_tui.demo.server import planned_chunks
from scsafety_tui.questions import Item


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
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        convs = con.execute("""
            SELECT c.id, i.data, tg.model FROM conversation c JOIN item i ON i.id = c.item_id
            JOIN target tg ON tg.id = c.target_id WHERE c.session_id = ? ORDER BY c.id""", (sid,)).fetchall()
        turns: dict[int, list[tuple[int, str, str, str, int]]] = {}
        for row in con.execute("""
                SELECT t.conversation_id, t.round, t.role, t.content, t.status, t.id FROM turn t
                JOIN conversation c ON c.id = t.conversation_id AND t.attempt = c.attempt
                WHERE c.session_id = ? ORDER BY t.conversation_id, t.round, t.role = 'assistant'""", (sid,)):
            turns.setdefault(row[0], []).append(row[1:])
    finally:
        con.close()
    for conv_id, data, model in convs:
        messages = Item.from_dict(json.loads(data)).prefix_messages()
        for _rnd, role, content, status, turn_id in turns.get(conv_id, []):
            if role == "user":
                messages.append({"role": "user", "content": content})
                continue
            sent = "".join(planned_chunks(model, messages, seed, chunks))
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
