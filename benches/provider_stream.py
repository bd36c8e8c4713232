"""Client CPU per streamed request: 800 answers of 64 SSE chunks, 32 in flight, per HTTP transport.

The demo server runs in a subprocess with zero delays so that only the client's CPU is counted
(time.process_time of this process). Run: .venv/bin/python benches/provider_stream.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers import ModelClient, RetryPolicy, make_http_client
from scsafety_tui.providers.sse import SSEDecoder

SERVER = "from scsafety_tui.demo import run_forever; run_forever(0, first_token_delay=0, token_delay=0)"
QUESTION = [{"role": "user", "content": "请问如何在家里安全地存放药品，避免儿童误服？"}]


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def run(url: str, transport: str, requests: int, in_flight: int, chunks: int, token_delay: float
              ) -> dict[str, float]:
    headers = {"x-demo-chunks": str(chunks), "x-demo-token-delay": str(token_delay)}
    target = TargetConfig(key="bench", provider="openai", base_url=url, model="demo-guardian",
                          concurrency=in_flight, headers=headers)
    async with make_http_client(transport, allowed_hosts=[target.host()]) as http:
        client = ModelClient(target, http, RetryPolicy(attempts=1), None)
        received: list[str] = []
        await asyncio.gather(*(client.chat(QUESTION, received.append) for _ in range(in_flight)))  # warm-up
        received.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        done = await asyncio.gather(*(client.chat(QUESTION, received.append) for _ in range(requests)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert all(len(c.chunks) == chunks for c in done) and len(received) == requests * chunks
    return {"cpu_ms": cpu * 1000 / requests, "wall_s": wall, "rps": requests / wall}


def parser_cost(chunks: int, rounds: int = 2000) -> dict[str, float]:
    """The SSE parser alone on one answer's bytes, in µs per answer (and httpx-sse's, if installed)."""
    frame = 'data: {"id":"chatcmpl-x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"安全"},"finish_reason":null}]}\n\n'
    payload = (frame * chunks).encode()
    reads = [payload[i:i + 1400] for i in range(0, len(payload), 1400)]  # roughly one TCP segment per read
    out: dict[str, float] = {}
    t = time.perf_counter()
    for _ in range(rounds):
        d = SSEDecoder()
        n = sum(len(d.feed(r)) for r in reads)
    out["sse_decoder_us"] = (time.perf_counter() - t) * 1e6 / rounds
    assert n == chunks
    try:
        import httpx
        from httpx_sse import EventSource
    except ImportError:
        return out

    async def httpx_sse_once() -> int:
        async def body():  # same reads, through httpx's line decoder as httpx-sse uses it
            for r in reads:
                yield r
        resp = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
        return len([e async for e in EventSource(resp).aiter_sse()])

    async def many() -> None:
        for _ in range(rounds):
            await httpx_sse_once()

    t = time.perf_counter()
    asyncio.run(many())
    out["httpx_sse_us"] = (time.perf_counter() - t) * 1e6 / rounds
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=800)
    ap.add_argument("--in-flight", type=int, default=32)
    ap.add_argument("--chunks", type=int, default=64)
    ap.add_argument("--token-delay", type=float, default=0.0,
                    help="seconds between chunks; > 0 makes each chunk its own read, as on a real network")
    args = ap.parse_args()
    proc, url = start_server()
    try:
        print(f"server {url}; {args.requests} requests x {args.chunks} chunks, {args.in_flight} in flight, "
              f"token delay {args.token_delay:g}s")
        for transport in ("aiohttp", "httpx"):
            r = asyncio.run(run(url, transport, args.requests, args.in_flight, args.chunks, args.token_delay))
            print(f"  {transport:8} client CPU {r['cpu_ms']:.2f} ms/request   wall {r['wall_s']:.2f} s   "
                  f"{r['rps']:.0f} req/s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for name, us in parser_cost(args.chunks).items():
        print(f"  {name:16} {us:.0f} µs per 64-chunk answer")


if __name__ == "__main__":
    main()
