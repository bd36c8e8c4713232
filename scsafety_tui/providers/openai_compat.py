"""OpenAI-compatible chat completions (OpenAI, DeepSeek, Qwen, GLM, Moonshot, vLLM, Ollama, ...)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers.base import (
    BadRequest,
    ChatProvider,
    Completion,
    MalformedStream,
    Message,
    StreamState,
    error_from_stream,
    one_line,
)
from scsafety_tui.providers.sse import SSEEvent


class OpenAICompatProvider(ChatProvider):
    def __init__(self, target: TargetConfig, http: httpx.AsyncClient, api_key: str | None) -> None:
        super().__init__(target, http, api_key)
        self.url = f"{target.base_url}/chat/completions"
        self.headers = {"content-type": "application/json", "accept": "text/event-stream", **target.headers}
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"
        # flips to False (for this provider's life) once the server rejects stream_options
        self.send_stream_options = True

    def body(self, messages: Sequence[Message]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.target.model, "messages": list(messages), "stream": True,
                                "max_tokens": self.target.max_tokens}
        if self.send_stream_options:
            body["stream_options"] = {"include_usage": True}
        if self.target.temperature is not None:
            body["temperature"] = self.target.temperature
        body.update(self.target.params)
        return body

    async def _stream(self, messages: Sequence[Message], state: StreamState) -> Completion:
        try:
            return await self._once(messages, state)
        except BadRequest as e:
            if not (self.send_stream_options and type(e) is BadRequest and _mentions_stream_options(e)):
                raise
            self.send_stream_options = False
            return await self._once(messages, state)

    async def _once(self, messages: Sequence[Message], state: StreamState) -> Completion:
        await self._read_events(self.url, self.headers, self.body(messages), state, _on_event, _on_whole)
        return state.finish("[DONE]")


def _mentions_stream_options(e: BadRequest) -> bool:
    return "stream_options" in e.message or "include_usage" in e.message


def _on_event(ev: SSEEvent, state: StreamState) -> None:
    data = ev.data
    if data == "[DONE]":
        state.done = True
        return
    try:
        obj = json.loads(data)
    except ValueError:
        raise MalformedStream(f"stream chunk is not JSON: {one_line(data, 80)!r}") from None
    if not isinstance(obj, dict):
        raise MalformedStream(f"stream chunk is not a JSON object: {one_line(data, 80)!r}")
    if "error" in obj or ev.event == "error" or obj.get("object") == "error":
        raise error_from_stream(obj, state.text)
    choices = obj.get("choices")
    if choices:
        choice = choices[0]
        delta = choice.get("delta")
        if delta:
            _take(delta, state)
        reason = choice.get("finish_reason")
        if reason:
            state.finish_reason = reason
    _usage(obj, state)


def _take(part: dict[str, Any], state: StreamState) -> None:
    """A delta's (or a whole message's) text: reasoning apart from the answer.

    reasoning_content (DeepSeek, Qwen) and reasoning (vLLM, OpenRouter) are the model's scratchpad;
    refusal (OpenAI) is the model declining, and is its answer; content may open with inline <think>.
    """
    thought = part.get("reasoning_content") or part.get("reasoning")
    if thought and isinstance(thought, str):
        state.add_reasoning(thought)
    refusal = part.get("refusal")
    if refusal and isinstance(refusal, str):
        state.add(refusal)
    text = part.get("content")
    if text and isinstance(text, str):
        state.add_content(text)


def _usage(obj: dict[str, Any], state: StreamState) -> None:
    usage = obj.get("usage")
    if usage and isinstance(usage, dict):
        state.tokens_in = usage.get("prompt_tokens", state.tokens_in)
        state.tokens_out = usage.get("completion_tokens", state.tokens_out)


def _on_whole(obj: dict[str, Any], state: StreamState) -> None:
    """A chat.completion object from a server that ignored stream: true."""
    if "error" in obj or obj.get("object") == "error":
        raise error_from_stream(obj, "")
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedStream(f"JSON answer without choices: {one_line(json.dumps(obj, ensure_ascii=False), 80)!r}")
    choice = choices[0]
    message = choice.get("message") or choice.get("delta") or {}
    if isinstance(message, dict):
        _take(message, state)
    state.finish_reason = choice.get("finish_reason") or state.finish_reason
    _usage(obj, state)
