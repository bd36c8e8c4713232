"""The provider contract: messages in, one streamed Completion out, failures as classified errors.

Exception tree (everything a provider raises, apart from asyncio.CancelledError)::

    ProviderError                 .message .status .retryable
    ├── RateLimited               429; .retry_after (s), .retry_at (epoch, HTTP-date form)  retryable
    ├── TransientError            5xx, 408/409, timeouts, resets, stream cut early          retryable
    ├── MalformedStream           a chunk that is not JSON, an empty answer with no reason   retryable
    ├── AuthError                 401/403
    ├── BadRequest                any other 4xx (and quota exhausted), with the server's text
    │   └── HostNotAllowed        a request for a host the config did not name
    └── ContentFiltered           the provider's safety filter blocked it; .partial_text

httpx and aiohttp exceptions never leave a provider: `stream_chat` turns them into the tree above.
Cancellation is plain ``asyncio.CancelledError``; the HTTP response is closed on the way out.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import aiohttp
import httpx

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers.sse import SSEDecoder

Message = dict[str, str]
DeltaCallback = Callable[[str], None]

CONNECT_TIMEOUT = 10.0


@dataclass(slots=True)
class Completion:
    text: str
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    started_at: float
    first_token_at: float | None
    finished_at: float
    chunks: list[tuple[float, str]]


# ---------------------------------------------------------------- errors

class ProviderError(Exception):
    """A request that failed; `message` is one line and includes what the server said."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimited(ProviderError):
    retryable = True

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None,
                 retry_at: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
        self.retry_at = retry_at  # absolute time when Retry-After was an HTTP-date


class TransientError(ProviderError):
    retryable = True


class MalformedStream(ProviderError):
    retryable = True


class AuthError(ProviderError):
    pass


class BadRequest(ProviderError):
    pass


class HostNotAllowed(BadRequest):
    pass


class ContentFiltered(ProviderError):
    def __init__(self, message: str, *, status: int | None = None, partial_text: str = "",
                 completion: Completion | None = None) -> None:
        super().__init__(message, status=status)
        self.partial_text = partial_text
        self.completion = completion  # what streamed before the block, timings included


# ---------------------------------------------------------------- classification

_FILTER_CODES = frozenset({"content_filter", "data_inspection_failed", "1301", "content_policy_violation",
                           "responsibleaipolicyviolation", "sensitive_content"})
_FILTER_PHRASES = ("content_filter", "content filter", "content management policy", "inappropriate content",
                   "content exists risk", "不安全或敏感内容", "敏感内容", "data_inspection_failed")


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_fields(payload: Any) -> tuple[str, str]:
    """(code-ish text, message) from the error shapes of OpenAI, Azure, Anthropic, Qwen, GLM, vLLM."""
    if isinstance(payload, Mapping) and "error" in payload:
        payload = payload["error"]
    if isinstance(payload, str):
        return "", payload
    if not isinstance(payload, Mapping):
        return "", "" if payload is None else str(payload)
    inner = payload.get("innererror")
    parts = [payload.get("code"), payload.get("type"), inner.get("code") if isinstance(inner, Mapping) else None]
    code = " ".join(str(p) for p in parts if p not in (None, ""))
    message = payload.get("message") or payload.get("detail") or payload.get("msg") or ""
    return code, str(message)


def is_content_filter(code: str, message: str) -> bool:
    if any(c.lower() in _FILTER_CODES for c in code.split()):
        return True
    low = message.lower()
    return any(p in low for p in _FILTER_PHRASES)


def parse_retry_after(headers: Mapping[str, str], now: float) -> tuple[float | None, float | None]:
    """(seconds, absolute time if given as an HTTP-date) from Retry-After / retry-after-ms."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000), None
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None, None
    try:
        return max(0.0, float(value)), None
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None, None
    return max(0.0, at - now), at


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """Classify a non-200 answer by its status, then by the provider's error code and text."""
    try:
        code, server_msg = error_fields(json.loads(body))
    except ValueError:
        code, server_msg = "", body.decode("utf-8", "replace")
    message = one_line(f"HTTP {status}: {server_msg or 'no error message'}" + (f" ({code})" if code else ""))
    if is_content_filter(code, server_msg):
        return ContentFiltered(message, status=status)
    if status == 429:
        if "insufficient_quota" in code:  # billing, not pacing: waiting will not help
            return BadRequest(message, status=status)
        after, at = parse_retry_after(headers, time.time())
        return RateLimited(message, status=status, retry_after=after, retry_at=at)
    if status in (401, 403):
        return AuthError(message, status=status)
    if status >= 500 or status in (408, 409, 425):
        return TransientError(message, status=status)
    return BadRequest(message, status=status)


def error_from_stream(payload: Any, partial_text: str) -> ProviderError:
    """Classify an error object that arrived inside a 200 stream (no HTTP status to go by)."""
    code, server_msg = error_fields(payload)
    message = one_line(f"error in stream: {server_msg or 'no message'}" + (f" ({code})" if code else ""))
    low = code.lower()
    if is_content_filter(code, server_msg):
        return ContentFiltered(message, partial_text=partial_text)
    if "rate_limit" in low or "429" in low.split():
        return RateLimited(message, status=None)
    if "authentication" in low or "permission" in low or {"401", "403"} & set(low.split()):
        return AuthError(message)
    if "invalid_request" in low or "not_found" in low or "400" in low.split():
        return BadRequest(message)
    return TransientError(message)


