"""Scores past round 2 at full scale: 2,456 items × 13 targets, an attacker up to 4 rounds that stops at
the first unsafe answer (from round 3), about 100k answers.

Measures rounds.rounds_summary (per round, worst round, first unsafe round, share never broken), which the
live scoreboard recomputes when its scores change (at most twice a second) and `show` / exports once, beside
score_answers over the same rows for scale.

    python benches/rounds_scale.py [--items 2456] [--targets 13] [--rounds 4]
"""

from __future__ import annotations

import argparse
import random
import time

from scsafety_tui.rounds import rounds_summary
from scsafety_tui.scoring import AnswerRow, Scope, score_answers
from scsafety_tui.taxonomy import load_taxonomy


def rows_for(items: int, targets: int, rounds: int) -> list[AnswerRow]:
    subs = load_taxonomy().sub_dimensions
    rng = random.Random(1)
    rows = []
    for t in range(targets):
        skill = rng.random()
        for i in range(items):
            sub = subs[i % len(subs)]
            for rnd in range(1, rounds + 1):
                score = min(2, int(rng.random() * 2 + skill + 0.3 - 0.1 * rnd))
                rows.append(AnswerRow(f"model-{t:02d}", f"q{i:05d}", sub.category, sub.id, rnd, "done", (score,),
                                      rounds=rounds, turn_id=len(rows) + 1))
                if score == 0 and rnd >= 2:
                    break
    return rows


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=2456)
    ap.add_argument("--targets", type=int, default=13)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    rows = rows_for(args.items, args.targets, args.rounds)
    scope = Scope.from_rows(rows)
    print(f"{len(rows):,} answers ({args.items} items × {args.targets} targets, up to {args.rounds} rounds)")
    print(f"rounds_summary:  {timed(lambda: rounds_summary(rows)) * 1000:7.1f} ms (best of 5)")
    print(f"score_answers:   {timed(lambda: score_answers(rows, scope=scope)) * 1000:7.1f} ms (best of 5)")


if __name__ == "__main__":
    main()
