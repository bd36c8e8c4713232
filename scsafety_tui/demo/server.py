"""Loopback demo server: OpenAI-compatible (and a small Anthropic) chat API over scripted personas.

Binds 127.0.0.1 only. Runs inside the caller's event loop (see launch.py for a thread or the foreground).
Per request, ``x-demo-first-token-delay`` / ``x-demo-token-delay`` override the delays, ``x-demo-chunks: N``
stretches or trims the answer to exactly N chunks (for benchmarks), and faults.py lists the test knobs.
A request's ``max_tokens`` is honoured (one chunk is one token): the answer is cut there and finishes
with ``length`` (Anthropic: ``max_tokens``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from scsafety_tui.demo.faults import (
    ERROR_KNOBS,
    AttemptCounter,
    UnknownKnob,
    active,
    header_knobs,
    parse_knobs,
    split_model,
)
from scsafety_tui.demo.personas import ALL_MODELS, answer, conversation_rng, split_chunks
from scsafety_tui.demo.protocol import (
    Reject,
    conversation,
    dumps,
    error_response,
    number,
    stretch,
    wants_usage,
)
from scsafety_tui.demo.wire import AnthropicWire, OpenAIWire, Wire, usage_counts

log = logging.getLogger(__name__)

_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
SLOW_FIRST_TOKEN = 5.0
THINKING = ("Thinking", " about", " safety", "…")
"""What the "reasoning" knob streams as reasoning before the answer."""


@dataclass(slots=True)
class _Plan:
    """Everything one response will do, decided before the first byte goes out."""

    model: str
    faults: frozenset[str]
    chunks: list[str]
    tokens_in: int
    first_delay: float
    token_delay: float
    thinking: list[str]
    """Reasoning chunks streamed before the answer (the "reasoning" knob)."""
    finish: str = "stop"
    """"length" when max_tokens cut the reasoning or the answer (one chunk is one token)."""

    @property
    def trip(self) -> int:
        """The chunk index where a mid-stream fault strikes."""
        return min(3, len(self.chunks) // 2)


class DemoServer:
    def __init__(self, port: int = 0, *, first_token_delay: float = 0.3, token_delay: float = 0.03,
                 seed: int = 0) -> None:
        self.port = port
        self.first_token_delay = first_token_delay
        self.token_delay = token_delay
        self.seed = seed
        self.url = ""
        self.requests = 0
        """Chat requests received (both protocols)."""
        self.disconnects = 0
        """Responses abandoned by the client before they were complete."""
        self.client_gone = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        """Chat responses being served now, and the most at once (to check clients' concurrency caps)."""
        self.last_request: dict[str, Any] = {}
        """Path, headers and JSON body of the latest chat request, for tests of what clients send."""
        self._attempts = AttemptCounter()
        self._runner: web.AppRunner | None = None
        self._stopping = False

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        # handler_cancellation: a client that leaves cancels its handler, which is how disconnects are seen
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        return self.url

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DemoServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ handlers

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "scsafety-demo"} for m in ALL_MODELS]
        return web.json_response({"object": "list", "data": data})

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "openai")

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "anthropic")

    async def _serve(self, request: web.Request, protocol: str) -> web.StreamResponse:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._respond(request, protocol)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request, protocol: str) -> web.StreamResponse:
        wire_cls = OpenAIWire if protocol == "openai" else AnthropicWire
        try:
            body, plan = await self._plan(request, protocol)
            wire: Wire = (OpenAIWire(plan.model, wants_usage(body, plan.faults)) if protocol == "openai"
                          else AnthropicWire(plan.model))
        except Reject as r:
            return error_response(wire_cls, r)
        try:
            if body.get("stream"):
                return await self._stream(request, plan, wire)
            return await self._complete(request, plan, wire_cls)
        except asyncio.CancelledError:
            self._client_left(plan.model)
            raise

    async def _plan(self, request: web.Request, protocol: str) -> tuple[dict[str, Any], _Plan]:
        try:
            body = await request.json()
        except ValueError:
            raise Reject("bad-request", "The request body is not valid JSON.") from None
        self.last_request = {"path": request.path, "headers": dict(request.headers), "body": body}
        model, messages = body.get("model") if isinstance(body, dict) else None, conversation(body, protocol)
        if not isinstance(model, str) or messages is None:
            raise Reject("bad-request", "'model' and a non-empty 'messages' array are required.")
        base, specs = split_model(model)
        if base not in ALL_MODELS:
            raise Reject("not-found", f"The model `{model}` does not exist or you do not have access to it.")
        try:
            knobs = parse_knobs(specs + header_knobs(request.headers.get("x-demo-fault")))
        except UnknownKnob as e:
            raise Reject("bad-request", str(e)) from None
        faults = active(knobs, self._attempts.next(model, messages))
        if "no-stream-options" in faults and "stream_options" in body:
            raise Reject("no-stream-options")
        for kind in ERROR_KNOBS:
            if kind in faults:
                raise Reject(kind)
        chunks = planned_chunks(model, messages, self.seed, number(request, "x-demo-chunks", 0),
                                bad_judge="badjudge" in faults)
        first = number(request, "x-demo-first-token-delay", self.first_token_delay)
        if "slow" in faults:
            first = max(first, SLOW_FIRST_TOKEN)
        tokens_in, _ = usage_counts(messages, len(chunks))
        thinking, chunks, finish = _budget(list(THINKING) if "reasoning" in faults else [], chunks,
                                           _max_tokens(body))
        return body, _Plan(model, faults, chunks, tokens_in, first,
                           number(request, "x-demo-token-delay", self.token_delay), thinking, finish)

    async def _stream(self, request: web.Request, plan: _Plan, wire: Wire) -> web.StreamResponse:
        resp = web.StreamResponse(headers=_SSE_HEADERS)
        try:
            await resp.prepare(request)
            await self._script(request, resp, plan, wire)
        except ConnectionError:  # the client left before the headers went out, or between two writes
            self._client_left(plan.model)
        return resp

    async def _script(self, request: web.Request, resp: web.StreamResponse, plan: _Plan, wire: Wire) -> None:
        if "hang" in plan.faults:
            await asyncio.get_running_loop().create_future()  # ends when the client or the server goes
        await _pause(plan.first_delay)
        await resp.write(wire.start(plan.tokens_in))
        for word in plan.thinking:
            await resp.write(wire.thinking(word))
        if "empty" in plan.faults:
            await resp.write(wire.end(plan.tokens_in, len(plan.thinking)))
            return
        for i, chunk in enumerate(plan.chunks):
            if i == plan.trip and await _trip(request, resp, plan, wire):
                return
            if i:
                await _pause(plan.token_delay)
            await resp.write(wire.delta(chunk))
        n = len(plan.thinking) + len(plan.chunks)
        await resp.write(wire.finish(plan.finish, n) + wire.end(plan.tokens_in, n))

    async def _complete(self, request: web.Request, plan: _Plan, wire_cls: type[Wire]) -> web.StreamResponse:
        if "hang" in plan.faults:
            await asyncio.get_running_loop().create_future()
        await _pause(plan.first_delay + plan.token_delay * max(0, len(plan.chunks) - 1))
        if "cut" in plan.faults and request.transport is not None:
            request.transport.close()
            return web.Response()
        if "malformed" in plan.faults:
            return web.Response(text="{not json", content_type="application/json")
        finish: str | None
        chunks, finish = plan.chunks, plan.finish
        if "filter" in plan.faults:
            chunks, finish = chunks[: plan.trip], "content_filter"
        if "empty" in plan.faults:
            chunks, finish = [], None
        body = wire_cls.completion(plan.model, "".join(chunks), finish, plan.tokens_in,
                                   len(plan.thinking) + len(chunks), "".join(plan.thinking))
        return web.json_response(body, dumps=dumps)

    def _client_left(self, model: str) -> None:
        if not self._stopping:
            log.info("demo server: the client left mid-answer (%r)", model)
            self.disconnects += 1
            self.client_gone.set()