def error_from_exception(exc: BaseException, timeout_s: float) -> ProviderError:
    """Transport failures: timeouts and resets are transient, a bad URL is the config's fault."""
    # httpx-aiohttp re-raises aiohttp errors as httpx ones, not always the right one (a refused
    # connection becomes ConnectTimeout): judge by the original
    if isinstance(exc.__cause__, aiohttp.ClientError):
        exc = exc.__cause__
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return TransientError(f"timed out (limit {timeout_s:g}s)")
    detail = one_line(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | aiohttp.InvalidURL):
        return BadRequest(f"bad URL: {detail}")
    if isinstance(exc, httpx.ConnectError | aiohttp.ClientConnectorError):
        return TransientError(f"could not connect: {detail}")
    return TransientError(f"connection lost: {detail}")


# ---------------------------------------------------------------- streaming helpers

class StreamState:
    """What one attempt has received so far; records every delta with its time."""

    __slots__ = ("chunks", "done", "finish_reason", "first_token_at", "on_delta", "started_at",
                 "tokens_in", "tokens_out")

    def __init__(self, on_delta: DeltaCallback | None) -> None:
        self.on_delta = on_delta
        self.started_at = time.time()
        self.first_token_at: float | None = None
        self.chunks: list[tuple[float, str]] = []
        self.finish_reason: str | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.done = False

    def add(self, text: str) -> None:
        now = time.time()
        if self.first_token_at is None:
            self.first_token_at = now
        self.chunks.append((now - self.started_at, text))
        if self.on_delta is not None:
            self.on_delta(text)

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.chunks)

    def completion(self) -> Completion:
        return Completion(self.text, self.finish_reason, self.tokens_in, self.tokens_out, self.started_at,
                          self.first_token_at, time.time(), self.chunks)

    def finish(self, end_marker: str) -> Completion:
        """The completion, or the error that an unfinished or empty stream amounts to."""
        if self.finish_reason == "content_filter":
            c = self.completion()
            raise ContentFiltered("blocked by the provider's content filter (finish_reason content_filter)",
                                  partial_text=c.text, completion=c)
        if self.finish_reason is None:
            if not self.done:
                raise TransientError(f"stream cut before {end_marker} after {len(self.chunks)} chunks")
            if not self.chunks:
                raise MalformedStream("empty answer with no finish reason")
        return self.completion()


class ChatProvider(ABC):
    """One wire protocol. `stream_chat` makes exactly one attempt; retrying is the caller's policy."""

    def __init__(self, target: TargetConfig, http: httpx.AsyncClient, api_key: str | None) -> None:
        self.target = target
        self.http = http
        self.api_key = api_key
        t = target.timeout_s
        self._timeout = httpx.Timeout(connect=min(CONNECT_TIMEOUT, t), read=t, write=t, pool=t)

    async def stream_chat(self, messages: Sequence[Message], on_delta: DeltaCallback | None = None
                          ) -> Completion:
        try:
            async with asyncio.timeout(self.target.timeout_s):
                return await self._stream(messages, on_delta)
        except ProviderError:
            raise
        except (TimeoutError, httpx.HTTPError, aiohttp.ClientError, OSError) as e:
            raise error_from_exception(e, self.target.timeout_s) from e

    def _key_source(self) -> str:
        env = self.target.api_key_env
        return f"${env}" if env else "the target's api_key_env (none is set)"

    @abstractmethod
    async def _stream(self, messages: Sequence[Message], on_delta: DeltaCallback | None) -> Completion:
        """One attempt, no timeout handling; may raise httpx/aiohttp errors."""

    async def _read_events(self, url: str, headers: dict[str, str], body: dict[str, Any], state: StreamState,
                           on_event: Callable[[Any, StreamState], None]) -> None:
        """POST, then feed every SSE event to on_event until the state says the stream is done.

        Reading goes on after the end marker so the connection ends cleanly and returns to the pool.
        """
        decoder = SSEDecoder()
        async with self._post(url, headers, body) as chunks:
            async for raw in chunks:
                for ev in decoder.feed(raw):
                    if not state.done:
                        on_event(ev, state)
            for ev in decoder.flush():
                if not state.done:
                    on_event(ev, state)

    @asynccontextmanager
    async def _post(self, url: str, headers: dict[str, str], body: dict[str, Any]
                    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """POST and yield the body's byte iterator; a non-200 answer raises its classified error."""
        request = self.http.build_request(
            "POST", url, headers=headers, timeout=self._timeout,
            content=json.dumps(body, ensure_ascii=False).encode())
        response = await self.http.send(request, stream=True)
        try:
            if response.status_code != 200:
                error = error_from_response(response.status_code, response.headers, await response.aread())
                if isinstance(error, AuthError):
                    error = AuthError(f"{error.message}; check the key in {self._key_source()}",
                                      status=error.status)
                raise error
            encoding = response.headers.get("content-encoding", "identity")
            # aiter_raw skips httpx's decoder layer when there is nothing to decode
            yield response.aiter_raw() if encoding == "identity" else response.aiter_bytes()
        finally:
            await response.aclose()
