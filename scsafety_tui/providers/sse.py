"""Server-sent events decoded straight from bytes.

The common case (``data: {...}\\n\\n`` per event, ``\\n`` line ends) costs one ``split`` per read and one
slice per event; only events with several lines, comments or ``event:`` names take the general path.
Line ends ``\\r\\n`` and ``\\r`` are folded to ``\\n`` first (a ``\\r`` ending a read is held back in case
its ``\\n`` arrives in the next one). Fields other than ``data`` and ``event`` are not needed by chat
APIs and are skipped.
"""

from __future__ import annotations

from typing import NamedTuple

_BOM = b"\xef\xbb\xbf"


class SSEEvent(NamedTuple):
    event: str
    """The ``event:`` field, "message" when the server gave none."""
    data: str
    """The ``data:`` lines joined with "\\n"."""


def _parse_block(block: bytes) -> SSEEvent | None:
    """The general path: any mix of fields and comments; None when the block carries no data."""
    event = "message"
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line[0] == 0x3A:  # blank, or a ":" comment / keep-alive
            continue
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value.decode("utf-8", "replace") or "message"
    if not data:
        return None
    return SSEEvent(event, b"\n".join(data).decode("utf-8", "replace"))


class SSEDecoder:
    """Feed it reads of any size; it returns the events they complete."""

    __slots__ = ("_buf", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf  # could still be a BOM split across reads
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        held = b""
        if b"\r" in buf:
            if buf[-1:] == b"\r":
                buf, held = buf[:-1], b"\r"
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n\n" not in buf:
            self._buf = buf + held
            return []
        blocks = buf.split(b"\n\n")
        self._buf = blocks.pop() + held
        events: list[SSEEvent] = []
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                events.append(SSEEvent("message", block[6:].decode("utf-8", "replace")))
            elif block:
                ev = _parse_block(block)
                if ev is not None:
                    events.append(ev)
        return events

    def flush(self) -> list[SSEEvent]:
        """At end of stream: an event whose last line ended but whose blank line never came still counts;
        a half-written line does not (that stream was cut)."""
        buf, self._buf = self._buf.replace(b"\r", b"\n"), b""
        if not buf.endswith(b"\n"):
            return []
        ev = _parse_block(buf)
        return [] if ev is None else [ev]
