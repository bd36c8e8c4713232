"""Which answer a human label is for, and finding its stored turn. No Textual here."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from scsafety_tui.store import queries
from scsafety_tui.store.db import Store, StoreError


@dataclass(frozen=True)
class AnswerRef:
    """One assistant answer of a session, as a label key press sees it."""

    session_id: int
    item_id: str
    target: str
    round: int
    judge: int | None
    human: int | None
    turn_id: int = 0
    """0 when not known yet (a lane's answer): turn_id_for() looks it up."""
    note: str = ""
    """The human label's note, if any: the quick path (0/1/2) keeps it when the score changes."""

    @property
    def key(self) -> tuple[str, str, int]:
        return self.target, self.item_id, self.round

    def describe(self) -> str:
        judge = "failed" if self.judge is None else str(self.judge)
        return f"{self.target} · {self.item_id} · round {self.round} (judge {judge})"


async def turn_id_for(store: Store, ref: AnswerRef) -> int:
    if ref.turn_id:
        return ref.turn_id
    tr = await queries.transcript(store, ref.session_id, ref.item_id, ref.target)
    for turn in tr.turns if tr else []:
        if turn.role == "assistant" and turn.round == ref.round:
            return turn.id
    raise StoreError(f"no stored answer for {ref.describe()}")


def author() -> str:
    """Who labels: the login name (labels keep it beside the note)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
