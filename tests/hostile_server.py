"""A loopback OpenAI-compatible server that misbehaves on purpose, for the hostile-output tests.

By model name:
- ``echo-401`` / ``echo-400``: that status, with an error body echoing every request header and the body
  (as careless proxies and some gateways do: "invalid key Bearer sk-…").
- ``echo-stream``: a 200 stream whose first event is an error object echoing the request headers.
- any name in ``replies``: streams that text as the answer (a judge's verdict, a hostile answer).
Every request's headers and body are kept in ``requests``.
"""

from __future__ import annotations

import json
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
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        headers = dict(request.headers)
        self.requests.append((headers, body))
        model = body.get("model", "")
        echo = f"invalid credentials; you sent headers {json.dumps(headers)} and body {json.dumps(body)}"
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
