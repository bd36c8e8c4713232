"""Test knobs: faults asked for by model-name suffix (``demo-guardian+ratelimit:2``) or ``x-demo-fault``.

``knob:N`` fails only the first N attempts of each distinct conversation; a bare knob always fails.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence

KNOBS = frozenset({
    "ratelimit",          # 429 with Retry-After: 1
    "ratelimit-date",     # 429 with Retry-After as an HTTP-date
    "error500",           # 500
    "auth",               # 401
    "filter-error",       # 400 with code content_filter (Azure style)
    "cut",                # the connection drops mid-stream
    "eof",                # the response ends cleanly mid-answer: no finish reason, no [DONE]
    "malformed",          # one chunk is `data: {not json`
    "stream-error",       # an error object inside the 200 stream
    "filter",             # finish_reason content_filter after a few chunks
    "empty",              # [DONE] with no content and no finish reason
    "slow",               # first token after 5 s
    "hang",               # headers, then nothing, ever
    "badjudge",           # the judge answers prose instead of JSON
    "reasoning",          # 4 reasoning tokens before the answer: reasoning_content (OpenAI), a thinking block (Anthropic)
    "no-usage",           # ignore stream_options.include_usage
    "no-stream-options",  # reject a request carrying stream_options with a 400
})
ERROR_KNOBS = ("auth", "ratelimit", "ratelimit-date", "error500", "filter-error")

_SEP = re.compile(r"[+,\s]+")


class UnknownKnob(ValueError):
    pass


def split_model(model: str) -> tuple[str, list[str]]:
    """("demo-guardian", ["ratelimit:2"]) from "demo-guardian+ratelimit:2"."""
    base, *knobs = model.split("+")
    return base, knobs


def parse_knobs(specs: Sequence[str]) -> dict[str, int | None]:
    knobs: dict[str, int | None] = {}
    for spec in specs:
        name, _, limit = spec.strip().partition(":")
        if not name:
            continue
        if name not in KNOBS:
            raise UnknownKnob(f"unknown demo knob {name!r} (have: {', '.join(sorted(KNOBS))})")
        try:
            knobs[name] = int(limit) if limit else None
        except ValueError:
            raise UnknownKnob(f"demo knob {spec!r}: expected {name}:N with N an integer") from None
    return knobs


def header_knobs(value: str | None) -> list[str]:
    return [s for s in _SEP.split(value or "") if s]


class AttemptCounter:
    """Counts attempts per distinct (model, messages), so `knob:N` can fail the first N only."""

    def __init__(self) -> None:
        self._seen: Counter[bytes] = Counter()

    def next(self, model: str, messages: Sequence[object]) -> int:
        key = hashlib.blake2b(json.dumps([model, messages], ensure_ascii=False, sort_keys=True).encode(),
                              digest_size=16).digest()
        self._seen[key] += 1
        return self._seen[key]


def active(knobs: dict[str, int | None], attempt: int) -> frozenset[str]:
    return frozenset(k for k, n in knobs.items() if n is None or attempt <= n)
