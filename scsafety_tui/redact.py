"""Secrets kept out of the database and exports: known secret values in error text become "***".

A server may echo the request's Authorization header (or the key) in an error body, and a user may put a
secret in a header, in ``params`` or as ``user:pass@`` in a base URL. Every error a provider raises passes
through the target's `Redactor` before anyone stores or shows it (providers/client.py), and the session's
config snapshot masks secret-named params (engine/session.py).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
MIN_SECRET = 6
"""Shorter values are not scrubbed: masking "1" or "on" everywhere would garble every message."""

SECRET_NAME = re.compile(r"key|token|secret|passw|auth|credential|signature|session|cookie", re.I)
"""A params key or header name like these holds a secret."""


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def secret_params(params: Mapping[str, Any]) -> list[str]:
    """Every string under a secret-named key, at any depth."""
    out: list[str] = []
    for k, v in params.items():
        if SECRET_NAME.search(str(k)):
            out.extend(_strings(v))
        elif isinstance(v, Mapping):
            out.extend(secret_params(v))
        elif isinstance(v, list | tuple):
            for x in v:
                if isinstance(x, Mapping):
                    out.extend(secret_params(x))
    return out


def mask_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """params with the value of every secret-named key replaced by "***" (for what is stored)."""
    def mask(v: Any) -> Any:
        if isinstance(v, Mapping):
            return mask_params(v)
        if isinstance(v, list | tuple):
            return [mask(x) for x in v]
        return v

    return {k: MASK if SECRET_NAME.search(str(k)) else mask(v) for k, v in params.items()}


def url_secrets(url: str) -> list[str]:
    """The user:pass of a URL, decoded and as sent (percent-encoded, and as a Basic credential)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    plain = f"{unquote(user)}:{unquote(password)}"
    return [userinfo, unquote(user), unquote(password), password, plain,
            base64.b64encode(plain.encode()).decode()]


class Redactor:
    """Replaces every known secret value in a text with "***" (longest first, so no fragment is left)."""

    def __init__(self, values: Iterable[str | None]) -> None:
        found: set[str] = set()
        for v in values:
            if v and len(v) >= MIN_SECRET:
                # as written, and as it would appear percent-encoded or JSON-escaped in an echo
                found.update({v, quote(v, safe=""), v.replace("/", "\\/")})
        self.values = sorted((v for v in found if len(v) >= MIN_SECRET), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self.values))) if self.values else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        text = self._pattern.sub(MASK, text)
        return self._cut_prefixes(text) if "…" in text else text

    def _cut_prefixes(self, text: str) -> str:
        """A message shortened to one line may end a secret half-way ("Bearer sk-abc…"): mask that start."""
        out, start = [], 0
        for m in re.finditer("…", text):
            head = text[start:m.start()]
            for v in self.values:
                k = next((k for k in range(len(v) - 1, 3, -1) if head.endswith(v[:k])), 0)
                if k:
                    head = head[:-k] + MASK
                    break
            out.append(head + "…")
            start = m.end()
        return "".join(out) + text[start:]

    @classmethod
    def for_target(cls, target: Any, api_key: str | None) -> Redactor:
        """Everything secret a target's requests carry: the key, header values, secret params, userinfo."""
        return cls([api_key, *target.headers.values(), *secret_params(target.params),
                    *url_secrets(target.base_url)])
