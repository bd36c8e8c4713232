"""Stored against streamed: 5,000+ short answers from a fast server, every stored answer compared with
what the server sent, character for character; the search index checked against the turns.

The demo server runs in a subprocess: 5 ms to the first token, 1 ms per token, 64 tokens per answer.
Four targets with 32 conversations in flight each, the offline heuristic judge (no judge traffic).
Run: .venv/bin/python benches/stored_vs_streamed.py [--items 640] [--chunks 64] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scsafety_tui.config import JudgeConfig
from scsafety_tui.demo import verify
from scsafety_tui.demo_profile import demo_config
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import load_banks
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import load_taxonomy

SERVER = "from scsafety_tui.demo import run_forever; run_forever(0, first_token_delay=0.005, token_delay=0.001)"


async def run(url: str, db: str, n_items: int, chunks: int, in_flight: int) -> tuple[int, float]:
    taxonomy = load_taxonomy()
    base = load_banks([SAMPLE_BANK], taxonomy)
    items = [replace(it, id=f"{it.id}.{k}") for k in range(n_items // len(base) + 1) for it in base][:n_items]
    config = demo_config(url)
    config = replace(config, judge=JudgeConfig(mode="heuristic"),
                     targets=tuple(replace(t, concurrency=in_flight, headers={"x-demo-chunks": str(chunks)})
                                   for t in config.targets))
    store = await Store.open(db)
    try:
        sid = await create_session(store, config, taxonomy, items, name="stored-vs-streamed")
        srun = await prepare(store, sid, lambda e: None, config=config)
        wall = time.perf_counter()
        status = await srun.run()
        wall = time.perf_counter() - wall
    finally:
        await store.close()
    assert status == "done", status
    return sid, wall


def index_check(db: str) -> str:
    with sqlite3.connect(db) as con:
        try:
            con.execute("INSERT INTO turn_fts(turn_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as e:
            return f"FAILED ({e})"
    return "ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=640, help="bank items (x 4 targets x 2 rounds answers)")
    ap.add_argument("--chunks", type=int, default=64, help="tokens per answer")
    ap.add_argument("--in-flight", type=int, default=32, help="conversations in flight per target")
    ap.add_argument("--db", help="keep the database here (default: a temporary file)")
    args = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = args.db or str(Path(tmp) / "bench.db")
            sid, wall = asyncio.run(run(url, db, args.items, args.chunks, args.in_flight))
            counts = verify.tally(verify.answers(db, sid, chunks=args.chunks))
            index = index_check(db)
    finally:
        proc.terminate()
        proc.wait(10)
    total = sum(counts.values())
    bad = total - counts["equal"]
    print(f"{total} answers of {args.chunks} tokens, {4 * args.in_flight} in flight, {wall:.1f} s")
    print(f"equal {counts['equal']}  lost {counts['lost']}  cut {counts['cut']}  differ {counts['differ']}  "
          f"other {sum(v for k, v in counts.items() if k.startswith('status'))}  "
          f"({100 * bad / max(1, total):.2f}% wrong)")
    print(f"search index integrity-check: {index}")
    return 0 if bad == 0 and index == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
