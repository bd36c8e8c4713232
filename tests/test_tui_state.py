"""The run screen's event-driven state and the scoreboard's cell text, without Textual running."""

from __future__ import annotations

from engine_helpers import TAXONOMY, bank

from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    TokenDelta,
    TurnCompleted,
    TurnFailed,
    TurnRetrying,
    TurnStarted,
    Verdict,
    VerdictReady,
)
from scsafety_tui.scoring import AnswerRow, score_answers
from scsafety_tui.tui.bridge import EventBridge
from scsafety_tui.tui.state import RunState
from scsafety_tui.tui.widgets.scoreboard import row_text

ITEMS = bank(2)
A, B = ITEMS[0].id, ITEMS[1].id


class Sink:
    def __init__(self) -> None:
        self.posted: list[object] = []

    def post_message(self, message: object) -> bool:
        self.posted.append(message)
        return True


def test_bridge_buffers_deltas_and_posts_the_rest() -> None:
    sink = Sink()
    bridge = EventBridge(sink)  # type: ignore[arg-type]
    bridge(TurnStarted(A, "t", 1, "q"))
    for piece in ("一", "二", "三"):
        bridge(TokenDelta(A, "t", 1, piece))
    assert len(sink.posted) == 1  # deltas never become messages
    assert bridge.text((A, "t"), 1) == "一二三" and bridge.tokens["t"] == 3 and (A, "t") in bridge.dirty
    bridge(TurnRetrying(A, "t", 1, 2, "boom", 0.1))
    assert bridge.text((A, "t"), 1) == ""  # a retry restarts the answer at once, before its message lands
    bridge(ConversationFinished(A, "t", "done"))
    bridge.end_conversation(ConversationFinished(A, "t", "done"))
    assert (A, "t") not in bridge.streams


def test_state_glyphs_and_scores_follow_events() -> None:
    state = RunState(ITEMS, ["t", "u"])
    for ev in (ConversationStarted(A, "t"), TurnStarted(A, "t", 1, "q1")):
        state.apply(ev)
    assert state.glyphs[(A, "t")] == ["▸", "·"] and state.live[(A, "t")].turns[1].prompt == "q1"
    state.apply(TurnCompleted(A, "t", 1, "answer", "stop", 1, 1))
    assert state.glyphs[(A, "t")] == ["…", "·"]
    state.apply(VerdictReady(A, "t", 1, 2, (Verdict("j1", 2, "good"), Verdict("j2", 1, "ok"))))
    assert state.glyphs[(A, "t")] == ["2", "·"]
    state.apply(TurnStarted(A, "t", 2, "q2"))
    state.apply(TurnFailed(A, "t", 2, "blocked", "filtered", "part"))
    state.apply(ConversationFinished(A, "t", "done"))
    assert state.glyphs[(A, "t")] == ["2", "⊘"] and (A, "t") not in state.live

    state.apply(ConversationStarted(B, "u"))
    state.apply(TurnStarted(B, "u", 1, "q"))
    state.apply(TurnFailed(B, "u", 1, "auth", "bad key"))
    state.apply(ConversationFinished(B, "u", "error"))
    assert state.glyphs[(B, "u")] == ["✗", "–"]

    rows = state.scores.rows.values()
    assert {r.status for r in rows} == {"done", "blocked", "error"}
    assert state.scores.rows[("t", A, 1)].judge_score() == 1  # the median of (2, 1) rounds down to 1
    # A's round 2 was blocked, so its pair is out of the headline; B's pair with "t" has not run yet
    ts = state.scores.compute()["t"]
    assert ts.total.score is None and ts.round(1) is None
    assert dict(ts.total.reasons) == {"blocked": 1, "cancelled/pending": 1} and ts.total.in_scope == 2


def test_seed_marks_rounds_after_a_block_as_not_asked() -> None:
    state = RunState(ITEMS, ["t"])
    item = ITEMS[0]
    state.seed([AnswerRow("t", item.id, item.category, item.sub_dimension, 1, "blocked")])
    assert state.glyphs[(item.id, "t")] == ["⊘", "–"]
    assert state.glyphs[(B, "t")] == ["·", "·"]


