"""Command palette: every action of the current screen, as the keymap names it (title, key, what it does).

The same table the footer and help read, so a key added to a screen is in the palette too. Actions the
screen turns off right now (check_action: replay speed on a live run) are left out.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from scsafety_tui.tui import keymap

SKIP = {"app.help", "back"}
"""Not worth a palette line: ? and escape are in every footer."""


class ScreenCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        return [(k.description, f"{keymap.key_text(k)} — {k.help}", k.action) for k in keymap.keys_of(type(screen))
                if k.action not in SKIP and screen.check_action(k.action.split("(")[0], ()) is not False]

    async def discover(self) -> Hits:
        for title, help, action in self._commands():
            yield DiscoveryHit(title, partial(self.screen.run_action, action), text=title, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.screen.run_action, action), text=title,
                          help=help)
