"""Textual messages the run screen receives. Token deltas never become messages: see bridge.py."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from scsafety_tui.events import Event


@dataclass
class EngineEvent(Message, bubble=False):
    """One low-rate engine event (everything but TokenDelta), in emit order."""

    event: Event


@dataclass
class ItemChosen(Message):
    """The user picked an item in the navigator: pin the lanes to it."""

    item_id: str


@dataclass
class ScopeChosen(Message):
    """The user picked a scoreboard row: filter the navigator (kind: sub | cat | all)."""

    kind: str
    id: str = ""


@dataclass
class RunEnded(Message, bubble=False):
    """The runner worker has stopped; status: done | cancelled | interrupted | failed."""

    status: str
