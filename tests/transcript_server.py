"""A loopback server that replays recorded-style provider transcripts byte for byte (no tests here).

``POST /<case>/v1/chat/completions`` and ``POST /<case>/v1/messages`` answer with
``tests/transcripts/<case>.sse`` (as ``text/event-stream``, one SSE event per write) or
``<case>.json`` (as ``application/json``: a server that ignores ``stream: true``), whatever the request
says. ``POST /judge/v1/chat/completions`` is a judge that scores like the demo judge and records every
prompt it was shown. Every request body is kept in ``requests`` so tests can check what clients sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from scsafety_tui.demo.personas import judge as demo_verdict

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def transcript(case: str) -> tuple[bytes, str]:
    """The bytes of a case and the content type they are served with."""
    sse, whole = TRANSCRIPTS / f"{case}.sse", TRANSCRIPTS / f"{case}.json"
    if sse.exists():
        return sse.read_bytes(), "text/event-stream; charset=utf-8"
    return whole.read_bytes(), "application/json"


class TranscriptServer:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[tuple[str, dict[str, Any]]] = []
        """(case, JSON body) of every request, in arrival order."""
        self.judge_prompts: list[str] = []
        self._runner: web.AppRunner | None = None

    def base_url(self, case: str) -> str:
        return f"{self.url}/{case}/v1"

    def bodies(self, case: str) -> list[dict[str, Any]]:
        return [body for c, body in self.requests if c == case]

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/judge/v1/chat/completions", self._judge)
        app.router.add_post("/{case}/v1/chat/completions", self._replay)
        app.router.add_post("/{case}/v1/messages", self._replay)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TranscriptServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _replay(self, request: web.Request) -> web.StreamResponse:
        case = request.match_info["case"]
        self.requests.append((case, await request.json()))
        data, content_type = transcript(case)
        resp = web.StreamResponse(headers={"content-type": content_type, "cache-control": "no-cache"})
        await resp.prepare(request)
        if content_type.startswith("application/json"):
            half = len(data) // 2  # in two reads, as a body larger than one read arrives
            await resp.write(data[:half])
            await resp.write(data[half:])
        else:
            events = data.split(b"\n\n")
            for i, event in enumerate(events):
                piece = event + (b"\n\n" if i < len(events) - 1 else b"")
                if piece:
                    await resp.write(piece)
        await resp.write_eof()
        return resp

    async def _judge(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(("judge", body))
        messages = body["messages"]
        self.judge_prompts.append(messages[-1]["content"])
        verdict = demo_verdict(messages)
        head = {"id": "chatcmpl-judge", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for delta, finish in (({"role": "assistant", "content": verdict}, None), ({}, "stop")):
            chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await resp.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
