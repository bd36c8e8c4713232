"""SC-Safety tables as plain rows, rendered for the terminal (Rich) and for exports."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from scsafety_tui.rounds import RoundsSummary, fmt_share
from scsafety_tui.scoring import (
    ALL_PAIRS_UP_TO,
    REASONS,
    Cell,
    TargetScores,
    compare_targets,
    fmt,
    fmt_ci,
    fmt_delta,
    scope_note,
)
from scsafety_tui.taxonomy import Taxonomy

if TYPE_CHECKING:  # rich is imported lazily: keeps --help fast
    from rich.table import Table

    from scsafety_tui.cost import TargetCost


@dataclass(frozen=True)
class TableData:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()
    """Lines shown under the table (what the headline counts, coverage)."""


def _ts(scores: dict[str, TargetScores], key: str) -> TargetScores:
    return scores.get(key) or TargetScores(key)


def _rounds(scores: dict[str, TargetScores]) -> int:
    return max((ts.rounds_in_scope for ts in scores.values()), default=2)


def overall_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    """Total, R1, R2 and Δ over the same complete pairs; Pairs = complete / in scope."""
    header = ("Model", "Total", "95% CI", "R1", "R2", "Δ", "Pairs")
    rows = []
    for key in order:
        ts = _ts(scores, key)
        rows.append((key, fmt(ts.total.score), fmt_ci(ts.total.interval()), fmt(ts.round(1)), fmt(ts.round(2)),
                     fmt_delta(ts.delta), f"{ts.total.pairs}/{ts.total.in_scope}"))
    return TableData("SC-Safety overall", header, tuple(rows), (scope_note(scores),))


def interval_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    header = ("Model", "Total", "R1", "R2", "Δ")
    rows = []
    for key in order:
        ts = _ts(scores, key)
        r2 = ts.rounds.get(2)
        rows.append((key, fmt_ci(ts.total.interval()), fmt_ci(ts.rounds[1].interval() if 1 in ts.rounds else None),
                     fmt_ci(r2.interval() if r2 else None),
                     fmt_ci(ts.delta_cell.interval() if ts.delta_cell else None, signed=True)))
    return TableData("95% intervals (Bayesian bootstrap over pairs, 2000 resamples, seeded)", header, tuple(rows))


def coverage_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    """Every pair in scope is either complete or counted here with the reason it is out (scoring.REASONS);
    Unsafe = answers scored 0 in the complete pairs."""
    rows = []
    for key in order:
        c = _ts(scores, key).total
        why = ", ".join(f"{r} {c.reasons[r]}" for r in REASONS if c.reasons[r]) or "—"
        if c.r2_never_asked:
            why += f" (round 2 never asked {c.r2_never_asked})"
        rows.append((key, f"{c.pairs}/{c.in_scope}", str(c.unsafe), str(c.missing), why))
    return TableData("Coverage: complete pairs / pairs in scope, and why the rest are out",
                     ("Model", "Complete", "Unsafe", "Out", "Why out"), tuple(rows))


def paired_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    """B − A over the items both targets have complete, with a bootstrap interval."""
    header = ("A", "B", "Pairs", "B − A", "95% CI", "Sig.")
    rows = []
    for a, b, stats in compare_targets(scores, order):
        t = stats["total"]
        rows.append((a, b, str(t.n), fmt_delta(t.diff), fmt_ci(t.ci, signed=True),
                     "—" if not t.n else "yes" if t.significant else "no"))  # no pairs: nothing to test
    many = len([k for k in order if k in scores]) > ALL_PAIRS_UP_TO
    return TableData("Paired differences of Total between targets (items both have complete; Sig. = the "
                     "interval excludes 0)" + ("; each target against the next one down" if many else ""),
                     header, tuple(rows))


def category_table(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> TableData:
    header = ("Model", *(c.name_zh for c in taxonomy.categories))
    rows = []
    for key in order:
        ts = _ts(scores, key)
        rows.append((key, *(fmt(cell.score) if (cell := ts.categories.get(c.id)) else "—"
                            for c in taxonomy.categories)))
    return TableData("Per category", header, tuple(rows))


def category_round_table(scores: dict[str, TargetScores], taxonomy: Taxonomy,
                         order: Sequence[str]) -> TableData:
    rounds = range(1, _rounds(scores) + 1)
    header = ("Model", *(f"{c.id[:4]} R{r}" for c in taxonomy.categories for r in rounds))
    rows = []
    for key in order:
        ts = _ts(scores, key)
        rows.append((key, *(fmt(cell.score) if (cell := ts.category_rounds.get((c.id, r))) else "—"
                            for c in taxonomy.categories for r in rounds)))
    return TableData("Per category, round 1 vs round 2" if len(rounds) > 1 else "Per category, round 1",
                     header, tuple(rows))


def _sub_text(cell: Cell | None) -> str:
    if not cell or not cell.in_scope:
        return "—"
    n = str(cell.pairs) if cell.pairs == cell.in_scope else f"{cell.pairs}/{cell.in_scope}"
    return f"{fmt(cell.score)} ({n})"


def sub_dimension_table(scores: dict[str, TargetScores], taxonomy: Taxonomy,
                        order: Sequence[str]) -> TableData:
    header = ("Sub-dimension", *order)
    rows = []
    for sub in taxonomy.sub_dimensions:
        rows.append((sub.name_zh, *(_sub_text(_ts(scores, key).sub_dimensions.get(sub.id)) for key in order)))
    return TableData("Per sub-dimension: score (complete pairs, / pairs in scope when some are out)", header,
                     tuple(rows))


TABLES = (overall_table, interval_table, coverage_table, paired_table, category_table, category_round_table,
          sub_dimension_table)


def all_tables(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> list[TableData]:
    return [table(scores, taxonomy, order) for table in TABLES]


def tagged(table: TableData, tag: str) -> TableData:
    """The table with `tag` (which verdict set its scores are from) added to its title; unchanged for ''."""
    return replace(table, title=f"{table.title} · {tag}") if tag else table


def rich_table(data: TableData) -> Table:
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from scsafety_tui.textsafe import visible

    # Target keys and sub-dimension names come from configs and banks: Text (never markup), controls visible.
    table = Table(title=Text(visible(data.title)), title_justify="left", header_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for i, h in enumerate(data.header):
        # Values are never cut: their column is at least as wide as its longest value.
        width = max([cell_len(visible(r[i])) for r in data.rows] + [1])
        table.add_column(Text(visible(h)), justify="left" if i == 0 else "right", no_wrap=True, min_width=width)
    for row in data.rows:
        table.add_row(*(Text(visible(c)) for c in row))
    if data.notes:
        table.caption = Text(visible("\n".join(data.notes)))
        table.caption_justify = "left"
    return table


def markdown_table(data: TableData) -> str:
    def esc(s: str) -> str:  # keys and names are text, never HTML, in a Markdown viewer
        return html.escape(s, quote=False).replace("|", "\\|").replace("\n", " ")

    lines = [f"### {data.title}", "", "| " + " | ".join(map(esc, data.header)) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(data.header))) + "|"]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in data.rows]
    if data.notes:
        lines += [""] + [esc(n) + "  " for n in data.notes]
    return "\n".join(lines) + "\n"


def cost_table(costs: Sequence[TargetCost]) -> TableData:
    """Tokens and cost per target (the servers' usage fields; estimated from characters where a server
    sent none, and said so)."""
    from scsafety_tui.cost import fmt_money

    rows = tuple((c.key, str(c.answers), f"{c.tokens_in:,}", f"{c.tokens_out:,}",
                  f"{c.estimated}" if c.estimated else "—", fmt_money(c.cost, c.currency)) for c in costs)
    notes = ["Tokens as the servers counted them (usage fields), every attempt included; judge calls are not"
             " counted. Cost from [[targets]] price_in / price_out per million tokens (— : no prices)."]
    if any(c.estimated for c in costs):
        notes.append("Estimated: answers whose server sent no usage; their tokens are estimated from "
                     "characters (a CJK character one token, other text four characters a token).")
    return TableData("Tokens and cost", ("Model", "Answers", "Tokens in", "Tokens out", "Estimated", "Cost"),
                     rows, tuple(notes))



def rounds_tables(summaries: dict[str, RoundsSummary], order: Sequence[str]) -> list[TableData]:
    """Beside the headline, for sessions past round 2 (rounds.py): the score per round, the worst round per
    pair, and the round of the first unsafe answer with the share of pairs never broken."""
    last = max((s.max_round for s in summaries.values()), default=0)
    rounds = range(1, last + 1)
    rows, breaks = [], []
    for key in order:
        s = summaries.get(key) or RoundsSummary(key)
        rows.append((key, *(f"{fmt(s.round_score(r))} ({s.scored[r]})" if s.scored[r] else "—" for r in rounds),
                     fmt(s.worst), str(s.worst_pairs)))
        mean = "—" if s.mean_break is None else f"{s.mean_break:.2f}"
        breaks.append((key, *(str(s.broken[r]) for r in rounds), str(s.never), fmt_share(s.never_share), mean))
    per_round = TableData(
        "Beyond SC-Safety: score per round (pairs scored) and worst round per pair",
        ("Model", *(f"Round {r}" for r in rounds), "Worst round", "Pairs"), tuple(rows),
        ("Not the SC-Safety headline (that is rounds 1–2 above). Round r: 100 · Σ score / (2 · pairs scored in"
         " round r); an attacker stops at the first unsafe answer, so later rounds hold the pairs that held out."
         " Worst round: each pair's lowest round score, over the pairs whose worst is known.",))
    first = TableData(
        "Rounds to the first unsafe answer (score 0): pairs broken at each round",
        ("Model", *(f"R{r}" for r in rounds), "Never", "Never broken", "Mean round"), tuple(breaks),
        ("Never broken: every asked round scored and none unsafe, as a share of the pairs whose outcome is"
         " known (not a pair whose attacker refused, wrote nothing or failed). Mean round: over the broken pairs.",))
    return [per_round, first]
