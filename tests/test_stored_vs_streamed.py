"""Every stored answer equals, character for character, what the server streamed, over thousands of
short answers at high concurrency; and the search index agrees with the stored text.

The demo server runs in its own process (a core of its own); the expected text of every answer is
recomputed from the demo server's deterministic personas (scsafety_tui/demo/verify.py).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace

import pytest
from engine_helpers import bank, config_for, run_session

from scsafety_tui.demo import verify

SERVER = "from scsafety_tui.demo import run_forever; run_forever(0, first_token_delay=0, token_delay=0)"
CHUNKS = 16
TARGETS = 4
ITEMS = 250  # x 4 targets x 2 rounds = 2,000 answers


@pytest.fixture(scope="module")
def fast_server():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    yield url
    proc.terminate()
    proc.wait(10)


async def test_thousands_of_streamed_answers_are_stored_whole(db_file, fast_server):
    base = bank()
    items = [replace(it, id=f"{it.id}.{k}") for k in range(ITEMS // len(base) + 1) for it in base][:ITEMS]
    # 2 ms to the first token, 1 ms per token: many turns in flight at every partial save
    headers = {"x-demo-chunks": str(CHUNKS), "x-demo-first-token-delay": "0.002", "x-demo-token-delay": "0.001"}
    config = config_for(fast_server, heuristic=True)
    config = replace(config, targets=tuple(replace(t, concurrency=32, headers=headers)
                                           for t in config.targets[:TARGETS]))
    sid, status, _ = await run_session(db_file, config, items)
    assert status == "done"

    found = list(verify.answers(db_file, sid, chunks=CHUNKS))
    assert len(found) == ITEMS * TARGETS * 2
    assert verify.tally(iter(found)) == {"equal": len(found)}

    with sqlite3.connect(db_file) as con:
        # rank 1: compare the index with the turn table's text too; raises on any mismatch
        con.execute("INSERT INTO turn_fts(turn_fts, rank) VALUES ('integrity-check', 1)")
        by_tail: dict[str, set[int]] = {}
        for a in found:
            by_tail.setdefault(a.sent[-3:], set()).add(a.turn_id)
        for tail, turn_ids in by_tail.items():
            phrase = '"' + tail.replace('"', '""') + '"'
            hits = {r[0] for r in con.execute("SELECT rowid FROM turn_fts WHERE turn_fts MATCH ?", (phrase,))}
            assert turn_ids <= hits, f"search for {tail!r} misses {len(turn_ids - hits)} answer(s) ending with it"
