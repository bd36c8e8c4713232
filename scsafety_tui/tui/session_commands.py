"""Command palette: open any saved session by name (it offers leaderboard, replay, resume...)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from scsafety_tui.store import queries
from scsafety_tui.tui.text import visible

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp

DISCOVER = 20
"""Sessions listed before anything is typed (the newest)."""


class SessionCommands(Provider):
    async def startup(self) -> None:
        app: ScSafetyApp = self.app  # type: ignore[assignment]  # Textual types it App; ours runs in ScSafetyApp
        self.sessions = await queries.list_sessions(app.store)

    def _entries(self) -> list[tuple[str, str, Any]]:
        app: ScSafetyApp = self.app  # type: ignore[assignment]  # Textual types it App; ours runs in ScSafetyApp
        return [(f"Open session: {visible(s.name)}", visible(f"#{s.id} · {s.kind} · {s.status} · {', '.join(s.targets)}"),
                 partial(app.open_menu, s.id)) for s in self.sessions]

    async def discover(self) -> Hits:
        for title, help, command in self._entries()[:DISCOVER]:
            yield DiscoveryHit(Content(title), command, text=title, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, command in self._entries():
            score, offsets = matcher.fuzzy_search.match(matcher.query, title)
            if score > 0:
                # not matcher.highlight(): it parses markup, and a session name is user text
                shown = Content(title)
                for i in offsets:
                    shown = shown.stylize("bold reverse", i, i + 1)
                yield Hit(score, shown, command, text=title, help=help)
