"""One keymap: no key means two things across screens, every screen's binding comes from the table, `?` opens
a help listing that screen's keys (not clipped at 80 columns) on every screen, and the command palette offers
every action of the current screen."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from engine_helpers import bank, config_for, run_session
from test_tui_support import app_for, screen_text, wait_until, widget_text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

import scsafety_tui.tui.screens as screens_package
import scsafety_tui.tui.widgets as widgets_package
from scsafety_tui.tui import keymap
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.screen_commands import ScreenCommands
from scsafety_tui.tui.screens.help import HelpScreen


def _subclasses(base: type) -> list[type]:
    found, todo = [], [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def _ours(base: type, package) -> list[type]:
    for mod in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{mod.name}")
    return [c for c in _subclasses(base) if c.__module__.startswith("scsafety_tui.")]


SCREENS = _ours(Screen, screens_package)
WIDGETS = _ours(Widget, widgets_package)


def _keys(binding: Binding) -> list[str]:
    return [k.strip() for k in binding.key.split(",")]


def test_the_table_gives_each_key_one_action():
    seen: dict[str, str] = {}
    for row in keymap.KEYS:
        for key in row.keys.split(","):
            assert key not in seen, f"{key!r} means both {seen[key]!r} and {row.action!r} in the table"
            seen[key] = row.action
    assert len(keymap.BY_ACTION) == len(keymap.KEYS), "an action listed twice"


def test_no_key_means_two_things_across_screens():
    """Every screen's bindings (its bases' included) come from the table, so a key runs one action everywhere."""
    assert len(SCREENS) >= 15  # home, sessions, run, replay, spot, leaderboard, triage, compare, dialogs...
    meaning: dict[str, tuple[str, str]] = {}
    for cls in [*SCREENS, ScSafetyApp]:
        for b in keymap.declared(cls) if cls is not ScSafetyApp else cls.__dict__.get("BINDINGS", []):
            row = keymap.BY_ACTION.get(b.action)
            assert row is not None, f"{cls.__name__} binds {b.key!r} to {b.action!r}, which is not in the keymap"
            assert b.key == row.keys, f"{cls.__name__} binds {b.action!r} to {b.key!r}; the keymap says {row.keys!r}"
            for key in _keys(b):
                first = meaning.setdefault(key, (b.action, cls.__name__))
                assert first[0] == b.action, (f"{key!r} is {first[0]!r} on {first[1]} but {b.action!r} on "
                                              f"{cls.__name__}")
    # the letters that meant two things each, and resume on space everywhere
    for key in ("d", "s", "p", "r", "c", "n", "t", "v", "space"):
        assert key in meaning
    assert meaning["space"][0] == "toggle_pause"
    assert not [k for k, (action, _) in meaning.items() if "resume" in action]  # resume is space, only space


def test_every_bound_action_exists():
    """A key that names an action the screen lacks does nothing, silently: each one is implemented."""
    for cls in SCREENS:
        for b in keymap.declared(cls):
            if not b.action.startswith("app."):
                name = b.action.split("(")[0]
                assert hasattr(cls, f"action_{name}"), f"{cls.__name__} binds {b.key!r} to a missing {name!r}"
    for b in keymap.KEYS:
        if b.action.startswith("app."):
            assert hasattr(ScSafetyApp, f"action_{b.action[4:]}"), b.action


def test_widget_keys_do_not_shadow_the_table():
    """A focused widget's binding wins over the screen's: it must not give a table key another meaning."""
    table = {key: row.action for row in keymap.KEYS for key in row.keys.split(",")}
    for cls in WIDGETS:
        for b in cls.__dict__.get("BINDINGS", []):
            for key in _keys(b):
                assert key not in table or table[key] == b.action, f"{cls.__name__} rebinds {key!r}"


def test_every_full_screen_binds_help_first():
    """? (and F1) open help everywhere; first, so a narrow footer still shows it."""
    full = [c for c in SCREENS if not c.__name__.endswith(("Dialog", "Menu", "Picker")) and c.__name__ not in
            ("ConfirmScreen", "HelpScreen", "Labelling", "WorkerScreen", "RunControl", "RunAnswers")]
    assert {"HomeScreen", "SessionsScreen", "RunScreen", "ReplayScreen", "SpotScreen", "LeaderboardScreen",
            "TriageScreen", "CompareScreen", "TranscriptScreen"} <= {c.__name__ for c in full}
    for cls in full:
        first = keymap.declared(cls)[0]
        assert first.action == "app.help", f"{cls.__name__} does not start with help"


# ---------------------------------------------------------------- ? on every screen, in the app


async def _help_shows(pilot, screen: Screen, key: str = "question_mark") -> str:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what=f"help over {screen}")
    help_screen = pilot.app.screen
    assert help_screen.of is screen
    box = help_screen.query_one("#help", VerticalScroll)
    await wait_until(pilot, lambda: box.size.width > 0, what="the help laid out")
    assert box.region.right <= pilot.app.size.width and box.max_scroll_x == 0  # nothing cut at the side
    body = help_screen.query_one(Static)
    assert body.region.width <= box.region.width
    text = widget_text(body)  # all of it, the part scrolled out of a short terminal included
    await pilot.press("escape")
    await wait_until(pilot, lambda: pilot.app.screen is screen, what="help closed")
    return text


def _first_words(row: keymap.Key) -> str:
    return row.help[:14]  # wrapped lines keep a description's start on the key's own line


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_question_mark_opens_help_on_every_screen(db_file, demo_url, size):
    from scsafety_tui.tui.screens.compare import CompareScreen
    from scsafety_tui.tui.screens.run import RunScreen
    from scsafety_tui.tui.screens.sessions import SessionsScreen
    from scsafety_tui.tui.screens.spot import SpotScreen
    from scsafety_tui.tui.screens.transcript import Pane, TranscriptScreen
    from scsafety_tui.tui.screens.triage import TriageScreen

    config = config_for(demo_url, ("demo-pushover", "demo-guardian"))
    a, _, _ = await run_session(db_file, config, bank(2), name="a")
    b, _, _ = await run_session(db_file, config, bank(2), name="b")
    item = bank(2)[0].id
    app = app_for(db_file, None)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#sessions"), what="the home screen")
        opened = [
            ("Home screen keys", lambda: None),
            ("Sessions screen keys", lambda: app.push_screen(SessionsScreen())),
            ("Run screen keys", lambda: app.open_session(a, start=False)),
            ("Run screen keys", lambda: app.open_replay(a, None)),
            ("Leaderboard keys", lambda: app.open_leaderboard(a)),
            ("Triage keys", lambda: app.push_screen(TriageScreen(a))),
            ("Compare keys", lambda: app.push_screen(CompareScreen(a, b))),
            ("Transcript keys", lambda: app.push_screen(TranscriptScreen([Pane("", a, item, "demo-pushover")]))),
        ]
        home = app.screen
        for title, open_it in opened:
            open_it()
            await wait_until(pilot, lambda: (len(app.screen_stack) == 3 or app.screen is home) and app.focused
                             is not None and app.focused.screen is app.screen, what=title)  # mounted: keys reach it
            screen = app.screen
            if isinstance(screen, RunScreen):
                await wait_until(pilot, lambda screen=screen: screen.state is not None, what="the run screen")
                # the footer keeps ? and the label keys, narrow or wide
                await wait_until(pilot, lambda: screen_text(pilot).splitlines()[-1].lstrip().startswith(
                    "? Help  012 Label  N Label+note  x Clear label"), what="the footer")
            text = await _help_shows(pilot, screen)
            assert title in text
            for row in keymap.keys_of(type(screen)):
                if row.action.startswith("speed") and not screen.source.can_speed:  # type: ignore[attr-defined]
                    assert _first_words(row) not in text  # a live run has no speed keys
                    continue
                assert _first_words(row) in text, f"{title}: {row.action} missing from help"
            if screen is not home:
                await pilot.press("escape")
                await wait_until(pilot, lambda: app.screen is home, what=f"{title} closed")
        # spot: ? is typed into the prompt box, F1 opens help from there
        app.push_screen(SpotScreen(demo_delays=(0.0, 0.0)))
        await wait_until(pilot, lambda: isinstance(app.screen, SpotScreen) and app.screen.query("#spot-prompt")
                         and app.screen.query_one("#spot-prompt").has_focus, what="the spot screen")
        assert "Spot check keys" in await _help_shows(pilot, app.screen, "f1")


async def test_palette_offers_the_screens_actions(db_file, demo_url):
    config = config_for(demo_url, ("demo-pushover",))
    sid, _, _ = await run_session(db_file, config, bank(1))
    app = app_for(db_file, None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#sessions"), what="the home screen")
        home = [hit.text async for hit in ScreenCommands(app.screen).discover()]
        assert "New run" in home and "Demo" in home and "Spot check" in home and "Sessions" in home
        app.open_leaderboard(sid)
        await wait_until(pilot, lambda: getattr(app.screen, "rows", None), what="the leaderboard")
        board = [hit.text async for hit in ScreenCommands(app.screen).discover()]
        assert {"Judge/human", "Triage", "Compare", "Replay", "Export", "Label 0", "Label+note"} <= set(board)
        hits = [hit async for hit in ScreenCommands(app.screen).search("triage")]
        assert hits and hits[0].text == "Triage"
        await hits[0].command()
        await wait_until(pilot, lambda: type(app.screen).__name__ == "TriageScreen" and app.focused is not None
                         and app.focused.screen is app.screen, what="triage from the palette")
