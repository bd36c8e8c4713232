"""Reads that find answers within one session: a text search over its turns, and its labels' notes.

The run screen's `/` search and the notes shown beside every human label come from here. Search follows
queries.search (all sessions): FTS5's trigram index for 3+ characters, a LIKE scan below that (many
Chinese words have two characters), scoped here to one session's visible turns.
"""

from __future__ import annotations

from dataclasses import dataclass

from scsafety_tui.store.db import Store
from scsafety_tui.store.queries import VISIBLE

SEARCH_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class SessionHit:
    item_id: str
    target: str
    """'' for a bank question (asked of every target alike)."""
    round: int
    content: str


@dataclass(frozen=True, slots=True)
class LabelNote:
    turn_id: int
    score: int
    author: str
    note: str


async def search_session(store: Store, sid: int, text: str, limit: int = SEARCH_LIMIT) -> list[SessionHit]:
    """Turns of session `sid` containing `text` (any script), in item order then round."""
    text = text.strip()
    if not text:
        return []
    sql = f"""SELECT i.item_key, CASE t.role WHEN 'user' THEN '' ELSE tg.key END AS who, t.round, t.content
              FROM conversation c JOIN turn t ON {VISIBLE} JOIN item i ON i.id = c.item_id
              JOIN target tg ON tg.id = c.target_id WHERE c.session_id = ?"""
    if len(text) >= 3:
        sql += " AND t.id IN (SELECT rowid FROM turn_fts WHERE turn_fts MATCH ?)"
        needle = '"' + text.replace('"', '""') + '"'
    else:
        sql += " AND t.content LIKE ? ESCAPE '\\'"
        needle = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql += (" GROUP BY i.item_key, who, t.round, t.content"
            " ORDER BY min(i.position), t.round, min(tg.position) LIMIT ?")
    rows = await store.fetchall(sql, (sid, needle, limit))
    return [SessionHit(r[0], r[1], r[2], r[3]) for r in rows]


async def label_notes(store: Store, sid: int) -> dict[tuple[str, str, int], LabelNote]:
    """Every human label of the session by (target, item, round), with its author and note."""
    rows = await store.fetchall(f"""
        SELECT tg.key, i.item_key, t.round, l.turn_id, l.score, l.author, l.note
        FROM conversation c JOIN item i ON i.id = c.item_id JOIN target tg ON tg.id = c.target_id
        JOIN turn t ON {VISIBLE} AND t.role = 'assistant' JOIN label l ON l.turn_id = t.id
        WHERE c.session_id = ?""", (sid,))
    return {(r[0], r[1], r[2]): LabelNote(r[3], r[4], r[5] or "", r[6] or "") for r in rows}
