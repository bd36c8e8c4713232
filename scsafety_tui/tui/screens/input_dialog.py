"""A one-line question over the current screen: a label's note, a session's new name."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from scsafety_tui.tui import keymap


class InputDialog(ModalScreen[str | None]):
    """Dismisses with the text (Enter, possibly empty) or None (Escape)."""

    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("back")

    def __init__(self, question: str, *, value: str = "", placeholder: str = "",
                 hint: str = "Enter saves · Escape cancels") -> None:
        super().__init__(classes="input-dialog")
        self.question, self.value, self.placeholder, self.hint = question, value, placeholder, hint

    def compose(self) -> ComposeResult:
        with Vertical(id="input-box"):
            yield Static(self.question, id="input-question", markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="input-field")
            yield Static(self.hint, id="input-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_back(self) -> None:
        self.dismiss(None)
