"""Re-judging a whole demo session into verdict sets, and how far the judges agree.

Runs the shipped 100-item bank against the four demo personas (800 answers) with the demo's rubric judge,
then rejudges every answer with the offline heuristic and with the demo's Qwen3Guard persona as a guard
judge, each into its own set; prints the time each rejudge took and the quadratic-weighted κ of each set
against the run's own (compare.session_sets: the same interval method as judge vs human), with the number
of answers scored differently. A demo server on loopback, a SQLite file in a temporary folder.

    python benches/rejudge_sets.py [--items 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scsafety_tui.compare import session_sets
from scsafety_tui.demo.server import DemoServer
from scsafety_tui.demo_profile import demo_config, demo_target
from scsafety_tui.engine.rejudge import rejudge
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import load_banks
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import load_taxonomy


async def main(items: int) -> None:
    server = DemoServer(first_token_delay=0.0, token_delay=0.0)
    url = await server.start()
    taxonomy = load_taxonomy()
    bank = load_banks([SAMPLE_BANK], taxonomy)[:items]
    config = demo_config(url)
    guard = replace(demo_target("guard", url, "demo-qwen3guard", concurrency=16), kind="qwen3guard")
    with_guard = replace(config, judge=replace(config.judge, targets=(*config.judge.targets, guard)))
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(str(Path(tmp) / "bench.db"))
        try:
            sid = await create_session(store, config, taxonomy, bank, name="rejudge bench")
            t0 = time.perf_counter()
            await (await prepare(store, sid, lambda _e: None, config=config)).run()
            print(f"run: {len(bank)} items × {len(config.targets)} personas in {time.perf_counter() - t0:.2f} s")
            for judge in ("heuristic", "guard"):
                t0 = time.perf_counter()
                result = await rejudge(store, sid, config=with_guard, judges=[judge])
                took = time.perf_counter() - t0
                c = await session_sets(store, sid, result.vset, "")
                print(f"rejudge --judge {judge}: {result.tried} answers in {took:.2f} s "
                      f"({1000 * took / max(1, result.tried):.2f} ms/answer); {c.agreement.text()}; "
                      f"{len(c.disagreements)} scored differently")
        finally:
            await store.close()
    await server.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=100)
    asyncio.run(main(p.parse_args().items))
