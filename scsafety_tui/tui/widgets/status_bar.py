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
        self.update(status_text(info, self.size.width), layout=False)

    def on_resize(self) -> None:
        if self._last is not None:  # the same figures, fitted to the new width
            self.update(status_text(self._last, self.size.width), layout=False)


def status_parts(info: StatusInfo) -> list[tuple[int, str, str]]:
    """(keep, text, style) in the order shown; keep ranks what a narrow bar drops first (lowest first):
    the display modes before the retries, the counts and an error never."""
    hint = " (space resumes)" if info.state in ("stopped", "interrupted", "cancelled", "paused") else ""
    parts = [(10, info.state + hint, STATE_STYLES.get(info.state, "bold"))]
    parts += [(9, info.mode, "bold cyan")] if info.mode else []
    parts += [(9, info.lanes, "bold yellow")] if info.lanes else []
    parts += [(10, f"{info.done}/{info.total} conversations", ""),
              (7, f"elapsed {clock_text(info.elapsed)}", ""), (4, f"ETA {clock_text(info.eta)}", ""),
              (6, f"tokens in {_count(info.tokens_in)} out {_count(info.tokens)}", "")]
    parts += [(8, f"cost {info.cost}", "bold")] if info.cost else []
    parts += [(5 if info.retries else 3, f"retries {info.retries}", ""),
              (9 if info.errors else 3, f"errors {info.errors}", "bold red" if info.errors else ""),
              (2, "following" if info.following else "pinned", ""), (1, "markdown" if info.markdown else "raw text", "")]
    return parts


def _count(n: int) -> str:
    """Every digit while it helps (1,234); a million reads as 2.35M at a glance."""
    return f"{n:,}" if n < 1_000_000 else f"{n / 1_000_000:.2f}M"


def status_text(info: StatusInfo, width: int) -> Text:
    """The bar's line for a width: wide separators when there is room, then narrow ones, then the parts a
    reader needs least are left out, so what is shown is never cut mid-figure (0: not laid out yet)."""
    parts = status_parts(info)
    while True:
        for sep in ("  ·  ", " · "):
            text = Text(sep, style="dim").join(Text(t, style=st) for _, t, st in parts)
            if not width or text.cell_len <= width:
                return text
        if len(parts) == 1:
            return text
        parts.remove(min(parts, key=lambda p: p[0]))
