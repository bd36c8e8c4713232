"""Tokens a session's answers used, per target: what its cost is computed from (cost.py holds prices).

Every stored attempt counts, an errored one replaced by `--retry-errors` included: the provider billed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from scsafety_tui.store.db import Store


@dataclass(frozen=True, slots=True)
class TargetUsage:
    key: str
    answers: int
    """Answers with a token count (every attempt)."""
    tokens_in: int
    tokens_out: int
    estimated: int
    """Of those answers, how many the server sent no usage for (counts estimated from characters)."""


async def target_usage(store: Store, sid: int) -> list[TargetUsage]:
    """Per target, in the session's order (a target with no answer yet has zeros)."""
    rows = await store.fetchall("""
        SELECT tg.key, count(t.id), coalesce(sum(t.tokens_in), 0), coalesce(sum(t.tokens_out), 0),
               coalesce(sum(t.tokens_estimated), 0)
        FROM target tg
        LEFT JOIN conversation c ON c.target_id = tg.id
        LEFT JOIN turn t ON t.conversation_id = c.id AND t.role = 'assistant'
                         AND (t.tokens_in IS NOT NULL OR t.tokens_out IS NOT NULL)
        WHERE tg.session_id = ? GROUP BY tg.id ORDER BY tg.position""", (sid,))
    return [TargetUsage(*r) for r in rows]
