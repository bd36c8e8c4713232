"""The private Textual API the app uses (listed in CONTRIBUTING.md): each use works with the private hook
of the pinned Textual and with its public fallback, for the day a release drops or renames it."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.selection import Selection
from textual.widget import Widget
from textual.widgets import DataTable

from scsafety_tui.tui.widgets.conversation import ConversationView
from scsafety_tui.tui.widgets.scoreboard import CLEAR_CACHES, drop_stale_renders


class _NoScrollHook(ConversationView):
    _scroll_update_hook = None  # as if a Textual release had dropped ScrollView._scroll_update


class _One(App[None]):
    CSS = "ConversationView { height: 10; width: 40; scrollbar-gutter: stable; }"

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def test_the_pinned_textual_still_has_the_private_hooks() -> None:
    """A Textual upgrade that drops one fails here first (the fallbacks keep the app working meanwhile)."""
    assert callable(ConversationView._scroll_update_hook)
    assert callable(CLEAR_CACHES)


def _lines(n: int) -> list:
    return [(("line", i), "answer", lambda i=i: Text(f"line {i}")) for i in range(n)]


@pytest.mark.parametrize("view_cls", [ConversationView, _NoScrollHook], ids=["private hook", "public fallback"])
async def test_a_growing_conversation_scrolls_to_its_last_line(view_cls: type[ConversationView]) -> None:
    view = view_cls()
    async with _One(view).run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        # under the view's height, then over it (the scrollbar comes), then longer still (it stays)
        for n in (3, 30, 60):
            for _ in range(2):  # a flush, and the next one (once the scrollbar that came is laid out)
                view.set_blocks(_lines(n), follow=True)
                await pilot.pause()
            height = 2 * n - 1  # a blank line between blocks
            assert view.virtual_size.height == height
            assert view.max_scroll_y == max(0, height - view.scrollable_content_region.height)
            assert view.scroll_y == view.max_scroll_y  # following: the last line is in view
            last = view.scrollable_content_region.height - 1 if view.max_scroll_y else height - 1
            assert view.render_line(last).text.strip() == f"line {n - 1}"


async def test_selecting_text_in_a_conversation_view_does_not_raise() -> None:
    """Its block renderer once shadowed Widget._render, which Textual calls (no arguments) to get the text
    under a mouse selection: that raised TypeError."""
    view = ConversationView()
    async with _One(view).run_test(size=(60, 20)) as pilot:
        view.set_blocks(_lines(3), follow=False)
        await pilot.pause()
        view.get_selection(Selection(None, None))


@pytest.mark.parametrize("clear", [CLEAR_CACHES, None], ids=["private hook", "fallback"])
async def test_dropping_stale_renders_keeps_the_updated_cells(clear) -> None:
    table: DataTable[Text] = DataTable()
    async with _One(table).run_test(size=(60, 10)) as pilot:
        table.add_column("score", key="s", width=12)
        table.add_row(Text("—"), key="r1")
        await pilot.pause()
        for value in ("87.50 (4)", "90.00 (5)"):
            table.update_cell("r1", "s", Text(value))
            drop_stale_renders(table, clear)
            await pilot.pause()
            assert value in table.render_line(1).text  # line 0 is the header
