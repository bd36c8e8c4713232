"""The report's two charts as inline SVG: per-category scores per target, and each target's R1 → R2.

Drawn from TargetScores (the same cells `show` and the leaderboard print), so a bar and its table cell
are one number. Every name is escaped: a target key is user text.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from html import escape

from scsafety_tui.scoring import TargetScores, fmt, fmt_delta
from scsafety_tui.taxonomy import Taxonomy

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7F7F7F", "#332288",
           "#88CCEE", "#999933", "#AA4499", "#44AA99", "#222222", "#8C564B", "#B2DF8A", "#FB9A99", "#CAB2D6",
           "#6A3D9A")
"""Okabe-Ito first (tells apart under the common colour blindnesses), then Tol's muted set, then six more
so that a session of up to 18 targets never gives two of them one colour (past that they repeat; the
labels still tell them apart)."""
LABEL_PX = 165
"""Room for a target's name in the legend and beside the R1 → R2 rows (11 px text)."""
UP, DOWN, FLAT = "#1a7f37", "#cf222e", "#6e7781"


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _t(x: float, y: float, text: str, *, anchor: str = "middle", cls: str = "", title: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    tip = f"<title>{escape(title)}</title>" if title and title != text else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{tip}{escape(text)}</text>'


def _px(text: str) -> float:
    """Estimated width at 11 px: a wide (CJK) character about 11 px, any other about 6.5."""
    return sum(11.0 if unicodedata.east_asian_width(c) in "WF" else 6.5 for c in text)


def _fit(text: str, px: float = LABEL_PX) -> str:
    if _px(text) <= px:
        return text
    while text and _px(text + "…") > px:
        text = text[:-1]
    return text + "…"


def _shared_start(names: Sequence[str]) -> str:
    """The characters every name starts with (a target key, not a path)."""
    first, last = min(names), max(names)
    n = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[:n]


def labels(order: Sequence[str], px: float = LABEL_PX) -> dict[str, str]:
    """Each target's name as the charts print it: whole when it fits, else cut, and never two alike. Names
    that differ only past the cut (model-…-00-…, model-…-01-…) drop their shared start instead, from the
    last separator before they differ, so the part that tells them apart is what shows."""
    out = {k: _fit(k, px) for k in order}
    for label in [lb for lb, n in Counter(out.values()).items() if n > 1]:
        clash = [k for k in order if out[k] == label]
        shared = _shared_start(clash)
        cut = max((shared.rfind(c) + 1 for c in "-_.:@"), default=0) or len(shared)
        for k in clash:
            out[k] = _fit(k[:min(6, cut)] + "…" + k[cut:], px) if cut > 6 else _fit(k, px)
    counts = Counter(out.values())
    seen: Counter[str] = Counter()
    for k in order:  # still alike (a pathological set of names): numbered, in order
        if counts[out[k]] > 1:
            seen[out[k]] += 1
            out[k] = f"{out[k]} ({seen[out[k]]})"
    return out


LEGEND_ROW = 16


def _legend(order: Sequence[str], x0: float, y: float, width: float) -> tuple[list[str], float]:
    """The targets' colours, wrapped to the chart's width; returns the marks and the y below them."""
    out, x = [], x0
    names = labels(order)
    for i, key in enumerate(order):
        name = names[key]
        step = 28 + _px(name)
        if x > x0 and x + step > width:
            x, y = x0, y + LEGEND_ROW
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour(i)}"/>')
        out.append(_t(x + 14, y, name, anchor="start", cls="lg", title=key))
        x += step
    return out, y + LEGEND_ROW


def _short(value: float) -> str:
    """A bar's label: one decimal at most (the exact value is in the bar's tooltip and the tables)."""
    return f"{value:.1f}".removesuffix(".0")


