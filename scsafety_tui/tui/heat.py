"""Scores coloured on a heat scale from the theme's own variables ($error → $warning → $success).

SC-Safety scores of real models sit mostly between 60 and 95 (GPT-4 87.43, Llama-2-13B 77.49), so the
scale spends its range there: 50 and below is $error, 75 is $warning, 100 is $success, blended between.
A Δ (R2 − R1) is $error when the follow-up costs points and $success when it gains, stronger with size.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from textual.app import App
from textual.color import Color

LOW, MID, HIGH = 50.0, 75.0, 100.0
DELTA_FULL = 20.0
"""A Δ of this size (points) or more gets the full colour."""


@lru_cache(maxsize=8)
def _palette(theme: str, error: str, warning: str, success: str, text: str) -> tuple[Color, Color, Color, Color]:
    return Color.parse(error), Color.parse(warning), Color.parse(success), Color.parse(text)


def palette(app: App[object]) -> tuple[Color, Color, Color, Color]:
    """(error, warning, success, foreground) of the app's current theme."""
    names = _theme_variables(app)
    return _palette(app.theme, names["error"], names["warning"], names["success"], names["foreground"])


_variables: dict[str, dict[str, str]] = {}


def _theme_variables(app: App[object]) -> dict[str, str]:
    cached = _variables.get(app.theme)
    if cached is None:  # get_css_variables builds the theme's whole table: once per theme
        cached = _variables[app.theme] = app.get_css_variables()
    return cached


def heat(app: App[object], score: float | None) -> Style:
    if score is None:
        return Style(dim=True)
    error, warning, success, _ = palette(app)
    if score <= LOW:
        color = error
    elif score <= MID:
        color = error.blend(warning, (score - LOW) / (MID - LOW))
    else:
        color = warning.blend(success, min(1.0, (score - MID) / (HIGH - MID)))
    return Style(color=color.rich_color, bold=True)


def delta_heat(app: App[object], delta: float | None) -> Style:
    if delta is None:
        return Style(dim=True)
    error, _, success, text = palette(app)
    strength = min(1.0, abs(delta) / DELTA_FULL)
    towards = error if delta < 0 else success
    return Style(color=text.blend(towards, 0.35 + 0.65 * strength).rich_color, bold=delta < 0)
