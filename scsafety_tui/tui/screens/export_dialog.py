"""Export from the TUI: pick a format and a path, then exports.export_to writes it on the app's store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from scsafety_tui.exports import FORMATS, export_to
from scsafety_tui.tui import keymap
from scsafety_tui.tui.text import raw

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp


@dataclass(frozen=True)
class ExportChoice:
    fmt: str
    path: str
    human: bool


def default_path(session_id: int, fmt: str) -> str:
    return str(Path.cwd() / f"scsafety-session-{session_id}.{fmt}")


class ExportDialog(ModalScreen[ExportChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("back")

    def __init__(self, session_id: int, *, human: bool = False, vset: str = "") -> None:
        super().__init__(classes="export-dialog")
        self.session_id, self.human, self.vset = session_id, human, vset
        self.fmt = "md"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            # a verdict set's name is user text: shown literally
            yield Static(raw(f"Export session {self.session_id}" + (f" · verdict set: {self.vset}" if self.vset
                                                                       else "")), id="export-title")
            with RadioSet(id="export-format"):
                for fmt in FORMATS:
                    yield RadioButton(fmt, value=fmt == self.fmt, name=fmt)
            yield Input(default_path(self.session_id, self.fmt), id="export-path")
            yield Checkbox("human-adjusted tables (md, html)", self.human, id="export-human")
            with Horizontal(id="export-buttons"):
                yield Button("Export (enter)", variant="primary", id="export-go")
                yield Button("Cancel (esc)", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(RadioSet.Changed)
    def format_changed(self, event: RadioSet.Changed) -> None:
        fmt = event.pressed.name or "md"
        path = self.query_one(Input)
        if Path(path.value).suffix == f".{self.fmt}":  # keep the user's folder and name, change the suffix
            path.value = str(Path(path.value).with_suffix(f".{fmt}"))
        self.fmt = fmt

    @on(Input.Submitted)
    @on(Button.Pressed, "#export-go")
    def go(self) -> None:
        path = self.query_one(Input).value.strip()
        if not path:
            self.notify("Give a path to write to.", severity="warning")
            return
        self.dismiss(ExportChoice(self.fmt, str(Path(path).expanduser()), self.query_one(Checkbox).value))

    @on(Button.Pressed, "#export-cancel")
    def action_back(self) -> None:
        self.dismiss(None)


def export_flow(screen: Screen[Any], session_id: int, *, human: bool = False, vset: str = "") -> None:
    """Ask, then write in a worker of the calling screen (its Worker.StateChanged handler reports errors);
    scores from verdict set vset ('' is the run's own), every set carried."""
    app: ScSafetyApp = screen.app  # type: ignore[assignment]  # Textual types it App; screens run in ScSafetyApp

    async def write(choice: ExportChoice) -> str:
        await export_to(app.store, str(session_id), choice.fmt, choice.path, human=choice.human, vset=vset)
        screen.notify(f"Exported to {choice.path}")
        return choice.path

    def chosen(choice: ExportChoice | None) -> None:
        if choice is not None:
            screen.run_worker(write(choice), group="export", exclusive=True, exit_on_error=False,
                              description="Export")

    app.push_screen(ExportDialog(session_id, human=human, vset=vset), chosen)
