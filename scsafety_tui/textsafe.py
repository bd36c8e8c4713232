"""Untrusted text made inert for a terminal: every control character gets a visible stand-in.

Model output may contain terminal escapes (`\\x1b[2J`) or bidi overrides that disguise text; the TUI and
the plain-terminal views show them as symbols (ESC → ␛) and never send them to the terminal.
"""

from __future__ import annotations

_VISIBLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_VISIBLE[0x7F] = "␡"
_VISIBLE.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})  # C1 controls, incl. the 8-bit CSI
# Bidi overrides and zero-width characters can disguise text; show their code points instead.
_VISIBLE.update({c: f"⟨U+{c:04X}⟩" for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F),
                                               *range(0x2066, 0x206A), 0xFEFF)})
_TABLE = str.maketrans(_VISIBLE)


def visible(s: str) -> str:
    """The string with every control character replaced by a visible stand-in (ESC → ␛)."""
    return s.translate(_TABLE)


def has_controls(s: str) -> bool:
    """True when the string holds a control character (tab and newline too), a bidi override or a
    zero-width character: what a name or a key must not hold."""
    return "\t" in s or "\n" in s or s.translate(_TABLE) != s
