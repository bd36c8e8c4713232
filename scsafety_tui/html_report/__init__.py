"""The HTML report: one self-contained page a researcher can send to a colleague (exports.to_html).

`page.py` lays out the page, `charts.py` draws its inline SVG charts, `matrix.py` the answer matrix;
`assets/` holds its CSS and script, inlined and allowed by hash in the page's Content-Security-Policy.
"""

from __future__ import annotations

from scsafety_tui.html_report.page import render_report

__all__ = ["render_report"]
