"""Human labels from the keyboard: 0/1/2 set a score (a note is asked, Enter skips it), x clears it.

A mixin for the screens that show scored answers (run, replay, leaderboard, triage). Each says which
answer the keys apply to (label_target) and how to show a change (label_applied); the judges' verdicts
are never touched, so judge-only and human-adjusted scores can both be shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from scsafety_tui.tui.labels import AnswerRef, author, turn_id_for
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.input_dialog import InputDialog

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp


class Labelling(WorkerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("0", "label(0)", "Human 0", show=False),
        Binding("1", "label(1)", "Human 1", show=False),
        Binding("2", "label(2)", "Human 2", show=False),
        Binding("x", "clear_label", "Clear label", show=False),
    ]
    app: ScSafetyApp

    def label_target(self) -> AnswerRef | None:
        """The answer the keys apply to; None (after telling the user why) when there is none."""
        raise NotImplementedError

    async def label_applied(self, ref: AnswerRef, score: int | None) -> None:
        """Show a label that has just been stored (score None: cleared)."""
        raise NotImplementedError

    def action_label(self, score: int) -> None:
        ref = self.label_target()
        if ref is None:
            return

        def noted(note: str | None) -> None:
            if note is not None:
                self.write_label(ref, score, note.strip())

        self.app.push_screen(InputDialog(f"Human score {score} for {ref.describe()}",
                                         placeholder="note (optional)",
                                         hint="Enter saves (the note may stay empty) · Escape cancels"), noted)

    def action_clear_label(self) -> None:
        ref = self.label_target()
        if ref is None:
            return
        if ref.human is None:
            self.notify(f"No human label on {ref.describe()}.")
            return
        self.write_label(ref, None, "")

    @work(exit_on_error=False, group="label", description="Saving the label")
    async def write_label(self, ref: AnswerRef, score: int | None, note: str) -> None:
        store = self.app.store
        turn_id = await turn_id_for(store, ref)
        if score is None:
            await store.clear_label(turn_id)
        else:
            await store.set_label(turn_id, score, author(), note)
        await self.label_applied(ref, score)
        what = "cleared" if score is None else f"human {score} (judge {'?' if ref.judge is None else ref.judge})"
        self.notify(f"Label {what}: {ref.target} · {ref.item_id} · R{ref.round}")
