"""Model text as inert Rich Text: markup is never parsed and control characters are made visible.

Model output may contain `[bold red]` (Rich markup) or `\\x1b[2J` (a terminal escape). Both must show up
on screen exactly as sent, so every string from a model, a bank or a judge goes through `raw()` (a Text,
never a markup string) after `visible()` (the core's stand-ins for control characters, ESC → ␛).
"""

from __future__ import annotations

from rich.markdown import Markdown
from rich.text import Text

from scsafety_tui.textsafe import visible

__all__ = ["markdown", "raw", "visible"]


def raw(s: str, style: str = "") -> Text:
    """Model text exactly as sent: no markup, no escapes."""
    return Text(visible(s), style=style)


def markdown(s: str) -> Markdown:
    """Finished answers in Markdown mode; control characters are still made visible first."""
    return Markdown(visible(s))