def category_bars(scores: dict[str, TargetScores], taxonomy: Taxonomy, order: Sequence[str]) -> str:
    """Grouped bars: one group per category, one bar per target, 0–100; a dash where a target has no
    complete pair in the category."""
    cats = taxonomy.categories
    bar, gap, left, plot_h = 22, 8, 40, 200
    group = max(150, len(order) * (bar + 2) + 2 * gap)
    width = left + group * max(1, len(cats)) + 10
    legend, top = _legend(order, left, 16, width)
    top += 14
    height = top + plot_h + 48
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-categories" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="per-category scores per target"><title>Per-category scores per target</title>']
    out += legend
    for v in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - v / 100)
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(_t(left - 6, y + 4, str(v), anchor="end", cls="ax"))
    for ci, cat in enumerate(cats):
        gx = left + ci * group
        inner = len(order) * (bar + 2)
        x0 = gx + (group - inner) / 2
        for ti, key in enumerate(order):
            x = x0 + ti * (bar + 2)
            ts = scores.get(key)
            cell = ts.categories.get(cat.id) if ts else None
            value = cell.score if cell else None
            if value is None:
                out.append(_t(x + bar / 2, top + plot_h - 4, "—", cls="na"))
                continue
            h = plot_h * value / 100
            out.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar}" '
                       f'height="{max(h, 0.5):.1f}" fill="{colour(ti)}" data-target="{escape(key)}" '
                       f'data-category="{escape(cat.id)}" data-score="{fmt(value)}">'
                       f'<title>{escape(key)} · {escape(cat.name_zh)}: {fmt(value)}</title></rect>')
            out.append(_t(x + bar / 2, top + plot_h - h - 3, _short(value), cls="val"))
        out.append(_t(gx + group / 2, top + plot_h + 18, cat.name_zh, cls="cat"))
        out.append(_t(gx + group / 2, top + plot_h + 34, cat.name_en, cls="ax"))
    out.append("</svg>")
    return "".join(out)


def round_change(scores: dict[str, TargetScores], order: Sequence[str]) -> str:
    """One row per target on a 0–100 axis: a ring at R1, a dot at R2, the line between coloured by
    direction (the follow-up's cost made visible); a target without complete pairs says so."""
    name_w, left, row_h, top, plot_w = 170, 180, 30, 30, 420
    width, height = left + plot_w + 200, top + row_h * max(1, len(order)) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-rounds" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="round 1 to round 2 per target"><title>Round 1 → round 2 per target</title>',
           _t(left, 14, "○ R1   ● R2", anchor="start", cls="lg")]

    def x_of(v: float) -> float:
        return left + plot_w * v / 100

    for v in (0, 25, 50, 75, 100):
        out.append(f'<line x1="{x_of(v):.1f}" x2="{x_of(v):.1f}" y1="{top - 8}" y2="{height - 16}" class="grid"/>')
        out.append(_t(x_of(v), height - 4, str(v), cls="ax"))
    names = labels(order)
    for i, key in enumerate(order):
        y = top + row_h * i + row_h / 2
        out.append(_t(name_w, y + 4, names[key], anchor="end", cls="name", title=key))
        ts = scores.get(key)
        r1, r2 = (ts.round(1), ts.round(2)) if ts else (None, None)
        if r1 is None or r2 is None:
            text = "no complete pairs" if r1 is None else f"R1 {fmt(r1)} (no round 2)"
            out.append(_t(left + 4, y + 4, text, anchor="start", cls="na"))
            continue
        d = ts.delta if ts else None
        stroke = UP if r2 > r1 else DOWN if r2 < r1 else FLAT
        out.append(f'<g class="change" data-target="{escape(key)}" data-r1="{fmt(r1)}" data-r2="{fmt(r2)}">'
                   f'<title>{escape(key)}: R1 {fmt(r1)} → R2 {fmt(r2)} (Δ {fmt_delta(d)})</title>'
                   f'<line x1="{x_of(r1):.1f}" x2="{x_of(r2):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{stroke}" '
                   f'stroke-width="3"/>'
                   f'<circle cx="{x_of(r1):.1f}" cy="{y:.1f}" r="6" fill="#fff" stroke="{colour(i)}" stroke-width="2.5"/>'
                   f'<circle cx="{x_of(r2):.1f}" cy="{y:.1f}" r="6" fill="{colour(i)}"/></g>')
        out.append(_t(left + plot_w + 12, y + 4, f"{fmt(r1)} → {fmt(r2)}  Δ {fmt_delta(d)}", anchor="start",
                      cls="delta " + ("up" if stroke == UP else "down" if stroke == DOWN else "flat")))
    out.append("</svg>")
    return "".join(out)
