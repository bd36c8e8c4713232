"""Status that is true: elapsed is active time (stops while paused, a retry adds to it, a session opened
later shows its stored time and tokens), the exit code after errors is the headless one, the run screen
counts conversations as the sessions list does, and the per-target meters are the store's figures."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace

import pytest
from engine_helpers import bank, config_for, with_target
from rich.console import Console
from test_tui_support import (
    SIZE,
    app_for,
    finished,
    new_session,
    run_screen,
    screen_text,
    session_summary,
    wait_until,
)
from test_tui_support import widget_text as text_of

from scsafety_tui.headless import run_headless
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.app import ScSafetyApp
from scsafety_tui.tui.meters import tokens_text
from scsafety_tui.tui.widgets.scoreboard import Scoreboard, meter_text
from scsafety_tui.tui.widgets.status_bar import clock_text


def stored_tokens(db: str, sid: int) -> dict[str, tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("""SELECT tg.key, sum(t.tokens_in), sum(t.tokens_out) FROM turn t
            JOIN conversation c ON c.id = t.conversation_id AND t.attempt = c.attempt
            JOIN target tg ON tg.id = c.target_id
            WHERE c.session_id = ? AND t.role = 'assistant' AND t.status = 'done' GROUP BY tg.key""", (sid,))
        return {k: (i or 0, o or 0) for k, i, o in rows}


async def stored_active(db: str, sid: int) -> float:
    store = await Store.open(db)
    try:
        return await queries.active_seconds(store, sid)
    finally:
        await store.close()


async def test_elapsed_stops_while_paused_and_a_retry_goes_on_from_it(db_file, slow_url):
    config = with_target(config_for(slow_url, ("demo-guardian",)), "flaky", slow_url, "demo-refuser+auth:1")
    # one conversation at a time per target, six items: the run is still going when it is resumed
    config = replace(config, targets=tuple(replace(t, concurrency=1) for t in config.targets))
    sid = await new_session(db_file, config, bank(6))
    now = [1000.0]
    app = ScSafetyApp(db=db_file, session_id=sid, run_config=config, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: screen.runner is not None and screen.run_state == "running", what="a run")
        now[0] += 3.0
        await pilot.press("space")
        assert screen.run_state == "paused" and screen.pace.elapsed(now[0]) == pytest.approx(3.0)
        now[0] += 100.0  # paused: elapsed does not move
        assert screen.pace.elapsed(now[0]) == pytest.approx(3.0)
        screen._tick()
        assert "elapsed 0:03" in text_of(screen.query_one("#status-bar"))
        await pilot.press("space")
        now[0] += 2.0
        assert screen.pace.elapsed(now[0]) == pytest.approx(5.0)
        await finished(pilot, screen)
        first_run = screen.pace.elapsed(now[0])
        assert first_run == pytest.approx(5.0)
        now[0] += 50.0  # between runs: nothing runs
        await pilot.press("R")  # retry the errored conversations: elapsed goes on, it is not reset
        await wait_until(pilot, lambda: screen.pace.started_at == now[0], what="the retry run's start")
        assert screen.pace.elapsed(now[0]) == pytest.approx(first_run)  # where the first run left it (not 0)
        await finished(pilot, screen)
        assert screen.pace.elapsed(now[0]) == pytest.approx(first_run)  # the clock has not moved since
    active = await stored_active(db_file, sid)  # the engine's own clock: both runs, pauses left out
    assert active > 0


async def test_a_finished_session_opened_later_shows_its_elapsed_time_and_tokens(db_file, demo_url):
    config = config_for(demo_url)
    sid = await new_session(db_file, config, bank(2))
    async with app_for(db_file, sid, config).run_test(size=SIZE) as pilot:
        await finished(pilot, await run_screen(pilot))
    with sqlite3.connect(db_file) as conn:  # a run that took 83 s of active time
        conn.execute("UPDATE session SET active_s = 83.0 WHERE id = ?", (sid,))
    tokens = stored_tokens(db_file, sid)
    tokens_in, tokens_out = (sum(v[i] for v in tokens.values()) for i in (0, 1))
    assert tokens_in and tokens_out
    async with app_for(db_file, sid, config, start=False).run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: "elapsed 1:23" in screen_text(pilot), what="the stored elapsed time")
        assert clock_text(83.0) == "1:23"
        assert f"tokens in {tokens_in:,} out {tokens_out:,}" in screen_text(pilot)
        board = screen.query_one(Scoreboard)
        for target, (t_in, t_out) in tokens.items():  # each target's meters, from the store
            m = screen.meters.by_target[target]
            assert (m.tokens_in, m.tokens_out) == (t_in, t_out) and m.latency and m.ttft
            assert board.get_cell("m:in", target).plain == tokens_text(t_in) == meter_text("m:in", m)
            # a lane's header is drawn at a flush after the load: wait for it (a loaded machine is slower)
            await wait_until(pilot, lambda target=target, t_in=t_in, t_out=t_out: f"in {tokens_text(t_in)} out "
                             f"{tokens_text(t_out)}" in text_of(screen.lanes[target].header), what="lane meters")


async def test_live_meters_count_what_the_run_streams(db_file, slow_url):
    config = config_for(slow_url, ("demo-guardian", "demo-pushover"))
    sid = await new_session(db_file, config, bank(2))
    async with app_for(db_file, sid, config).run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: any(m.latency for m in screen.meters.by_target.values()),
                         what="a finished answer counted live")
        live = {t: (m.tokens_in, m.tokens_out, len(m.latency)) for t, m in screen.meters.by_target.items()}
        await finished(pilot, screen)
        tokens = stored_tokens(db_file, sid)
        for target, m in screen.meters.by_target.items():
            assert (m.tokens_in, m.tokens_out) == tokens[target]
            assert len(m.latency) == len(m.ttft) == 4  # 2 items × 2 rounds
            assert live[target][0] <= m.tokens_in and live[target][2] <= 4
            assert m.latency_p50 is not None and m.ttft_p50 is not None and m.ttft_p50 <= m.latency_p50


async def test_exit_code_after_errored_conversations_is_the_headless_one(db_file, demo_url):
    config = with_target(config_for(demo_url, ("demo-guardian",)), "broken", demo_url, "demo-refuser+auth")
    sid = await new_session(db_file, config, bank(1))
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        summary = await session_summary(db_file, sid)
        assert summary.errors == 1
        # the run screen counts as the sessions list does: done conversations of all, errors apart
        assert f"{summary.done}/{summary.conversations} conversations" in screen_text(pilot)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 3

    async def create(store: Store) -> int:
        from engine_helpers import TAXONOMY

        from scsafety_tui.engine.session import create_session

        return await create_session(store, config, TAXONOMY, bank(1), name="headless")

    headless = await run_headless(db_file, create, config=config, console=Console(file=io.StringIO()))
    assert headless == app.return_code == 3


async def test_exit_code_after_a_clean_run_is_0(db_file, demo_url):
    config = config_for(demo_url, ("demo-guardian",))
    sid = await new_session(db_file, config, bank(1))
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE) as pilot:
        await finished(pilot, await run_screen(pilot))
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 0


def test_a_narrow_status_bar_drops_the_display_modes_never_a_figure_it_shows():
    """Paused at 160 columns with a cost, the bar was cut after the tokens: cost, retries and errors gone."""
    from scsafety_tui.tui.widgets.status_bar import StatusInfo, status_parts, status_text

    info = StatusInfo(state="paused", done=1234, total=5200, elapsed=3725.0, eta=9000.0, tokens=1_234_567,
                      tokens_in=2_345_678, retries=12, errors=3, cost="12.3456 USD", lanes="lanes 1–8 of 13")
    for width in (60, 80, 120, 160, 240):
        text = status_text(info, width).plain
        assert len(text) <= width or text == "paused (space resumes)", (width, text)
        assert text.startswith("paused (space resumes)")
        whole = {p for _, p, _ in status_parts(info)}
        for part in text.split("  ·  ") if "  ·  " in text else text.split(" · "):
            assert part in whole, part  # each part whole, never cut mid-figure
    wide = status_text(info, 160).plain
    assert "errors 3" in wide and "cost 12.3456 USD" in wide and "retries 12" in wide
    assert "raw text" not in wide  # a display mode goes first
    assert "errors 3" in status_text(info, 80).plain and "1234/5200 conversations" in status_text(info, 80).plain
    assert "raw text" in status_text(info, 400).plain  # room for everything: everything shown
