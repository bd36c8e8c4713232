"""How loose the pre-run bound is: the whole shipped bank × the demo personas, bound vs tokens used.

The demo server reports usage (input ≈ characters / 2, one token per streamed chunk); with its `no-usage`
knob the counts are estimated from characters instead. Prints, per target and in total, the bound, what
was used and their ratio (the bound must never be below: tests/test_cost.py checks that on smaller runs).

    python benches/cost_bound.py [--limit N] [--max-tokens M]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import replace
from pathlib import Path

from scsafety_tui.cost import estimate_run
from scsafety_tui.demo.server import DemoServer
from scsafety_tui.demo_profile import demo_config
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import load_banks, select_items
from scsafety_tui.store.db import Store
from scsafety_tui.store.usage import target_usage
from scsafety_tui.taxonomy import load_taxonomy


async def one(url: str, usage: bool, limit: int, max_tokens: int, db: Path) -> None:
    taxonomy = load_taxonomy()
    items = select_items(load_banks([SAMPLE_BANK], taxonomy), limit=limit)
    config = demo_config(url)
    targets = tuple(replace(t, max_tokens=max_tokens, model=t.model + ("" if usage else "+no-usage"))
                    for t in config.targets)
    config = replace(config, targets=targets)
    est = estimate_run(config, items, taxonomy)
    store = await Store.open(str(db))
    try:
        sid = await create_session(store, config, taxonomy, items, name="bound")
        srun = await prepare(store, sid, lambda e: None, config=config)
        await srun.run()
        used = {u.key: u for u in await target_usage(store, sid)}
    finally:
        await store.close()
    print(f"\n{len(items)} items, max_tokens {max_tokens}, {'usage from the server' if usage else 'no usage: estimated'}")
    print(f"{'target':16} {'bound in':>10} {'used in':>9} {'ratio':>6} {'bound out':>10} {'used out':>9} {'ratio':>6}")
    for b in est.bounds:
        if b.role != "target":
            continue
        u = used[b.key]
        print(f"{b.key:16} {b.tokens_in:>10,} {u.tokens_in:>9,} {b.tokens_in / max(u.tokens_in, 1):>6.1f}"
              f" {b.tokens_out:>10,} {u.tokens_out:>9,} {b.tokens_out / max(u.tokens_out, 1):>6.1f}")
        assert u.tokens_in <= b.tokens_in and u.tokens_out <= b.tokens_out, (b, u)


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--max-tokens", type=int, default=1024)
    args = p.parse_args()
    async with DemoServer(first_token_delay=0.0, token_delay=0.0) as server:
        with tempfile.TemporaryDirectory() as tmp:
            for i, usage in enumerate((True, False)):
                await one(server.url, usage, args.limit, args.max_tokens, Path(tmp) / f"{i}.db")


if __name__ == "__main__":
    asyncio.run(main())
