"""F on the run screen: which failures the navigator shows, each with how many items have it now."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scsafety_tui.tui import keymap
from scsafety_tui.tui.findings import KINDS


class FilterMenu(ModalScreen[str | None]):
    """Dismisses with a finding kind, "" (every item again) or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("back")

    def __init__(self, counts: dict[str, int], current: str = "") -> None:
        super().__init__(classes="session-menu")
        self.counts, self.current = counts, current

    def compose(self) -> ComposeResult:
        yield OptionList(id="session-menu")

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.border_title = "show only the items with…"
        menu.add_option(Option(Text("every item (no filter)"), id="all"))
        for kind, _, title in KINDS:
            n = self.counts.get(kind, 0)
            menu.add_option(Option(Text.assemble(title, (f"  {n} item{'s' * (n != 1)}", "dim")), id=kind))
        menu.highlighted = 1
        menu.focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss("" if event.option.id == "all" else event.option.id)

    def action_back(self) -> None:
        self.dismiss(None)
