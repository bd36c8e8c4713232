"""The run screen at the widths people use: 6 targets at 160 columns, 80×24, 240×60, 13 targets, and
Chinese text cut on character boundaries. Real app, real demo server, real store."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from engine_helpers import bank, config_for, with_target
from rich.cells import cell_len
from test_tui_support import app_for, finished, new_session, run_screen, screen_text, wait_until, widget_text

from scsafety_tui.tui.widgets.lane import LANE_MIN
from scsafety_tui.tui.widgets.navigator import Navigator
from scsafety_tui.tui.widgets.scoreboard import TOTAL_ROWS, Scoreboard


def targets_config(url: str, n: int):
    config = config_for(url)
    for i in range(n - 4):
        config = with_target(config, f"extra-{i + 1}", url, ("demo-guardian", "demo-wobbly")[i % 2])
    return config


def no_overlap(widgets) -> bool:
    regions = sorted((w.region for w in widgets), key=lambda r: r.x)
    return all(a.right <= b.x for a, b in pairwise(regions))


async def test_six_targets_at_160_columns_are_all_on_screen_and_labelled(db_file, demo_url):
    config = targets_config(demo_url, 6)
    sid = await new_session(db_file, config, bank(2))
    async with app_for(db_file, sid, config).run_test(size=(160, 48)) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        lanes = list(screen.lanes.values())
        assert len(lanes) == 6 and no_overlap(lanes)
        assert all(lane.region.right <= 160 and lane.size.width >= LANE_MIN for lane in lanes)  # none off-screen
        assert screen.lanes_note() == ""
        for lane in lanes:
            header = widget_text(lane.header)
            assert lane.target in header and "R1 " in header and "R2 " in header and "Δ" in header
        # R1, R2 and Δ in the header are the scoreboard's numbers (the same pair-level scoring)
        board = screen.query_one(Scoreboard)
        r1 = board.text_at("r1", "demo-pushover").split(" ")[0]
        assert f"R1 {float(r1):.1f}" in widget_text(screen.lanes["demo-pushover"].header)


async def test_80x24_is_usable_every_target_and_the_summary_rows_visible(db_file, demo_url):
    config = config_for(demo_url)
    sid = await new_session(db_file, config, bank(2))
    async with app_for(db_file, sid, config).run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        board = screen.query_one(Scoreboard)
        assert board.mode == "compact"
        assert board.virtual_size.width <= board.scrollable_content_region.width  # every target's column
        assert [board.get_row_index(key) for key, _ in TOTAL_ROWS] == [0, 1, 2, 3, 4]  # summary rows first
        assert board.scrollable_content_region.height >= 1 + len(TOTAL_ROWS)  # ...and on screen (+ header)
        assert board.get_cell("total", "demo-guardian").plain == board.text_at("total", "demo-guardian").split()[0]
        lanes = list(screen.lanes.values())
        assert all(lane.region.right <= 80 for lane in lanes) and no_overlap(lanes)
        assert no_overlap([screen.query_one(Navigator), board])
        text = screen_text(pilot).splitlines()
        assert "? Help" in text[-1]  # the footer keeps ?
        assert all(t in "\n".join(text) for t in screen.lanes)  # every lane names its target


async def test_240x60_uses_the_room(db_file, demo_url):
    config = config_for(demo_url)
    sid = await new_session(db_file, config, bank(1))
    async with app_for(db_file, sid, config).run_test(size=(240, 60)) as pilot:
        screen = await run_screen(pilot)
        await finished(pilot, screen)
        board = screen.query_one(Scoreboard)
        assert board.mode == "wide"
        widths = [col.width for key, col in board.columns.items() if key.value != "scope"]
        assert min(widths) > 20  # full names and room to read
        assert sum(lane.outer_size.width for lane in screen.lanes.values()) == 240
        assert all(lane.meters_shown and "ttft" in widget_text(lane.header) for lane in screen.lanes.values())


async def test_13_targets_say_which_lanes_are_on_screen_and_z_zooms(db_file, demo_url):
    config = targets_config(demo_url, 13)
    sid = await new_session(db_file, config, bank(1))
    async with app_for(db_file, sid, config, start=False).run_test(size=(160, 48)) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: "lanes 1–8 of 13" in screen_text(pilot), what="the lanes shown said")
        screen.lanes["extra-2"].view.focus()
        await pilot.press("z")
        assert [lane.target for lane in screen.lanes.values() if lane.display] == ["extra-2"]
        await wait_until(pilot, lambda: "lane 6 of 13 zoomed" in screen_text(pilot), what="the zoom said")
        await wait_until(pilot, lambda: screen.lanes["extra-2"].outer_size.width == 160, what="the zoomed lane")
        await pilot.press("z")
        assert all(lane.display for lane in screen.lanes.values())


LONG = "请详细说明一下为什么有些人会在网络上发表攻击性的言论，以及我们应该怎样回应这种情况才比较合适和有效果呢？"


async def test_chinese_text_is_cut_on_character_boundaries(db_file, demo_url):
    """Double-width text at odd lane widths: every line fits its lane, no character is lost or doubled and
    no space is put in between (a wide character that does not fit goes to the next line whole)."""
    items = [replace(it, turns=(LONG, it.turns[1])) for it in bank(1)]
    config = config_for(demo_url, ("demo-guardian", "demo-refuser", "demo-wobbly"))
    sid = await new_session(db_file, config, items)
    async with app_for(db_file, sid, config, start=False).run_test(size=(79, 30)) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: all("Q1" in lane.view.text for lane in screen.lanes.values()),
                         what="the question drawn")
        for lane in screen.lanes.values():
            width = lane.view.scrollable_content_region.width
            lines = lane.view.text.split("\n")
            start = next(i for i, line in enumerate(lines) if "Q1" in line)
            block = []
            for line in lines[start:]:
                if not line.strip():
                    break
                assert cell_len(line) <= width
                block.append(line[1:])  # the block's one-column left padding
            assert "".join(block) == "Q1" + LONG, lane.target
            for line in widget_text(lane.header).splitlines():
                assert cell_len(line) <= lane.size.width
