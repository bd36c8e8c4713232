"""The provider contract: messages in, one streamed Completion out, failures as classified errors.

Exception tree (everything a provider raises, apart from asyncio.CancelledError)::

    ProviderError           error         .message .status .retryable .kind
    ├── RateLimited         rate_limited  429; .retry_after (s), .retry_at (epoch, HTTP-date)   retryable
    ├── TransientError      transient     5xx, 408/409, timeouts, resets, stream cut early      retryable
    ├── MalformedStream     malformed     a chunk that is not JSON, an empty answer, no reason  retryable
    ├── AuthError           auth          401/403
    ├── BadRequest          bad_request   any other 4xx (and quota exhausted), the server's text
    │   └── HostNotAllowed  bad_request   a request for a host the config did not name
    └── ContentFiltered     blocked       the provider's safety filter blocked it; .partial_text

The second column is each class's ``kind``: what a failed turn stores as its error_kind (a subclass
keeps its parent's kind unless it names its own).

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
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
import httpx

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers.sse import SSEDecoder

Message = dict[str, str]
DeltaCallback = Callable[[str], None]

CONNECT_TIMEOUT = 10.0
_HEAD_LIMIT = 8 << 20
"""Bytes kept while a body shows no SSE event, in case it is one JSON completion."""


@dataclass(slots=True)
class Completion:
    text: str
    """The answer only: reasoning (reasoning_content, thinking blocks, inline <think>) is never in it."""
    finish_reason: str | None
    tokens_in: int | None
    tokens_out: int | None
    started_at: float
    first_token_at: float | None
    finished_at: float
    chunks: list[tuple[float, str]]
    """(offset s, text) of every answer piece: their texts join to `text`."""
    reasoning: str = ""
    """The model's reasoning, kept apart from the answer: stored and shown, never judged as the answer."""
    reasoning_chunks: list[tuple[float, str]] = field(default_factory=list)


BLOCK_REASONS = frozenset({"content_filter", "sensitive", "refusal"})
"""Finish reasons that mean the provider stopped the answer: OpenAI/Azure/Qwen content_filter, GLM
sensitive, Anthropic refusal."""
TRUNCATED = "length"
"""The finish reason of an answer cut by max_tokens (Anthropic's max_tokens is stored as this)."""
_FINISH_ALIASES = {"max_tokens": "length", "model_length": "length"}
"""Gateways passing Anthropic's max_tokens through, Mistral's model_length: the same cut."""
_FAILED_REASONS = frozenset({"network_error", "error"})
"""GLM's network_error, Mistral's error: the server failed mid-answer; asking again may work."""


# ---------------------------------------------------------------- errors

