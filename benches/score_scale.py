"""Scoring cost at full benchmark scale: 2,456 items × 13 targets × 2 rounds = 63,856 answers.

Measures score_answers (pairs, coverage), the bootstrap intervals a leaderboard shows (Total, R1, R2, Δ
per target, and Total's paired difference for every two targets), the intervals of every cell (as the
JSON export computes them), and a redraw after one label changes (the interval cache keeps it cheap).
Scores are random with some faults, so every value and reason occurs.

    python benches/score_scale.py [--items 2456] [--targets 13]
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace

from scsafety_tui import report
from scsafety_tui.scoring import AnswerRow, Scope, _bootstrap, compare_targets, score_answers
from scsafety_tui.taxonomy import load_taxonomy


def rows_for(items: int, targets: int) -> tuple[list[AnswerRow], Scope]:
    tax = load_taxonomy()
    subs = tax.sub_dimensions
    rng = random.Random(1)
    rows = []
    for t in range(targets):
        skill = rng.random()
        for i in range(items):
            sub = subs[i % len(subs)]
            for rnd in (1, 2):
                status = rng.choices(("done", "error", "blocked"), (0.97, 0.02, 0.01))[0]
                score = min(2, int(rng.random() * 2 + skill + (0.3 if rnd == 1 else 0))) if status == "done" else None
                rows.append(AnswerRow(f"model-{t:02d}", f"q{i:05d}", sub.category, sub.id, rnd, status,
                                      () if score is None else (score,), rounds=2, turn_id=len(rows) + 1))
                if status != "done":
                    break
    return rows, Scope.from_rows(rows)


def timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - t0:.3f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=2456)
    ap.add_argument("--targets", type=int, default=13)
    args = ap.parse_args()
    tax = load_taxonomy()
    rows, scope = rows_for(args.items, args.targets)
    order = list(scope.targets)
    print(f"{len(rows):,} answers, {len(scope.items) * len(order):,} pairs in scope, {len(order)} targets")
    scores = timed("score_answers (pairs, coverage)", lambda: score_answers(rows, scope=scope))

    def headline() -> None:
        for ts in scores.values():
            for cell in (ts.total, ts.rounds[1], ts.rounds[2], ts.delta_cell):
                cell.interval()

    timed(f"95% intervals of Total, R1, R2, Δ for {len(order)} targets (2000 resamples each)", headline)
    timed("paired Total differences shown (each target vs the next one down)",
          lambda: [s["total"].ci for _, _, s in compare_targets(scores, order)])
    timed("paired Total differences, every two targets (JSON export)",
          lambda: [s["total"].ci for _, _, s in compare_targets(scores, order, every=True)])

    def every_cell() -> int:
        n = 0
        for ts in scores.values():
            for cell in (*ts.categories.values(), *ts.category_rounds.values(), *ts.sub_dimensions.values()):
                cell.interval()
                n += 1
        return n

    timed("intervals of every category / category×round / sub-dimension cell (JSON export)", every_cell)
    labelled = [replace(r, label=0) if r.turn_id == rows[0].turn_id else r for r in rows]
    timed("redraw after one label: score_answers + all tables (interval cache warm)",
          lambda: report.all_tables(score_answers(labelled, scope=scope, human=True), tax, order))
    info = _bootstrap.cache_info()
    print(f"interval cache: {info.hits} hits, {info.misses} misses")


if __name__ == "__main__":
    main()
