"""What to do with a saved session: a finished one offers its leaderboard or a replay, an unfinished one
offers to resume (the run screen's path, through prepare())."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scsafety_tui.store import queries
from scsafety_tui.tui import keymap
from scsafety_tui.tui.text import raw

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp

FINISHED = (
    ("leaderboard", "Leaderboard — SC-Safety tables, human labels, triage, compare"),
    ("replay", "Replay — re-stream every lane with its original timing (×1)"),
    ("replay-instant", "Replay instantly"),
    ("view", "Transcripts — the run screen on the stored answers; nothing runs"),
    ("export", "Export… (md, csv, json, jsonl, html)"),
)
UNFINISHED = (
    ("resume", "Resume the run — finished conversations are kept, the rest run"),
    ("view", "Transcripts so far — nothing runs"),
    ("leaderboard", "Leaderboard of what is scored so far"),
    ("replay", "Replay what has run so far"),
    ("export", "Export… (md, csv, json, jsonl, html)"),
)


def choices(status: str) -> tuple[tuple[str, str], ...]:
    return FINISHED if status == "done" else UNFINISHED


class SessionMenu(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("back")
    app: ScSafetyApp

    def __init__(self, session_id: int) -> None:
        super().__init__(classes="session-menu")
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield OptionList(id="session-menu")

    async def on_mount(self) -> None:
        session = await queries.stored_session(self.app.store, self.session_id)
        menu = self.query_one(OptionList)
        menu.border_title = raw(f"#{self.session_id} {session.name} · {session.status}")
        menu.add_options([Option(text, id=key) for key, text in choices(session.status)])
        menu.highlighted = 0
        menu.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_back(self) -> None:
        self.dismiss(None)
