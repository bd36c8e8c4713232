"""The HTML report's cost: a real demo session (the shipped bank, copied K times, × the four personas, two
rounds each), then the time to load it from the store, to render the page, and the page's size.

    python benches/html_report.py [--copies 1] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scsafety_tui.demo.server import DemoServer
from scsafety_tui.demo_profile import demo_config
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.exports import load_session, to_html
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import load_banks
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import load_taxonomy


async def main(copies: int, db: str) -> None:
    taxonomy = load_taxonomy()
    bank = load_banks([SAMPLE_BANK], taxonomy)
    items = [replace(it, id=f"{it.id}-{k}") for k in range(copies) for it in bank]
    server = DemoServer(first_token_delay=0.0, token_delay=0.0)
    url = await server.start()
    store = await Store.open(db)
    try:
        config = demo_config(url)
        t0 = time.perf_counter()
        sid = await create_session(store, config, taxonomy, items, name="bench")
        await (await prepare(store, sid, lambda e: None, config=config)).run()
        print(f"session: {len(items)} items × {len(config.targets)} targets, run in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        data = await load_session(store, sid)
        print(f"load_session: {time.perf_counter() - t0:.3f} s")
        t0 = time.perf_counter()
        page = to_html(data)
        answers = sum(t.role == "assistant" for tr in data.transcripts for t in tr.turns)
        print(f"to_html: {time.perf_counter() - t0:.3f} s for {answers} answers; "
              f"{len(page.encode()) / 1e6:.2f} MB ({len(page.encode()) / answers / 1e3:.2f} kB per answer)")
    finally:
        await store.close()
        await server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=1, help="the shipped bank this many times (ids suffixed)")
    ap.add_argument("--db", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.copies, args.db or str(Path(tmp) / "bench.db")))
