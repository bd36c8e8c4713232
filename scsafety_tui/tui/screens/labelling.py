"""Human labels from the keyboard: 0/1/2 label the focused answer at once (no dialog), N asks for a score and
a note, x clears. [ and ] pick another answer where a screen has more than one in view (a lane's rounds).

A mixin for the screens that show scored answers (run, replay, leaderboard, triage). Each says which
answer the keys apply to (label_target) and how to show a change (label_applied); the judges' verdicts
are never touched, so judge-only and human-adjusted scores can both be shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import BindingType

from scsafety_tui.tui import keymap
from scsafety_tui.tui.labels import AnswerRef, author, turn_id_for
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.label_dialog import LabelDialog

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp


class Labelling(WorkerScreen):
    # ? first: the footer fills from the left, so a narrow one still shows help and the label keys
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "label(0)", "label(1)", "label(2)",
                                                            "label_note", "clear_label")
    app: ScSafetyApp

    def label_target(self) -> AnswerRef | None:
        """The answer the keys apply to; None (after telling the user why) when there is none."""
        raise NotImplementedError

    async def label_applied(self, ref: AnswerRef, score: int | None, note: str) -> None:
        """Show a label that has just been stored (score None: cleared)."""
        raise NotImplementedError

    def action_label(self, score: int) -> None:
        """The quick path: stored at once; a note the answer already has is kept."""
        ref = self.label_target()
        if ref is not None:
            self.write_label(ref, score, ref.note)

    def action_label_note(self) -> None:
        ref = self.label_target()
        if ref is None:
            return

        def chosen(result: tuple[int, str] | None) -> None:
            if result is not None:
                self.write_label(ref, result[0], result[1])

        self.app.push_screen(LabelDialog(ref), chosen)

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
        await self.label_applied(ref, score, note)
        what = "cleared" if score is None else f"human {score} (judge {'?' if ref.judge is None else ref.judge})"
        self.notify(f"Label {what}: {ref.target} · {ref.item_id} · R{ref.round}" + (f" · “{note}”" if note else ""),
                    markup=False)