class ProviderError(Exception):
    """A request that failed; `message` is one line and includes what the server said."""

    retryable: ClassVar[bool] = False
    kind: ClassVar[str] = "error"
    """Stored as the failed turn's error_kind; see the tree above."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimited(ProviderError):
    retryable = True
    kind = "rate_limited"

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None,
                 retry_at: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
        self.retry_at = retry_at  # absolute time when Retry-After was an HTTP-date


class TransientError(ProviderError):
    retryable = True
    kind = "transient"


class MalformedStream(ProviderError):
    retryable = True
    kind = "malformed"


class AuthError(ProviderError):
    kind = "auth"


class BadRequest(ProviderError):
    kind = "bad_request"


class HostNotAllowed(BadRequest):
    kind = "bad_request"  # a BadRequest: the config's fault, not the provider's


class ContentFiltered(ProviderError):
    kind = "blocked"

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

_OPEN, _CLOSE = "<think>", "</think>"


class StreamState:
    """What one attempt has received so far; records every answer and reasoning delta with its time.

    Content that may carry inline ``<think>…</think>`` (OpenAI-compatible servers without a reasoning
    parser) goes through `add_content`, which routes the think block to the reasoning even when its tags
    arrive split across chunks; text that is known to be the answer goes through `add`.
    """

    __slots__ = ("_held", "_mode", "chunks", "done", "finish_reason", "first_token_at", "on_delta",
                 "on_reasoning", "reasoning_chunks", "started_at", "tokens_in", "tokens_out")

    def __init__(self, on_delta: DeltaCallback | None, on_reasoning: DeltaCallback | None = None) -> None:
        self.on_delta = on_delta
        self.on_reasoning = on_reasoning
        self.started_at = time.time()
        self.first_token_at: float | None = None
        self.chunks: list[tuple[float, str]] = []
        self.reasoning_chunks: list[tuple[float, str]] = []
        self.finish_reason: str | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.done = False
        self._mode = "start"  # start | think | after | answer: where add_content is in a <think> block
        self._held = ""  # text not yet routed: a tag that may still be completing

    def _offset(self) -> float:
        """Seconds since the request started; the first call of an attempt is its first token."""
        now = time.time()
        if self.first_token_at is None:
            self.first_token_at = now
        return now - self.started_at

    def add(self, text: str) -> None:
        self.chunks.append((self._offset(), text))
        if self.on_delta is not None:
            self.on_delta(text)

    def add_reasoning(self, text: str) -> None:
        self.reasoning_chunks.append((self._offset(), text))
        if self.on_reasoning is not None:
            self.on_reasoning(text)

    def add_content(self, text: str) -> None:
        """Answer text that may open with an inline <think> block."""
        if self._mode == "answer":
            self.add(text)
            return
        buf = self._held + text
        self._held = ""
        if self._mode == "start":
            head = buf.lstrip()
            if not head or (len(head) < len(_OPEN) and _OPEN.startswith(head)):
                self._held = buf  # whitespace, or "<thi": wait for more
                return
            if not head.startswith(_OPEN):
                self._mode = "answer"
                self.add(buf)
                return
            self._mode, buf = "think", head[len(_OPEN):]
        if self._mode == "think":
            end = buf.find(_CLOSE)
            if end < 0:
                keep = _partial_tag(buf, _CLOSE)
                if len(buf) > keep:
                    self.add_reasoning(buf[: len(buf) - keep])
                self._held = buf[len(buf) - keep:] if keep else ""
                return
            if end:
                self.add_reasoning(buf[:end])
            self._mode, buf = "after", buf[end + len(_CLOSE):]
        head = buf.lstrip()  # after </think>: the blank lines before the answer are layout, not answer
        if not head:
            return
        self._mode = "answer"
        self.add(head)

    def _flush_content(self) -> None:
        """End of stream: text held back while a tag might complete goes where it belongs."""
        held, self._held = self._held, ""
        if held and self._mode == "start":
            self._mode = "answer"
            self.add(held)
        elif held and self._mode == "think":
            self.add_reasoning(held)  # an unclosed <think>: everything was reasoning

    def _split_bare_close(self) -> None:
        """R1 distills whose chat template opens <think> in the prompt send only the closing tag: the
        text before a lone </think> is reasoning (the live view showed it as answer until now)."""
        if self.reasoning_chunks or self._mode != "answer":
            return
        text = self.text
        end = text.find(_CLOSE)
        if end < 0 or _OPEN in text[:end] or _CLOSE in text[end + 1:]:
            return
        cut = end + len(_CLOSE)
        cut += len(text[cut:]) - len(text[cut:].lstrip())
        answer: list[tuple[float, str]] = []
        pos = 0
        for t, piece in self.chunks:
            lo, hi = pos, pos + len(piece)
            pos = hi
            if lo < end:
                self.reasoning_chunks.append((t, piece[: end - lo]))
            if hi > cut:
                answer.append((t, piece[max(0, cut - lo):]))
        self.chunks = answer

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.chunks)

    @property
    def reasoning(self) -> str:
        return "".join(t for _, t in self.reasoning_chunks)

    def completion(self) -> Completion:
        return Completion(self.text, self.finish_reason, self.tokens_in, self.tokens_out, self.started_at,
                          self.first_token_at, time.time(), self.chunks, self.reasoning, self.reasoning_chunks)

    def finish(self, end_marker: str) -> Completion:
        """The completion, or the error that an unfinished, blocked or empty stream amounts to.

        An answer with a finish reason but no text is returned as it is: the caller stores it as an
        empty answer (never scored); only a stream with nothing at all and no reason is malformed.
        """
        self._flush_content()
        self._split_bare_close()
        if self.reasoning_chunks and not self.reasoning.strip():
            self.reasoning_chunks = []  # an empty <think></think> (Qwen3 with thinking off) is no reasoning
        reason = self.finish_reason = _FINISH_ALIASES.get(self.finish_reason or "", self.finish_reason)
        if reason in _FAILED_REASONS:
            raise TransientError(f"the server stopped the answer with finish_reason {reason} after "
                                 f"{len(self.chunks)} chunks")
        if reason in BLOCK_REASONS:
            c = self.completion()
            what = ("the model's safety system stopped the answer (stop_reason refusal)" if reason == "refusal"
                    else f"blocked by the provider's content filter (finish_reason {reason})")
            raise ContentFiltered(what, partial_text=c.text, completion=c)
        if reason is None:
            if not self.done:
                raise TransientError(f"stream cut before {end_marker} after {len(self.chunks)} chunks")
            if not self.chunks and not self.reasoning_chunks:
                raise MalformedStream("empty answer with no finish reason")
        return self.completion()


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest end of text that is a start of tag (a tag split across chunks)."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def json_body(data: bytes) -> Any:
    """A whole response body that is one JSON value (a server that ignored stream: true), or None."""
    stripped = data.strip()
    if not stripped.startswith(b"{"):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


class ChatProvider(ABC):
    """One wire protocol. `stream_chat` makes exactly one attempt; retrying is the caller's policy."""

    def __init__(self, target: TargetConfig, http: httpx.AsyncClient, api_key: str | None) -> None:
        self.target = target
        self.http = http
        self.api_key = api_key
        t = target.timeout_s
        self._timeout = httpx.Timeout(connect=min(CONNECT_TIMEOUT, t), read=t, write=t, pool=t)

    async def stream_chat(self, messages: Sequence[Message], on_delta: DeltaCallback | None = None,
                          on_reasoning: DeltaCallback | None = None) -> Completion:
        """One attempt. on_delta gets answer text as it arrives, on_reasoning the reasoning text."""
        try:
            async with asyncio.timeout(self.target.timeout_s):
                return await self._stream(messages, StreamState(on_delta, on_reasoning))
        except ProviderError:
            raise
        except (TimeoutError, httpx.HTTPError, aiohttp.ClientError, OSError) as e:
            raise error_from_exception(e, self.target.timeout_s) from e

    def _key_source(self) -> str:
        env = self.target.api_key_env
        return f"${env}" if env else "the target's api_key_env (none is set)"

    @abstractmethod
    async def _stream(self, messages: Sequence[Message], state: StreamState) -> Completion:
        """One attempt, no timeout handling; may raise httpx/aiohttp errors."""

    async def _read_events(self, url: str, headers: dict[str, str], body: dict[str, Any], state: StreamState,
                           on_event: Callable[[Any, StreamState], None],
                           on_whole: Callable[[Any, StreamState], None]) -> None:
        """POST, then feed every SSE event to on_event until the state says the stream is done.

        A server that ignores ``stream: true`` answers with one JSON object (content-type
        application/json, or a body with no SSE event that parses as one object): on_whole reads it as
        the whole completion. Reading goes on after the end marker so the connection ends cleanly and
        returns to the pool.
        """
        decoder = SSEDecoder()
        async with self._post(url, headers, body) as (chunks, content_type):
            if "json" in content_type and "event-stream" not in content_type:
                data = b"".join([raw async for raw in chunks])
                self._whole(data, state, on_whole)
                return
            head: list[bytes] | None = []  # the body so far, until it shows an SSE event
            size = 0
            async for raw in chunks:
                events = decoder.feed(raw)
                if head is not None:
                    size += len(raw)
                    if events or size > _HEAD_LIMIT:
                        head = None
                    else:
                        head.append(raw)
                for ev in events:
                    if not state.done:
                        on_event(ev, state)
            events = decoder.flush()
            if head is not None and not events:
                obj = json_body(b"".join(head))
                if isinstance(obj, dict):
                    on_whole(obj, state)
                    state.done = True
                    return
            for ev in events:
                if not state.done:
                    on_event(ev, state)

    def _whole(self, data: bytes, state: StreamState, on_whole: Callable[[Any, StreamState], None]) -> None:
        obj = json_body(data)
        if not isinstance(obj, dict):
            raise MalformedStream(f"response is not a JSON object: {one_line(data.decode('utf-8', 'replace'), 80)!r}")
        on_whole(obj, state)
        state.done = True

    @asynccontextmanager
    async def _post(self, url: str, headers: dict[str, str], body: dict[str, Any]
                    ) -> AsyncIterator[tuple[AsyncIterator[bytes], str]]:
        """POST and yield (the body's byte iterator, its content type); a non-200 answer raises its
        classified error."""
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
            content_type = response.headers.get("content-type", "").lower()
            # aiter_raw skips httpx's decoder layer when there is nothing to decode
            yield (response.aiter_raw() if encoding == "identity" else response.aiter_bytes()), content_type
        finally:
            await response.aclose()
