"""What finding the failures costs at full scale: 2,456 items × 13 targets × 2 rounds (64k answers).

The filter menu counts every finding once when it opens (findings.Answers.counts); a live filter asks
again, at each navigator flush of a run, only the items whose glyphs changed (Navigator._update_shown),
where asking every item again is what a full refill costs. Prints the median of a few repeats of each.

    python benches/findings_scale.py [--items N] [--targets T]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from scsafety_tui.scoring import AnswerRow
from scsafety_tui.tui.findings import KINDS, Answers

GLYPHS = ("0", "1", "2", "2", "2", "1", "⁰", "✗", "⊘", "∅", "?")


def state(items: int, targets: int, seed: int = 7) -> tuple[list[str], list[str], Answers]:
    rng = random.Random(seed)
    ids, keys = [f"item-{i:05d}" for i in range(items)], [f"target-{t:02d}" for t in range(targets)]
    glyphs, rows, labels = {}, {}, {}
    for i in ids:
        for t in keys:
            marks = [rng.choice(GLYPHS) for _ in range(2)]
            glyphs[(i, t)] = marks
            for r, m in enumerate(marks, 1):
                score = {"0": 0, "1": 1, "2": 2, "⁰": 0}.get(m)
                judges = (score,) if rng.random() > 0.05 else (score, (score or 0) + 1)
                rows[(t, i, r)] = AnswerRow(t, i, "c", "s", r, "done" if score is not None else "error", judges)
                if rng.random() < 0.01:
                    labels[(t, i, r)] = rng.choice((0, 1, 2))
    return ids, keys, Answers(glyphs, rows, labels)


def timed(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2456)
    ap.add_argument("--targets", type=int, default=13)
    args = ap.parse_args()
    ids, keys, answers = state(args.items, args.targets)
    print(f"{args.items} items × {args.targets} targets × 2 rounds = {args.items * args.targets * 2:,} answers")
    print(f"filter menu counts (every kind, every item): {timed(lambda: answers.counts(ids, keys)) * 1000:7.1f} ms")
    for kind, _, _ in KINDS[:3]:
        full = timed(lambda kind=kind: [i for i in ids if answers.item_has(kind, i, keys)])
        print(f"{kind:>8}: every item asked again {full * 1000:7.1f} ms", end="")
        changed = ids[:: max(1, len(ids) // 13)][:13]  # a flush during a run: a few conversations moved
        part = timed(lambda kind=kind, changed=changed: [i for i in changed if answers.item_has(kind, i, keys)])
        print(f"   the {len(changed)} changed items only {part * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
