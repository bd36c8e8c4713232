"""The run screen under load: 13 targets streaming ~50 tokens/s per answer, 4 answers in flight per target,
at 160×48 (8 lanes on screen, the rest scrolled; the lanes follow the item most targets are on).

The demo server runs in a separate process, so the figures are the UI process's alone: event-loop lag
(a task that sleeps 10 ms and records how late it wakes), CPU share, peak RSS. Target: p99 lag < 50 ms.

    .venv/bin/python benches/tui_stream.py [--seconds 60] [--size 160x48] [--targets 13]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

from scsafety_tui.demo_profile import PERSONAS, demo_target
from scsafety_tui.engine.plan import demo_plan
from scsafety_tui.engine.session import create_session
from scsafety_tui.store.db import Store
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.screens.run import RunScreen

SERVER = ("from scsafety_tui.demo.launch import run_forever; "
          "run_forever(0, first_token_delay=0.3, token_delay=0.02, announce=lambda s: print(s, flush=True))")
TARGETS, CONCURRENCY = 13, 4


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def make_session(db: str, url: str, n: int) -> tuple[int, object]:
    plan = demo_plan(url, 0, "bench", concurrency=CONCURRENCY)
    config, taxonomy, items = plan.config, plan.taxonomy, plan.items
    targets = tuple(demo_target(f"t{i + 1}-{PERSONAS[i % 4].removeprefix('demo-')}", url, PERSONAS[i % 4],
                                concurrency=CONCURRENCY) for i in range(n))
    config = replace(config, targets=targets)
    store = await Store.open(db)
    try:
        return await create_session(store, config, taxonomy, items, name="bench"), config
    finally:
        await store.close()


async def probe(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(0.010)
        lags.append(time.perf_counter() - t0 - 0.010)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def bench(seconds: float, size: tuple[int, int], n: int = TARGETS) -> dict[str, float]:
    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "bench.db")
            sid, config = await make_session(db, url, n)
            app = ScSafetyApp(db=db, session_id=sid, run_config=config)  # type: ignore[arg-type]
            lags: list[float] = []
            async with app.run_test(size=size) as pilot:
                while not (isinstance(app.screen, RunScreen) and app.screen.runner is not None):
                    await pilot.pause(0.05)
                screen = app.screen
                stop = asyncio.Event()
                task = asyncio.create_task(probe(lags, stop))
                wall0, cpu0 = time.perf_counter(), cpu_seconds()
                await asyncio.sleep(seconds)
                wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
                stop.set()
                await task
                tokens = sum(screen.bridge.tokens.values())
                progress = screen.st.progress
                screen.stop_run()
                while screen.running:
                    await pilot.pause(0.05)
    finally:
        proc.terminate()
        proc.wait(5)
    lags_ms = sorted(x * 1000 for x in lags)
    return {
        "seconds": wall, "lag_p50_ms": statistics.median(lags_ms),
        "lag_p99_ms": lags_ms[int(len(lags_ms) * 0.99) - 1], "lag_max_ms": lags_ms[-1],
        "cpu_share": cpu / wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tokens_per_s": tokens / wall, "conversations_done": progress.done if progress else 0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--size", default="160x48", help="terminal WIDTHxHEIGHT")
    p.add_argument("--targets", type=int, default=TARGETS)
    args = p.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    r = asyncio.run(bench(args.seconds, (w, h), args.targets))
    print(f"{args.targets} targets × {CONCURRENCY} streams, token_delay 20 ms, {args.size}, {r['seconds']:.0f} s:")
    print(f"  event-loop lag  p50 {r['lag_p50_ms']:.1f} ms  p99 {r['lag_p99_ms']:.1f} ms  "
          f"max {r['lag_max_ms']:.1f} ms  (target p99 < 50 ms: {'ok' if r['lag_p99_ms'] < 50 else 'MISSED'})")
    print(f"  UI process CPU  {100 * r['cpu_share']:.0f}% of one core   peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"  streamed        {r['tokens_per_s']:.0f} tokens/s, {r['conversations_done']:.0f} conversations done")


if __name__ == "__main__":
    main()