async def _trip(request: web.Request, resp: web.StreamResponse, plan: _Plan, wire: Wire) -> bool:
    """Apply a mid-stream fault; True when the response ends here."""
    faults = plan.faults
    if "cut" in faults and request.transport is not None:
        request.transport.close()  # flushes what was written, then drops the connection: no chunked end
        return True
    if "eof" in faults:
        return True  # the handler returns; aiohttp ends the body cleanly, with no finish and no [DONE]
    if "stream-error" in faults:
        await resp.write(wire.stream_error())
        return True
    if "filter" in faults:
        await resp.write(wire.finish("content_filter", plan.trip) + wire.end(plan.tokens_in, plan.trip))
        return True
    if "malformed" in faults:
        await resp.write(b"data: {not json\n\n")
    return False


def planned_chunks(model: str, messages: list[dict[str, str]], seed: int, count: float = 0, *,
                   bad_judge: bool = False) -> list[str]:
    """The answer chunks the server streams for a request (before max_tokens and faults): tests and
    benches recompute what was sent with this, character for character."""
    text = answer(split_model(model)[0], messages, seed, bad_judge=bad_judge)
    return stretch(split_chunks(text, conversation_rng(model, messages, seed)), count)


def _max_tokens(body: dict[str, Any]) -> int | None:
    """The request's token limit (OpenAI's max_completion_tokens or max_tokens; Anthropic's max_tokens)."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _budget(thinking: list[str], chunks: list[str], limit: int | None) -> tuple[list[str], list[str], str]:
    """Reasoning and answer cut to `limit` tokens (one chunk each), reasoning first, as a real model
    spends them; the finish is "length" when anything was cut."""
    if limit is None or len(thinking) + len(chunks) <= limit:
        return thinking, chunks, "stop"
    thinking = thinking[:limit]
    return thinking, chunks[: limit - len(thinking)], "length"


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)
