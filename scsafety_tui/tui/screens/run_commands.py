"""Command palette entries for the run screen: the same actions as its keys."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, help, action name on the run screen)
RUN_COMMANDS = (
    ("Pause or resume the run", "space", "toggle_pause"),
    ("Cancel the run", "c — the session stays resumable", "cancel_run"),
    ("Next item", "n — pin the lanes to the next item", "next_item"),
    ("Previous item", "p — pin the lanes to the previous item", "prev_item"),
    ("Follow the newest conversations", "f", "follow"),
    ("Toggle Markdown / raw answers", "m", "toggle_markdown"),
    ("Toggle judge reasons", "v", "toggle_reasons"),
    ("Retry errored conversations", "r — after the run has ended", "retry_errors"),
    ("Export the session as Markdown", "e", "export"),
    ("Show the whole scoreboard", "s", "scores"),
    ("Run screen help", "?", "help"),
)


class RunCommands(Provider):
    """Offered only while a run screen is the active screen."""

    def _commands(self) -> list[tuple[str, str, str]]:
        return list(RUN_COMMANDS) if hasattr(self.screen, "action_toggle_pause") else []

    async def discover(self) -> Hits:
        for title, help, action in self._commands():
            yield DiscoveryHit(title, partial(self.screen.run_action, action), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.screen.run_action, action), help=help)
