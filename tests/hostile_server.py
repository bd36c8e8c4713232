"""A loopback OpenAI-compatible server that misbehaves on purpose, for the hostile-output tests.

By model name:
- ``echo-401`` / ``echo-400``: that status, with an error body echoing every request header and the body
  (as careless proxies and some gateways do: "Incorrect API key provided: Bearer sk-…"); echo-400 names
  the params token and the custom header first.
- ``echo-stream``: a 200 stream whose first event is an error object echoing the request headers.
- any name in ``replies``: streams that text as the answer (a judge's verdict, a hostile answer).
Every request's headers and body are kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web


class HostileServer:
    def __init__(self, replies: dict[str, str] | None = None) -> None:
        self.replies = dict(replies or {})
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"  # the ephemeral port
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        headers = dict(request.headers)
        self.requests.append((headers, body))
        model = body.get("model", "")
        auth = request.headers.get("Authorization", "")
        echo = (f"Incorrect API key provided: {auth}; you sent headers {json.dumps(headers)} and body "
                f"{json.dumps(body)}")
        if model == "echo-400":  # what a gateway says about a parameter it rejects
            echo = (f"Invalid parameter api_token={body.get('api_token')!r} with header X-Custom-Token="
                    f"{request.headers.get('X-Custom-Token')!r}; full request: {echo}")
        if model in ("echo-401", "echo-400"):
            status = 401 if model == "echo-401" else 400
            return web.json_response({"error": {"message": echo, "type": "invalid_request_error"}}, status=status)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        if model == "echo-stream":
            await response.write(f"data: {json.dumps({'error': {'message': echo}})}\n\n".encode())
            return response
        text = self.replies.get(model, "ok")
        chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        for c in (chunk, done):
            await response.write(f"data: {json.dumps(c, ensure_ascii=False)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        return response


class HostileServerThread:
    """The same server in a background thread, for synchronous tests that call the CLI (its own loop)."""

    def __init__(self, replies: dict[str, str] | None = None) -> None:
        self.server = HostileServer(replies)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=30)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
