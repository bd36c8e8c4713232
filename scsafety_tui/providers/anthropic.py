"""Anthropic Messages API, streamed (base_url like https://api.anthropic.com/v1)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers.base import (
    ChatProvider,
    Completion,
    MalformedStream,
    Message,
    StreamState,
    error_from_stream,
    one_line,
)
from scsafety_tui.providers.sse import SSEEvent

API_VERSION = "2023-06-01"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           "model_context_window_exceeded": "length"}
REDACTED = "[redacted_thinking: the provider sent this reasoning encrypted]"
"""What a redacted_thinking block leaves in the stored reasoning: a note that there was some."""


class AnthropicProvider(ChatProvider):
    def __init__(self, target: TargetConfig, http: httpx.AsyncClient, api_key: str | None) -> None:
        super().__init__(target, http, api_key)
        self.url = f"{target.base_url}/messages"
        self.headers = {"content-type": "application/json", "accept": "text/event-stream",
                        "anthropic-version": API_VERSION, **target.headers}
        if api_key:
            self.headers["x-api-key"] = api_key

    def body(self, messages: Sequence[Message]) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        body: dict[str, Any] = {
            "model": self.target.model, "max_tokens": self.target.max_tokens, "stream": True,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"],
        }
        if system:
            body["system"] = system
        if self.target.temperature is not None:
            # Anthropic's range is 0..1; the config allows OpenAI's 0..2
            body["temperature"] = min(self.target.temperature, 1.0)
        body.update(self.target.params)
        return body

    async def _stream(self, messages: Sequence[Message], state: StreamState) -> Completion:
        await self._read_events(self.url, self.headers, self.body(messages), state, _on_event, _on_whole)
        return state.finish("message_stop")


def _on_event(ev: SSEEvent, state: StreamState) -> None:
    try:
        obj = json.loads(ev.data)
    except ValueError:
        raise MalformedStream(f"stream event is not JSON: {one_line(ev.data, 80)!r}") from None
    if not isinstance(obj, dict):
        raise MalformedStream(f"stream event is not a JSON object: {one_line(ev.data, 80)!r}")
    kind = obj.get("type", ev.event)
    if kind == "content_block_delta":
        delta = obj.get("delta") or {}
        dtype = delta.get("type")
        if dtype == "text_delta" and delta.get("text"):
            state.add(delta["text"])
        elif dtype == "thinking_delta" and delta.get("thinking"):
            state.add_reasoning(delta["thinking"])  # signature_delta and others carry no text
    elif kind == "content_block_start":
        block = obj.get("content_block") or {}
        if block.get("type") == "redacted_thinking":
            state.add_reasoning(_redacted(state))
        elif block.get("type") in ("text", "thinking") and block.get(block["type"]):
            _block_text(block, state)  # a block that starts with text already in it
    elif kind == "message_start":
        _usage((obj.get("message") or {}).get("usage"), state)
    elif kind == "message_delta":
        reason = (obj.get("delta") or {}).get("stop_reason")
        if reason:
            state.finish_reason = _FINISH.get(reason, reason)
        # LiteLLM's Anthropic endpoint (and others) send the whole usage only here
        _usage(obj.get("usage"), state)
    elif kind == "message_stop":
        state.done = True
    elif kind == "error":
        raise error_from_stream(obj, state.text)


def _usage(usage: Any, state: StreamState) -> None:
    if not isinstance(usage, dict):
        return
    if usage.get("input_tokens") is not None:
        state.tokens_in = sum(usage.get(k) or 0 for k in
                              ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    if usage.get("output_tokens") is not None:
        state.tokens_out = usage["output_tokens"]


def _redacted(state: StreamState) -> str:
    return ("\n\n" if state.reasoning_chunks else "") + REDACTED


def _block_text(block: dict[str, Any], state: StreamState) -> None:
    if block.get("type") == "text":
        state.add(block["text"])
    elif block.get("type") == "thinking":
        state.add_reasoning(block["thinking"])


def _on_whole(obj: dict[str, Any], state: StreamState) -> None:
    """A whole Messages API message from a server that ignored stream: true."""
    if obj.get("type") == "error" or "error" in obj:
        raise error_from_stream(obj, "")
    content = obj.get("content")
    if obj.get("type") != "message" or not isinstance(content, list):
        raise MalformedStream(f"JSON answer is not a message: {one_line(json.dumps(obj, ensure_ascii=False), 80)!r}")
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "redacted_thinking":
            state.add_reasoning(_redacted(state))
        elif isinstance(block.get(block.get("type") or ""), str) and block.get(block["type"]):
            _block_text(block, state)
    reason = obj.get("stop_reason")
    if reason:
        state.finish_reason = _FINISH.get(reason, reason)
    _usage(obj.get("usage"), state)
