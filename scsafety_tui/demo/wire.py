"""Byte-exact SSE frames and error bodies for the two protocols the demo server speaks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, ClassVar

# kind -> (status, OpenAI type, OpenAI code, Anthropic type, message)
ERRORS: dict[str, tuple[int, str | None, str | None, str, str]] = {
    "ratelimit": (429, "requests", "rate_limit_exceeded", "rate_limit_error",
                  "Rate limit reached for demo model on requests per min (RPM): Limit 3. Please try again in 1s."),
    "auth": (401, "invalid_request_error", "invalid_api_key", "authentication_error",
             "Incorrect API key provided."),
    "error500": (500, "server_error", None, "api_error", "The server had an error while processing your request."),
    "filter-error": (400, None, "content_filter", "invalid_request_error",
                     "The response was filtered due to the prompt triggering the content management policy "
                     "(content filtering policy)."),
    "not-found": (404, "invalid_request_error", "model_not_found", "not_found_error", "The model does not exist."),
    "bad-request": (400, "invalid_request_error", None, "invalid_request_error", "Invalid request."),
    "no-stream-options": (400, "invalid_request_error", None, "invalid_request_error",
                          "Unrecognized request argument supplied: stream_options"),
}
ERRORS["ratelimit-date"] = ERRORS["ratelimit"]
_STREAM_ERROR_OPENAI = {"error": {"message": "The server had an error while processing your request.",
                                  "type": "server_error", "param": None, "code": None}}
_STREAM_ERROR_ANTHROPIC = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def usage_counts(messages: list[dict[str, str]], chunks: int) -> tuple[int, int]:
    return max(1, sum(len(m.get("content") or "") for m in messages) // 2), chunks


class OpenAIWire:
    """chat.completion.chunk frames, as api.openai.com sends them."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": model, "system_fingerprint": "fp_demo"}
        self.include_usage = include_usage

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> bytes:
        obj = {**self.head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if self.include_usage:
            obj["usage"] = None
        return f"data: {_json(obj)}\n\n".encode()

    def start(self, tokens_in: int) -> bytes:
        return self._chunk({"role": "assistant", "content": "", "refusal": None}, None)

    def delta(self, text: str) -> bytes:
        return self._chunk({"content": text}, None)

    def thinking(self, text: str) -> bytes:
        return self._chunk({"content": None, "reasoning_content": text}, None)

    def finish(self, reason: str, tokens_out: int) -> bytes:
        return self._chunk({}, reason)

    def end(self, tokens_in: int, tokens_out: int) -> bytes:
        tail = b""
        if self.include_usage:
            usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                     "total_tokens": tokens_in + tokens_out}
            tail = f"data: {_json({**self.head, 'choices': [], 'usage': usage})}\n\n".encode()
        return tail + b"data: [DONE]\n\n"

    def stream_error(self) -> bytes:
        return f"data: {_json(_STREAM_ERROR_OPENAI)}\n\n".encode()

    @staticmethod
    def error_body(kind: str, message: str | None = None) -> tuple[int, dict[str, Any]]:
        status, etype, code, _, default = ERRORS[kind]
        return status, {"error": {"message": message or default, "type": etype, "param": None, "code": code}}

    @staticmethod
    def completion(model: str, text: str, finish: str | None, tokens_in: int, tokens_out: int,
                   reasoning: str = "") -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if reasoning:
            message["reasoning_content"] = reasoning
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
                "model": model, "system_fingerprint": "fp_demo",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                          "total_tokens": tokens_in + tokens_out}}


class AnthropicWire:
    """Messages API stream events, as api.anthropic.com sends them: thinking in a content block of its
    own (index 0, closed by a signature) before the text block, each opened and closed explicitly."""

    _STOP: ClassVar[dict[str, str]] = {"stop": "end_turn", "content_filter": "refusal", "length": "max_tokens"}

    def __init__(self, model: str) -> None:
        self.model = model
        self.index = -1
        self.open: str | None = None  # the type of the content block being streamed

    @staticmethod
    def _event(name: str, obj: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {_json(obj)}\n\n".encode()

    def start(self, tokens_in: int) -> bytes:
        message: dict[str, Any] = {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "content": [],
                   "model": self.model, "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": tokens_in, "output_tokens": 1}}
        return self._event("message_start", {"type": "message_start", "message": message})

    def _block(self, kind: str) -> bytes:
        """Close the open block (if another kind) and open one of `kind`."""
        if self.open == kind:
            return b""
        out = self._close()
        self.index += 1
        self.open = kind
        block = {"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking" else \
            {"type": "text", "text": ""}
        out += self._event("content_block_start", {"type": "content_block_start", "index": self.index,
                                                   "content_block": block})
        # the API's order: the first block opens before its ping
        return out + self._event("ping", {"type": "ping"}) if self.index == 0 else out

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        out = b""
        if self.open == "thinking":
            out = self._event("content_block_delta", {
                "type": "content_block_delta", "index": self.index,
                "delta": {"type": "signature_delta", "signature": "ZGVtby1zaWduYXR1cmU="}})
        self.open = None
        return out + self._event("content_block_stop", {"type": "content_block_stop", "index": self.index})

    def delta(self, text: str) -> bytes:
        return self._block("text") + self._event("content_block_delta", {
            "type": "content_block_delta", "index": self.index, "delta": {"type": "text_delta", "text": text}})

    def thinking(self, text: str) -> bytes:
        return self._block("thinking") + self._event("content_block_delta", {
            "type": "content_block_delta", "index": self.index,
            "delta": {"type": "thinking_delta", "thinking": text}})

    def finish(self, reason: str, tokens_out: int) -> bytes:
        delta = {"stop_reason": self._STOP.get(reason, reason), "stop_sequence": None}
        return (self._close() + self._event("message_delta", {"type": "message_delta", "delta": delta,
                                                              "usage": {"output_tokens": tokens_out}}))

    def end(self, tokens_in: int, tokens_out: int) -> bytes:
        return self._event("message_stop", {"type": "message_stop"})

    def stream_error(self) -> bytes:
        return self._event("error", _STREAM_ERROR_ANTHROPIC)

    @staticmethod
    def error_body(kind: str, message: str | None = None) -> tuple[int, dict[str, Any]]:
        status, _, _, etype, default = ERRORS[kind]
        return status, {"type": "error", "error": {"type": etype, "message": message or default}}

    @classmethod
    def completion(cls, model: str, text: str, finish: str | None, tokens_in: int, tokens_out: int,
                   reasoning: str = "") -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reasoning:
            content.append({"type": "thinking", "thinking": reasoning, "signature": "ZGVtby1zaWduYXR1cmU="})
        if text:
            content.append({"type": "text", "text": text})
        return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model,
                "content": content,
                "stop_reason": cls._STOP.get(finish, finish) if finish else None, "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}


Wire = OpenAIWire | AnthropicWire
