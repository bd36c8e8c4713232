"""One line under the lanes: state, done/total conversations, elapsed, ETA, tokens, retries, errors."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@dataclass
class StatusInfo:
    state: str = "loading"
    done: int = 0
    total: int = 0
    elapsed: float | None = None
    eta: float | None = None
    tokens: int = 0
    retries: int = 0
    errors: int = 0
    following: bool = True
    markdown: bool = False
    mode: str = ""
    """Shown after the state when set: a replay's speed, human-adjusted scores."""
    tokens_in: int = 0
    lanes: str = ""
    """Which lanes are on screen when not all are ("lanes 1–6 of 13 …"); "" when all are."""
    cost: str = ""
    """The run's cost so far ("0.0123 USD"), over the targets with prices; "" when none has."""


STATE_STYLES = {"running": "bold green", "paused": "bold yellow", "cancelling": "bold yellow",
                "done": "bold", "cancelled": "bold red", "failed": "bold red"}


class StatusBar(Static):
    def __init__(self) -> None:
        super().__init__(id="status-bar")
        self._last: StatusInfo | None = None

    def show(self, info: StatusInfo) -> None:
        if info == self._last:
            return
        self._last = StatusInfo(**info.__dict__)
        sep = ("  ·  ", "dim") if self.size.width >= 140 else (" · ", "dim")  # 80 columns: room for the counts
        mode = [(info.mode, "bold cyan"), sep] if info.mode else []
        mode += [(info.lanes, "bold yellow"), sep] if info.lanes else []  # early: a narrow bar still shows it
        hint = " (space resumes)" if info.state in ("stopped", "interrupted", "cancelled", "paused") else ""
        self.update(Text.assemble(
            (info.state, STATE_STYLES.get(info.state, "bold")), (hint, "dim"), sep,
            *mode,
            f"{info.done}/{info.total} conversations", sep,
            f"elapsed {clock_text(info.elapsed)}", sep, f"ETA {clock_text(info.eta)}", sep,
            f"tokens in {info.tokens_in:,} out {info.tokens:,}", sep,
            *([(f"cost {info.cost}", "bold"), sep] if info.cost else []), f"retries {info.retries}", sep,
            (f"errors {info.errors}", "bold red" if info.errors else ""), sep,
            "following" if info.following else "pinned", sep, "markdown" if info.markdown else "raw text"),
            layout=False)
