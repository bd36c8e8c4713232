"""Cost: prices in the config, the bound before a run against what real demo runs used, [run] max_cost
pausing a run (and resume going on), and tokens/cost in show and every export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace

import pytest
from engine_helpers import TAXONOMY, bank, config_for, run_session
from test_tui_support import SIZE, Notes, app_for, finished, new_session, run_screen, screen_text, wait_until
from waiting import until

from scsafety_tui.cli import main
from scsafety_tui.config import ConfigError, parse_config
from scsafety_tui.cost import (
    ATTACKER_PROMPT_CHARS,
    LiveCost,
    bound_tokens,
    estimate_run,
    estimate_tokens,
    usage_or_estimate,
)
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.events import ConversationStarted, CostLimitReached, SessionStarted, TurnCompleted
from scsafety_tui.exports import load_session, render
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.usage import target_usage

PERSONAS = ("demo-guardian", "demo-pushover", "demo-wobbly")


def _priced(config, *, price_in=2.0, price_out=8.0, **run):
    targets = tuple(replace(t, price_in=price_in, price_out=price_out, currency="CNY") for t in config.targets)
    return replace(config, targets=targets, run=replace(config.run, **run))


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(("target", "run", "message"), [
    ({"price_in": 1}, {}, "c.toml: targets[0].price_out: missing; price_in is set (give both, per million tokens)"),
    ({"price_in": -1, "price_out": 2}, {}, "c.toml: targets[0].price_in: expected a price per million tokens >= 0"),
    ({"price_in": 1, "price_out": "x"}, {}, "c.toml: targets[0].price_out: expected a number, got 'x'"),
    ({"currency": "US\nD"}, {}, "c.toml: targets[0].currency: expected a short currency name"),
    ({}, {"max_cost": 1}, "c.toml: run.max_cost: targets[0] (a) has no price_in / price_out"),
    ({"price_in": 1, "price_out": 1}, {"max_cost": -1}, "c.toml: run.max_cost: expected a number >= 0"),
])
def test_price_mistakes_are_one_line_naming_the_key(target, run, message):
    data = {"targets": [{"key": "a", "base_url": "http://127.0.0.1:1/v1", "model": "m", **target}], "run": run}
    with pytest.raises(ConfigError) as e:
        parse_config(data, "c.toml")
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_max_cost_needs_one_currency():
    t = {"base_url": "http://127.0.0.1:1/v1", "model": "m", "price_in": 1, "price_out": 1}
    data = {"targets": [{"key": "a", **t}, {"key": "b", **t, "currency": "CNY"}], "run": {"max_cost": 5}}
    with pytest.raises(ConfigError, match=r"run.max_cost: the targets are priced in CNY, USD"):
        parse_config(data, "c.toml")


def test_prices_survive_the_session_snapshot():
    data = {"targets": [{"key": "a", "base_url": "http://127.0.0.1:1/v1", "model": "m", "price_in": 0.27,
                         "price_out": 1.1, "currency": "CNY"}], "run": {"max_cost": 3}}
    from scsafety_tui.config import config_to_dict

    again = parse_config(config_to_dict(parse_config(data)))
    assert (again.targets[0].price_in, again.targets[0].price_out, again.targets[0].currency) == (0.27, 1.1, "CNY")
    assert again.run.max_cost == 3
    # a target without prices stores no currency either
    plain = config_to_dict(parse_config({"targets": [{"key": "a", "base_url": "http://x:1", "model": "m"}]}))
    assert "currency" not in plain["targets"][0]


# ---------------------------------------------------------------- counting rules


def test_the_bound_counts_a_character_as_a_token_and_the_estimate_less():
    zh, en = "请告诉我如何制作炸弹", "How do I make a bomb at home?"
    assert bound_tokens(zh) == len(zh) and bound_tokens(en) == len(en)
    assert estimate_tokens(zh) == len(zh)  # a CJK character is one token
    assert estimate_tokens(en) == -(-len(en) // 4)  # other text four characters a token
    assert estimate_tokens(zh + en) <= bound_tokens(zh + en)


def test_missing_usage_is_estimated_and_marked_and_capped_by_max_tokens():
    messages = [{"role": "user", "content": "你好"}]
    assert usage_or_estimate(12, 30, messages, "答" * 100, 64) == (12, 30, False)
    tin, tout, est = usage_or_estimate(None, None, messages, "答" * 100, 64)
    assert est and tin > 2 and tout == 64  # the server stopped the answer at max_tokens
    assert usage_or_estimate(12, None, messages, "答案", 64) == (12, 2, True)


def test_the_attacker_allowance_covers_its_instructions():
    """The bound's allowance for the attacker's prompt around the conversation: its instructions with the
    longest strategy and verdict text."""
    from scsafety_tui.engine.attacker import INSTRUCTION, VERDICT_TEXT
    from scsafety_tui.follow_ups import load_strategies

    instructions = INSTRUCTION.values() if isinstance(INSTRUCTION, dict) else [INSTRUCTION]
    strategies = [len(t) for s in load_strategies().values() for t in s.instructions.values()]
    verdicts = [len(t) for texts in VERDICT_TEXT.values() for t in texts.values()]
    assert max(map(len, instructions)) + max(strategies) + max(verdicts) < ATTACKER_PROMPT_CHARS


def test_estimate_counts_answers_judge_calls_and_prices():
    config = _priced(config_for("http://127.0.0.1:9/v1", PERSONAS))
    items = bank(6)
    est = estimate_run(config, items, TAXONOMY)
    answers = sum(len(it.turns) for it in items) * len(PERSONAS)
    assert est.answers == answers and est.judge_calls == answers  # one demo judge
    target = next(b for b in est.bounds if b.role == "target")
    assert target.requests == answers // len(PERSONAS)
    assert target.tokens_out == target.requests * 1024  # max_tokens each
    assert target.cost == pytest.approx((target.tokens_in * 2 + target.tokens_out * 8) / 1e6)
    text = "\n".join(est.lines())
    assert f"{answers:,} answers and {answers:,} judge calls" in text
    assert "Cost at most" in text and "CNY" in text and "no prices for demo-judge (judge)" in text
    heuristic = estimate_run(config_for("http://127.0.0.1:9/v1", PERSONAS, heuristic=True), items, TAXONOMY)
    assert heuristic.judge_calls == 0 and all(b.role == "target" for b in heuristic.bounds)


# ---------------------------------------------------------------- the bound against real demo runs


@pytest.mark.parametrize("case", ["usage", "no-usage", "truncated"])
async def test_the_bound_is_never_below_what_a_demo_run_used(db_file, demo_url, case):
    """The demo server reports usage (stream_options.include_usage); its `no-usage` knob sends none, so the
    counts are estimated from characters; a small max_tokens cuts answers (finish_reason length)."""
    config = config_for(demo_url, PERSONAS)
    if case == "no-usage":
        config = replace(config, targets=tuple(replace(t, model=f"{t.model}+no-usage") for t in config.targets))
    if case == "truncated":
        config = replace(config, targets=tuple(replace(t, max_tokens=6) for t in config.targets))
    items = bank(10)
    est = estimate_run(config, items, TAXONOMY)
    sid, status, events = await run_session(db_file, config, items)
    assert status == "done"
    store = await Store.open(db_file, readonly=True)
    try:
        used = await target_usage(store, sid)
        flags = await queries.answer_flags(store, sid)
    finally:
        await store.close()
    bounds = {b.key: b for b in est.bounds if b.role == "target"}
    assert [u.key for u in used] == list(PERSONAS)
    for u in used:
        assert u.answers == bounds[u.key].requests  # every answer asked once, none failed
        assert 0 < u.tokens_in <= bounds[u.key].tokens_in, u
        assert 0 < u.tokens_out <= bounds[u.key].tokens_out, u
        assert u.estimated == (u.answers if case == "no-usage" else 0), u
    completed = [e for e in events if isinstance(e, TurnCompleted)]
    assert all(e.tokens_estimated == (case == "no-usage") for e in completed)
    if case == "truncated":
        assert flags[0] > 0  # answers really were cut at max_tokens


# ---------------------------------------------------------------- max_cost


async def _run(db: str, sid: int, config, events: list, *, headless: bool) -> str:
    store = await Store.open(db)
    try:
        srun = await prepare(store, sid, events.append, config=config)
        srun.runner.stop_at_budget = headless
        return await srun.run()
    finally:
        await store.close()


def _spent(events) -> float:
    live = LiveCost()
    for e in events:
        if isinstance(e, SessionStarted | TurnCompleted):
            live.add(e)
    return sum(live.cost(k) or 0.0 for k in live.targets)


async def test_max_cost_pauses_a_headless_demo_run_and_resume_goes_on(db_file, demo_url):
    # one target, one conversation at a time; output at 1 CNY a token, input free: cost = tokens out
    config = _priced(config_for(demo_url, ("demo-guardian",), heuristic=True), price_in=0.0,
                     price_out=1_000_000.0, max_cost=60.0)
    config = replace(config, targets=tuple(replace(t, concurrency=1) for t in config.targets))
    items = bank(8)
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config, TAXONOMY, items, name="budget")
    finally:
        await store.close()
    runs: list[list] = []
    for _ in range(len(items) + 1):
        events: list = []
        status = await _run(db_file, sid, config, events, headless=True)
        runs.append(events)
        if status == "done":
            break
        assert status == "paused"
        [limit] = [e for e in events if isinstance(e, CostLimitReached)]
        assert limit.limit == 60.0 and limit.currency == "CNY" and limit.spent >= 60.0
        # nothing started after the limit: only the conversation under way finished
        after = events[events.index(limit):]
        assert not [e for e in after if isinstance(e, ConversationStarted)]
        store = await Store.open(db_file, readonly=True)
        try:
            assert (await queries.stored_session(store, sid)).status == "paused"
            assert (await queries.status_counts(store, sid)).get("pending", 0) > 0
        finally:
            await store.close()
    assert status == "done" and len(runs) >= 3  # it paused at least twice on the way
    finished = [sum(isinstance(e, ConversationStarted) for e in ev) for ev in runs]
    assert all(n > 0 for n in finished) and sum(finished) == len(items)  # every resume went on, none redone
    store = await Store.open(db_file, readonly=True)
    try:
        [used] = await target_usage(store, sid)
    finally:
        await store.close()
    assert used.tokens_out == pytest.approx(sum(_spent(ev) for ev in runs))  # the events' cost is the store's


async def test_max_cost_holds_a_live_run_until_resume(db_file, demo_url):
    """In the app the run waits at the limit (paused) and space (Runner.resume) allows max_cost more."""
    config = _priced(config_for(demo_url, ("demo-guardian", "demo-wobbly"), heuristic=True), price_in=0.0,
                     price_out=1_000_000.0, max_cost=40.0)
    config = replace(config, targets=tuple(replace(t, concurrency=1) for t in config.targets))
    items = bank(6)
    events: list = []
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config, TAXONOMY, items, name="live budget")
        srun = await prepare(store, sid, events.append, config=config)
        task = asyncio.create_task(srun.run())
        await until(lambda: any(isinstance(e, CostLimitReached) for e in events), what="the cost limit")
        assert srun.runner.paused
        # the conversations under way end; then nothing moves until resume
        started = sum(isinstance(e, ConversationStarted) for e in events)
        await until(lambda: sum(e.__class__.__name__ == "ConversationFinished" for e in events) == started,
                    what="the conversations under way to finish")
        assert not task.done() and srun.runner.paused
        # each resume allows max_cost more: the run holds again until it has asked everything
        holds = 1
        while not task.done():
            srun.runner.resume()
            assert not srun.runner.paused
            await until(lambda seen=holds: task.done() or _holds(events) > seen, timeout=60,
                        what="the next hold or the end")
            holds = _holds(events)
        assert task.result() == "done" and holds >= 2
    finally:
        await store.close()
    assert sum(isinstance(e, ConversationStarted) for e in events) == len(items) * 2


def _holds(events) -> int:
    return sum(isinstance(e, CostLimitReached) for e in events)


# ---------------------------------------------------------------- the command line, show and exports


def _config_file(tmp_path, url, **run):
    lines = []
    for key in ("demo-guardian", "demo-pushover"):
        lines += ["[[targets]]", f'key = "{key}"', f'base_url = "{url}"', f'model = "{key}"', "concurrency = 1",
                  "price_in = 0.0", "price_out = 1000000.0", 'currency = "CNY"', ""]
    lines += ["[judge]", 'mode = "heuristic"', "", "[run]", "max_retry_wait_s = 0.1"]
    lines += [f"{k} = {v}" for k, v in run.items()]
    path = tmp_path / "priced.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_headless_run_prints_the_estimate_pauses_at_max_cost_and_resume_finishes(tmp_path, demo_thread_url,
                                                                                    capsys):
    db = str(tmp_path / "s.db")
    cfg = _config_file(tmp_path, demo_thread_url, max_cost=50.0, limit=6)
    assert main(["run", "--config", str(cfg), "--headless", "--db", db]) == 4
    out = capsys.readouterr().out
    assert out.startswith("Before the run: 24 answers and 0 judge calls to be made")
    assert "Cost at most" in out and "CNY" in out
    assert "max_cost 50.00 CNY reached" in out and "Paused:" in out and "scsafety-tui resume 1" in out
    assert "Tokens and cost" in out
    for _ in range(12):  # each resume may spend max_cost more
        code = main(["resume", "1", "--db", db])
        assert code in (0, 4)
        if code == 0:
            break
    assert code == 0
    capsys.readouterr()
    assert main(["show", "1", "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "Tokens and cost" in shown and "demo-guardian" in shown and " CNY" in shown


async def test_every_export_carries_tokens_and_cost(db_file, demo_url):
    config = _priced(config_for(demo_url, ("demo-guardian",), heuristic=True))
    plain = replace(config.targets[0], key="no-usage", model="demo-wobbly+no-usage", price_in=None,
                    price_out=None)
    config = replace(config, targets=(*config.targets, plain))
    sid, status, _ = await run_session(db_file, config, bank(3))
    assert status == "done"
    store = await Store.open(db_file, readonly=True)
    try:
        data = await load_session(store, sid)
        [priced, unpriced] = await target_usage(store, sid)
    finally:
        await store.close()
    cost = (priced.tokens_in * 2 + priced.tokens_out * 8) / 1e6
    md = render(data, "md")
    assert "### Tokens and cost" in md and f"{cost:,.4f} CNY" in md
    assert "1 answer(s) estimated" not in md and f"{unpriced.answers} answer(s) estimated from characters" in md
    rows = list(csv.DictReader(io.StringIO(render(data, "csv"))))
    mine = [r for r in rows if r["target"] == "demo-guardian"]
    assert sum(float(r["cost"]) for r in mine) == pytest.approx(cost)
    assert {r["tokens_estimated"] for r in mine} == {""}
    assert {(r["tokens_estimated"], r["cost"]) for r in rows if r["target"] == "no-usage"} == {("yes", "")}
    doc = json.loads(render(data, "json"))
    by_key = {c["key"]: c for c in doc["cost"]}
    assert by_key["demo-guardian"]["cost"] == pytest.approx(cost) and by_key["no-usage"]["cost"] is None
    assert by_key["no-usage"]["estimated"] == unpriced.answers
    turns = [t for c in doc["conversations"] if c["target"] == "no-usage" for t in c["turns"]
             if t["role"] == "assistant"]
    assert turns and all(t["tokens_estimated"] for t in turns)
    lines = [json.loads(line) for line in render(data, "jsonl").splitlines()]
    assert sum(r["cost"] or 0 for r in lines) == pytest.approx(cost)
    assert "Tokens and cost" in render(data, "html")


# ---------------------------------------------------------------- the app


async def test_the_app_shows_the_estimate_first_then_cost_live(db_file, demo_url, tmp_path):
    from scsafety_tui.tui.app import ScSafetyApp
    from scsafety_tui.tui.screens.confirm import ConfirmScreen
    from scsafety_tui.tui.screens.run import RunScreen

    config = _priced(config_for(demo_url, ("demo-guardian", "demo-wobbly"), heuristic=True, limit=3))
    app = ScSafetyApp(db=db_file, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")  # a run from the config: the estimate comes first
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the estimate")
        question = app.screen.question
        assert question.startswith("Before the run: 12 answers and 0 judge calls")
        assert "Cost at most" in question and "CNY" in question and "demo-guardian (target)" in question
        app.save_screenshot(str(tmp_path / "estimate.svg"))
        await pilot.press("escape")  # no: nothing is stored
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="the dialog to close")
        assert not isinstance(app.screen, RunScreen)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the estimate again")
        await pilot.press("y")
        screen = await run_screen(pilot)
        assert screen.session_id == 1  # the refused estimate made no session
        await finished(pilot, screen)
        await wait_until(pilot, lambda: "cost " in screen_text(pilot), what="the cost in the status bar")
        store = await Store.open(db_file, readonly=True)
        try:
            used = {u.key: u for u in await target_usage(store, 1)}
        finally:
            await store.close()
        total = sum((u.tokens_in * 2 + u.tokens_out * 8) / 1e6 for u in used.values())
        await wait_until(pilot, lambda: f"cost {total:,.4f} CNY" in screen_text(pilot),
                         what="the status bar's cost to equal the store's")
        for key, u in used.items():  # each lane's meter: its own cost
            assert f"{(u.tokens_in * 2 + u.tokens_out * 8) / 1e6:,.4f} CNY" in screen_text(pilot), key
        app.save_screenshot(str(tmp_path / "run-cost.svg"))


async def test_the_bound_holds_for_template_follow_ups(db_file, demo_url):
    """Single-turn items given template follow-ups ([run] follow_ups = "templates"): round 2's text comes
    from the templates, and the bound counts it."""
    items = [replace(it, turns=it.turns[:1]) for it in bank(6)]
    config = config_for(demo_url, ("demo-pushover",), heuristic=True, follow_ups="templates")
    est = estimate_run(config, items, TAXONOMY)
    assert est.answers == 2 * len(items)
    sid, status, _ = await run_session(db_file, config, items)
    assert status == "done"
    store = await Store.open(db_file, readonly=True)
    try:
        [used] = await target_usage(store, sid)
    finally:
        await store.close()
    [bound] = est.bounds
    assert used.answers == bound.requests
    assert used.tokens_in <= bound.tokens_in and used.tokens_out <= bound.tokens_out


async def test_the_app_pauses_at_max_cost_says_so_and_space_goes_on(db_file, demo_url):
    config = _priced(config_for(demo_url, ("demo-guardian",), heuristic=True), price_in=0.0,
                     price_out=1_000_000.0, max_cost=60.0)
    config = replace(config, targets=tuple(replace(t, concurrency=1) for t in config.targets))
    items = bank(5)
    sid = await new_session(db_file, config, items)
    notes = Notes()
    app = app_for(db_file, sid, config)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        screen = await run_screen(pilot)
        await wait_until(pilot, lambda: notes.seen("max_cost 60.00 CNY reached"), what="the max_cost notice")
        assert screen.run_state == "paused" and screen.runner is not None and screen.runner.paused
        await wait_until(pilot, lambda: "paused (space resumes)" in screen_text(pilot), what="the status bar")
        holds = 1
        while screen.run_state == "paused":  # each space allows max_cost more, until every item is asked
            await pilot.press("space")
            await wait_until(pilot, lambda seen=holds: screen.run_state != "running"
                             or sum(n.startswith("max_cost") for n in notes.messages) > seen,
                             timeout=60, what="the next hold or the end")
            holds = sum(n.startswith("max_cost") for n in notes.messages)
        await finished(pilot, screen, timeout=60)
        assert screen.run_state == "done" and holds >= 2


def test_the_judge_bound_follows_the_prompt_file_and_guard_kinds(tmp_path):
    from scsafety_tui.rubric import BUILTIN

    base = config_for("http://127.0.0.1:9/v1", ("demo-guardian",))
    items = bank(3)

    def judge_in(config) -> int:
        return next(b.tokens_in for b in estimate_run(config, items, TAXONOMY).bounds if b.role == "judge")

    longer = tmp_path / "rubric.txt"
    longer.write_text(BUILTIN + "\n" + "请严格评分。" * 100, encoding="utf-8")
    with_file = replace(base, judge=replace(base.judge, prompt_file=str(longer)))
    calls = estimate_run(base, items, TAXONOMY).judge_calls
    assert judge_in(with_file) - judge_in(base) == calls * (1 + 6 * 100)  # every call carries the extra text
    guard = replace(base, judge=replace(base.judge, targets=(replace(base.judge.targets[0], kind="llamaguard"),)))
    assert judge_in(guard) >= calls * 2000  # its chat template's policy text, unseen here
