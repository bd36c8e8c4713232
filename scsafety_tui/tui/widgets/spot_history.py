"""Earlier spot checks, newest first; selecting one re-opens it."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scsafety_tui.store.queries import SessionSummary
from scsafety_tui.tui.text import raw

_AUTO_NAME = re.compile(r"^spot \d{4}-\d\d-\d\d \d\d:\d\d: ")
"""start_spot's default name repeats the date shown beside it: keep only the prompt."""


def _label(s: SessionSummary) -> Text:
    when = time.strftime("%m-%d %H:%M", time.localtime(s.created_at))
    size = f"{s.items} items · " if s.items > 1 else ""
    errors = f" · {s.errors} errors" if s.errors else ""
    head = Text.assemble((f"#{s.id} ", "bold"), (f"{when} · {size}{s.status}{errors}", "dim"))
    return Text.assemble(head, "\n", raw(_AUTO_NAME.sub("", s.name)), "\n", raw(", ".join(s.targets), "dim"))


class SpotHistory(OptionList):
    def __init__(self) -> None:
        super().__init__(id="spot-history")
        self.border_title = "spot history (enter opens)"

    def show(self, sessions: Sequence[SessionSummary]) -> None:
        """Replace the list with the spot sessions (list_sessions gives them newest first)."""
        self.clear_options()
        options: list[Option | None] = []
        for s in sessions:
            if s.kind == "spot":
                options += [Option(_label(s), id=str(s.id)), None]  # None: a divider line after each
        self.add_options(options[:-1])
        if self.option_count:
            self.highlighted = 0
