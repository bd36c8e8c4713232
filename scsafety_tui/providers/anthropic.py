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
    ContentFiltered,
    DeltaCallback,
    MalformedStream,
    Message,
    StreamState,
    error_from_stream,
    one_line,
)
from scsafety_tui.providers.sse import SSEEvent

API_VERSION = "2023-06-01"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


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

    async def _stream(self, messages: Sequence[Message], on_delta: DeltaCallback | None) -> Completion:
        state = StreamState(on_delta)
        await self._read_events(self.url, self.headers, self.body(messages), state, _on_event)
        if state.finish_reason == "refusal":
            c = state.completion()
            raise ContentFiltered("the model's safety system stopped the answer (stop_reason refusal)",
                                  partial_text=c.text, completion=c)
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
        if delta.get("type") == "text_delta" and delta.get("text"):
            state.add(delta["text"])  # thinking_delta and others are not the answer
    elif kind == "message_start":
        usage = (obj.get("message") or {}).get("usage") or {}
        if "input_tokens" in usage:
            state.tokens_in = sum(usage.get(k) or 0 for k in
                                  ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    elif kind == "message_delta":
        reason = (obj.get("delta") or {}).get("stop_reason")
        if reason:
            state.finish_reason = _FINISH.get(reason, reason)
        out = (obj.get("usage") or {}).get("output_tokens")
        if out is not None:
            state.tokens_out = out
    elif kind == "message_stop":
        state.done = True
    elif kind == "error":
        raise error_from_stream(obj, state.text)