def test_row_text_matches_show_format() -> None:
    item = ITEMS[0]
    rows = [AnswerRow("t", item.id, item.category, item.sub_dimension, r, "done", (s,)) for r, s in ((1, 2), (2, 0))]
    ts = score_answers(rows)["t"]
    assert row_text(f"sub:{item.sub_dimension}", ts) == "50.00 (1)"  # score (complete pairs)
    assert row_text("r1", ts) == "100.00 (1)" and row_text("r2", ts) == "0.00 (1)"
    assert row_text("delta", ts) == "-100.00" and row_text("total", ts) == "50.00 (1)"
    assert row_text("pairs", ts) == "1/1"
    other = next(s for s in TAXONOMY.sub_dimensions if s.id != item.sub_dimension)
    assert row_text(f"sub:{other.id}", ts) == "—"


def test_follow_picks_the_item_most_targets_are_on_newest_on_ties() -> None:
    items = bank(4)
    i0, i1, i2, _ = (it.id for it in items)
    state = RunState(items, ["a", "b", "c"])
    assert state.follow_item() is None and state.follow_item(i0) == i0  # nothing in flight: keep what is shown
    state.apply(ConversationStarted(i0, "c"))
    state.apply(ConversationStarted(i1, "a"))
    state.apply(ConversationStarted(i1, "b"))
    assert state.follow_item() == i1  # two targets on i1, one on i0
    state.apply(ConversationStarted(i2, "c"))
    state.apply(ConversationFinished(i0, "c", "done"))
    state.apply(ConversationFinished(i1, "b", "done"))
    assert state.lanes_on() == {i1: 1, i2: 1}
    assert state.follow_item() == i2  # a tie: the newest start wins
    assert state.follow_item(i1) == i1  # ...but the item shown is kept while nothing is ahead of it
    state.apply(ConversationStarted(i2, "b"))
    assert state.follow_item(i1) == i2  # now more lanes are on i2


def test_meters_count_tokens_first_token_latency_and_retries() -> None:
    from scsafety_tui.store.queries import AnswerTiming
    from scsafety_tui.tui.meters import Meters, meter_parts

    meters = Meters(["t"])
    meters.seed([AnswerTiming("t", 10, 20, 0.5, 2.0), AnswerTiming("t", 5, None, None, 4.0)])
    meters.turn_started(TurnStarted(A, "t", 1, "q", t=10.0))
    meters.first_token((A, "t", 1), 10.4)
    meters.retrying(TurnRetrying(A, "t", 1, 2, "boom", 0.1, t=10.5))  # the answer starts again
    meters.first_token((A, "t", 1), 11.0)
    meters.turn_ended(TurnCompleted(A, "t", 1, "answer", "stop", 7, None, t=13.0), streamed=9)
    m = meters.by_target["t"]
    assert (m.tokens_in, m.tokens_out, m.retries) == (22, 29, 1)  # no usage sent: the streamed deltas count
    assert m.ttft == [0.5, 1.0] and m.latency == [2.0, 4.0, 3.0] and m.latency_p50 == 3.0
    meters.set_streaming("t", 4)
    assert meters.totals() == (22, 33)
    assert meter_parts(m) == ["in 22 out 33", "ttft 750ms", "p50 3.0s", "↻ 1"]
    m.cost = "$0.01"  # the place a cost figure goes
    assert meter_parts(m)[-1] == "$0.01"


def test_pace_stops_while_paused_and_a_second_run_adds_to_it() -> None:
    from scsafety_tui.tui.pace import RunPace

    pace = RunPace(base=30.0)  # what the session's earlier runs took (session.active_s)
    assert pace.elapsed(0.0) == 30.0
    pace.start(100.0)
    pace.pause(110.0)
    assert pace.elapsed(500.0) == 40.0  # paused: no time passes
    pace.resume(500.0)
    pace.end(505.0)
    assert pace.elapsed(900.0) == 45.0
    pace.start(1000.0)  # a retry: it goes on from there
    assert pace.elapsed(1002.0) == 47.0
