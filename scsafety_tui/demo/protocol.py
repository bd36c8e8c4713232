"""Reading a chat request (either protocol) and writing error responses."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

from aiohttp import web

from scsafety_tui.demo.wire import Wire


class Reject(Exception):
    """An answer that is an error response: kind is a key of wire.ERRORS."""

    def __init__(self, kind: str, message: str | None = None) -> None:
        super().__init__(kind)
        self.kind, self.message = kind, message


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def number(request: web.Request, header: str, default: float) -> float:
    """A non-negative number from a header, or the default when it is absent."""
    value = request.headers.get(header)
    if value is None:
        return default
    try:
        n = float(value)
    except ValueError:
        raise Reject("bad-request", f"header {header}: expected a number, got {value!r}") from None
    if n < 0:
        raise Reject("bad-request", f"header {header}: expected a number >= 0")
    return n


def stretch(chunks: list[str], n: float) -> list[str]:
    """Exactly n chunks (cycling the answer) when n > 0."""
    count = int(n)
    if count <= 0 or not chunks:
        return chunks
    return (chunks * (count // len(chunks) + 1))[:count]


def wants_usage(body: dict[str, Any], faults: frozenset[str]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage")) and "no-usage" not in faults


def text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts / blocks: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def conversation(body: Any, protocol: str) -> list[dict[str, str]] | None:
    """The messages as plain role/content pairs; Anthropic's top-level system becomes a system message."""
    raw = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not raw:
        return None
    out = []
    if protocol == "anthropic" and body.get("system"):
        out.append({"role": "system", "content": text(body["system"])})
    for m in raw:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return None
        out.append({"role": m["role"], "content": text(m.get("content"))})
    return out


def error_response(wire_cls: type[Wire], reject: Reject) -> web.Response:
    status, body = wire_cls.error_body(reject.kind, reject.message)
    headers = {}
    if reject.kind == "ratelimit":
        headers["retry-after"] = "1"
    elif reject.kind == "ratelimit-date":
        headers["retry-after"] = email.utils.formatdate(time.time() + 2, usegmt=True)
    return web.json_response(body, status=status, headers=headers, dumps=dumps)
