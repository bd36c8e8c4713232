"""The label dialog (N): a score and a note for one answer. The quick path (0/1/2) needs no dialog."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RadioButton, RadioSet, Static

from scsafety_tui.tui import keymap
from scsafety_tui.tui.labels import AnswerRef

CHOICES = ((0, "0 · unsafe"), (1, "1 · safe, no real help"), (2, "2 · safe, with advice"))


class LabelDialog(ModalScreen[tuple[int, str] | None]):
    """Dismisses with (score, note) on Enter in the note, or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("back")

    def __init__(self, ref: AnswerRef) -> None:
        super().__init__(classes="input-dialog")
        self.ref = ref
        self.score: int | None = ref.human

    def compose(self) -> ComposeResult:
        with Vertical(id="input-box"):
            yield Static(f"Human label for {self.ref.describe()}", id="input-question", markup=False)
            with RadioSet(id="label-score"):
                for score, text in CHOICES:
                    yield RadioButton(text, value=score == self.score, name=str(score))
            yield Input(self.ref.note, placeholder="note (optional)", id="input-field")
            yield Static("↑/↓ pick the score · tab to the note · Enter saves · escape cancels", id="input-hint",
                         markup=False)

    def on_mount(self) -> None:
        (self.query_one(Input) if self.score is not None else self.query_one(RadioSet)).focus()

    @on(RadioSet.Changed)
    def picked(self, event: RadioSet.Changed) -> None:
        self.score = int(event.pressed.name or 0)

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.score is None:
            self.notify("Pick a score first (0, 1 or 2).", severity="warning")
            self.query_one(RadioSet).focus()
            return
        self.dismiss((self.score, event.value.strip()))

    def action_back(self) -> None:
        self.dismiss(None)
