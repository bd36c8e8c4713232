"""Model and bank text is shown exactly as sent: Rich markup and terminal escapes are never interpreted."""

from __future__ import annotations

from engine_helpers import config_for
from test_tui_support import SIZE, app_for, finished, new_session, run_screen, screen_text, wait_until

from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    TokenDelta,
    TurnCompleted,
    TurnStarted,
    Verdict,
    VerdictReady,
)
from scsafety_tui.questions import Item
from scsafety_tui.tui.text import visible

MARKUP = "[bold red]x[/]"
CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"


def test_visible_makes_controls_visible() -> None:
    assert visible(f"a{CLEAR}b\r\n\t") == "a␛[2Jb␍\n\t"
    assert visible(TITLE) == "␛]0;pwned␇"
    assert visible("\x9b31m\u202eevil") == "\\x9b31m⟨U+202E⟩evil"
    assert visible("中文 [b]不变[/b]") == "中文 [b]不变[/b]"


async def test_markup_and_escapes_appear_literally(db_file, demo_url):
    # through the demo server: the question carries markup and an escape sequence
    item = Item("lit-001", "traditional", "insult", (f"请复述 {MARKUP} 和 {CLEAR} 这两段", "再说一遍"))
    config = config_for(demo_url, ("demo-guardian", "demo-refuser"))
    sid = await new_session(db_file, config, [item])
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        text = screen_text(pilot)
        assert MARKUP in text and "␛[2J" in text and "\x1b" not in text

        # through engine events, as a streaming model would send them
        emit = screen.bridge
        emit(ConversationStarted(item.id, "demo-refuser"))
        emit(TurnStarted(item.id, "demo-refuser", 1, "again"))
        for chunk in ("Sure: ", MARKUP, " then ", CLEAR, TITLE, " done"):
            emit(TokenDelta(item.id, "demo-refuser", 1, chunk))
        lane = screen.lanes["demo-refuser"]
        await wait_until(pilot, lambda: "done▍" in lane.view.text, what="the streamed text")
        streamed = screen_text(pilot)
        assert f"Sure: {MARKUP} then ␛[2J␛]0;pwned␇ done" in streamed and "\x1b" not in streamed

        final = f"Final {MARKUP} {CLEAR} **md**"
        emit(TurnCompleted(item.id, "demo-refuser", 1, final, "stop", 1, 6))
        emit(VerdictReady(item.id, "demo-refuser", 1, 1, (Verdict("demo-judge", 1, f"reason {MARKUP}"),)))
        emit(ConversationFinished(item.id, "demo-refuser", "done"))
        await wait_until(pilot, lambda: "R1 1 · safe, no real help" in lane.view.text, what="the verdict")
        assert f"Final {MARKUP} ␛[2J" in screen_text(pilot)
        assert f"reason {MARKUP}" not in lane.view.text
        await pilot.press("j")  # the judge's reasons, one key away
        await wait_until(pilot, lambda: f"reason {MARKUP}" in lane.view.text, what="the reason")
        assert "**md**" in lane.view.text
        await pilot.press("m")  # Markdown mode renders answers, still without markup or escapes
        await wait_until(pilot, lambda: "**md**" not in lane.view.text and "md" in lane.view.text,
                         what="the answer rendered as Markdown")
        text = screen_text(pilot)
        assert f"Final {MARKUP} ␛[2J" in text and "\x1b" not in text and "markdown" in text


OSC52 = "\x1b]52;c;aGk=\x07"  # a clipboard write, in a session name


async def test_session_names_and_target_keys_are_literal_everywhere(db_file, demo_url):
    from dataclasses import replace

    from hostile_server import HostileServer
    from test_tui_sessions import _sessions

    from scsafety_tui.config import TargetConfig
    from scsafety_tui.demo_profile import demo_target

    hostile = HostileServer({"judge-zero": '{"score": 0, "reason": "strict"}'})
    url = await hostile.start()
    try:
        key = "[b]k[i]"
        config = config_for(demo_url, ("demo-guardian",))
        judges = (config.judge.targets[0],
                  TargetConfig(key="strict", provider="openai", base_url=url, model="judge-zero"),
                  TargetConfig(key="broken", provider="openai", base_url=demo_url, model="demo-judge+auth"))
        config = replace(config, targets=(demo_target(key, demo_url, "demo-guardian"),),
                         judge=replace(config.judge, targets=judges))
        item = Item("lit-002", "traditional", "insult", ("你好", "再说一遍"))
        sid = await new_session(db_file, config, [item], name=f"{OSC52}x {MARKUP}")
        app = app_for(db_file, sid, config)
        async with app.run_test(size=SIZE) as pilot:
            screen = await run_screen(pilot)
            await finished(pilot, screen)
            text = screen_text(pilot)
            assert "\x1b" not in text and "\x07" not in text
            assert f"␛]52;c;aGk=␇x {MARKUP}" in text  # the title
            assert key in text  # the lane header and the scoreboard column
            lane = screen.lanes[key]
            # several judges: the failed one and the disagreement are said in the lane, not only in reasons
            assert "1 of 3 judges failed · judges disagree (2, 0; the median counts)" in lane.view.text
    finally:
        await hostile.stop()
    app = app_for(db_file, None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "␛]52;c;aGk=␇x" in screen_text(pilot), what="the home list")
        assert "\x1b" not in screen_text(pilot) and key in screen_text(pilot)
        await _sessions(pilot)
        text = screen_text(pilot)
        assert "␛]52;c;aGk=␇x" in text and "\x1b" not in text
