"""The run screen: lanes side by side, the item navigator, the live scoreboard and the status bar.

It talks to the core in two ways only: the store's query functions (through the app's read connection)
and engine events, which its event source delivers to its EventBridge as EngineEvent messages. The source
is composed, not inherited: a live run (LiveSource, the default) or a saved session re-emitted with its
original timing (StoredSource: a replay); run_control.py holds the keys that drive it. Drawing is paced by
timers: streaming text at 12 Hz, navigator glyphs and scores at 2 Hz each, clocks and token rates at 1 Hz.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalScroll
from textual.widgets import Footer, Header

from scsafety_tui.config import Config
from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    Progress,
    SessionFinished,
    SessionStarted,
    TurnCompleted,
    TurnFailed,
)
from scsafety_tui.scoring import fmt
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.bridge import EventBridge
from scsafety_tui.tui.labels import AnswerRef
from scsafety_tui.tui.messages import EngineEvent, ItemChosen, ScopeChosen
from scsafety_tui.tui.model import ConvModel, from_transcript
from scsafety_tui.tui.pace import RunPace
from scsafety_tui.tui.screens.help import HelpScreen
from scsafety_tui.tui.screens.labelling import Labelling
from scsafety_tui.tui.screens.run_commands import RunCommands
from scsafety_tui.tui.screens.run_control import RunControl
from scsafety_tui.tui.sources import EventSource
from scsafety_tui.tui.sources.live import LiveSource
from scsafety_tui.tui.state import RunState
from scsafety_tui.tui.text import visible
from scsafety_tui.tui.widgets.lane import Lane, fit_lanes
from scsafety_tui.tui.widgets.navigator import Navigator
from scsafety_tui.tui.widgets.scoreboard import Scoreboard
from scsafety_tui.tui.widgets.status_bar import StatusBar, StatusInfo

FLUSH_HZ, TABLES_HZ = 12, 4
DWELL_S = 1.0
"""Following lanes stay on a conversation at least this long: readable, and cheap with very fast targets."""


BOARD_TITLES = {False: "SC-Safety score (complete pairs)",
                True: "SC-Safety score, human-adjusted (complete pairs)"}


class RunScreen(Labelling, RunControl):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("n", "next_item", "Next"),
        Binding("p", "prev_item", "Prev"),
        Binding("f", "follow", "Follow"),
        Binding("m", "toggle_markdown", "Markdown"),
        Binding("v", "toggle_reasons", "Reasons"),
        Binding("t", "toggle_thinking", "Reasoning"),
        Binding("r", "retry_errors", "Retry errors"),
        Binding("e", "export", "Export"),
        Binding("s", "scores", "Scores"),
        Binding("h", "toggle_human", "Judge/human"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "back", "Sessions", show=False),
        Binding("greater_than_sign", "speed(1)", "Faster"),  # where the source can_speed (check_action)
        Binding("less_than_sign", "speed(-1)", "Slower"),
    ]
    COMMANDS: ClassVar[set[Any]] = {RunCommands}

    def __init__(self, session_id: int, *, start: bool = True, config: Config | None = None,
                 pin: str | None = None, source: EventSource | None = None) -> None:
        """pin: open with the lanes pinned to this item (a search hit); source: where the events come from,
        a live run of the session (with config, if given) unless told otherwise."""
        super().__init__()
        self.session_id = session_id
        self.first_pin = pin
        self.start = start
        self.config = config
        self.bridge = EventBridge(self)
        self.source = source or LiveSource(lambda: Store.open(self.app.db), self.prepare_run)
        self.source.attach(self, self.bridge)
        self.pace = RunPace()
        self.state: RunState | None = None
        self.lanes: dict[str, Lane] = {}
        self.pinned = None
        self.markdown = False
        self.reasons = False
        self.thoughts = False
        """Show the models' reasoning in full (dimmed); collapsed to one line by default."""
        self.human = False
        self.session_status = ""
        self.run_state = "loading"
        self.after_stop = None
        self._table_turn = False

    @property
    def st(self) -> RunState:
        assert self.state is not None, "the session is not loaded yet"
        return self.state

    # ------------------------------------------------------------ layout and loading

    def compose(self) -> ComposeResult:
        yield Header()
        yield HorizontalScroll(id="lanes")
        with Horizontal(id="bottom"):
            yield Navigator()
            yield Scoreboard()
        yield StatusBar()
        yield Footer()

    async def on_mount(self) -> None:
        self.markdown = bool(self.app.config and self.app.config.ui.markdown)
        await self._load()
        self.set_interval(1 / FLUSH_HZ, self._flush)
        self.set_interval(1 / TABLES_HZ, self._tables)
        self.set_interval(1.0, self._tick)
        if self.start:
            self.start_run()
        else:
            self.run_state = self.idle_state()
            self._tick()

    async def _load(self) -> None:
        store, sid = self.app.store, self.session_id
        session = await queries.stored_session(store, sid)
        self.session_status = session.status
        self.title = visible(session.name)
        self.sub_title = f"session {sid}" if self.source.writes else f"replay of session {sid}"
        self.taxonomy = session.taxonomy
        items = await queries.items(store, sid)
        targets = session.keys
        self.state = RunState(items, targets)
        self.lanes = {t: Lane(i, t) for i, t in enumerate(targets, 1)}
        await self.query_one("#lanes").mount_all(self.lanes.values())
        self._size_lanes()
        nav = self.query_one(Navigator)
        nav.border_title = "items"
        nav.setup(items, targets)
        board = self.query_one(Scoreboard)
        board.border_title = BOARD_TITLES[self.human]
        board.setup(self.taxonomy, targets)
        await self.reload()
        if damaged := await queries.damaged_answers(store, sid):
            self.notify(queries.damaged_notice(sid, len(damaged)), severity="warning", timeout=15, markup=False)
        if self.first_pin in self.st.items:
            await self.pin(self.first_pin)
        elif items:
            await self.pin(items[0].id, follow=self.start)

    async def reload(self) -> None:
        """Glyphs, scores and progress as the store holds them now. Under a source that writes nothing (a
        replay) the screen starts from nothing, the events fill glyphs and scores in; only labels are read."""
        store, sid = self.app.store, self.session_id
        rows, truncated = await queries.answer_rows(store, sid), await queries.truncated_answers(store, sid)
        block_as_refusal = await queries.block_as_refusal(store, sid)
        if self.source.writes:
            s = await queries.session_summary(store, sid)
            progress = Progress(s.done + s.errors, s.conversations, 0, self.st.retries, s.errors)
            self.st.seed(rows, truncated=truncated)
        else:
            old = self.st
            progress = Progress(0, len(old.order) * len(old.targets), 0, 0, 0)
            self.state = RunState([old.items[i] for i in old.order], old.targets)
            self.st.seed([], {(r.target, r.item_id, r.round): r.label for r in rows if r.label is not None})
        # everything read first: no table tick can score the seeded rows with a stale setting
        self.st.scores.block_as_refusal, self.st.progress = block_as_refusal, progress
        nav = self.query_one(Navigator)
        for (item, target), marks in self.st.glyphs.items():
            nav.set_glyphs(item, target, marks)
        nav.flush()
        self._update_scores()

    def on_resize(self) -> None:
        self._size_lanes()

    def _size_lanes(self) -> None:
        fit_lanes(list(self.lanes.values()), self.size.width)

    # ------------------------------------------------------------ engine events

    async def on_engine_event(self, message: EngineEvent) -> None:
        ev = message.event
        if isinstance(ev, SessionStarted):
            # prepare() may have reset unfinished conversations: start from what the store holds now
            await self.reload()
            self.run_state = "running"
            self.pace.start(self.app.clock())
            return
        if isinstance(ev, SessionFinished):
            self.run_state = "finishing"
            return
        key = self.st.apply(ev)
        if key is None:
            return
        item_id, target = key
        self.query_one(Navigator).set_glyphs(item_id, target, self.st.glyphs[key])
        lane = self.lanes.get(target)
        if lane is None:
            return
        if isinstance(ev, TurnCompleted | TurnFailed):
            self.bridge.end_turn(key, ev.round)
        if isinstance(ev, ConversationStarted):
            if lane.item_id == item_id:
                self._show(lane, self.st.live[key])
            elif self.pinned is None and not (lane.conv and lane.conv.running):
                lane.want_switch = True
        elif isinstance(ev, ConversationFinished):
            self.bridge.end_conversation(ev)
            if lane.item_id == item_id:
                lane.touch()
                lane.want_switch = self.pinned is None
        elif lane.item_id == item_id:
            lane.touch()

    def _show(self, lane: Lane, conv: ConvModel) -> None:
        item = self.st.items[conv.item_id]
        sub = self.taxonomy.sub_dimension(item.sub_dimension)
        lane.show(item, conv, sub.name_zh if sub else item.sub_dimension)

    async def pin(self, item_id: str, follow: bool = False) -> None:
        """Point every lane at one item: live conversations from events, finished ones from the store."""
        self.pinned = None if follow else item_id
        for target, lane in self.lanes.items():
            conv = self.st.live.get((item_id, target))
            if conv is None:
                tr = await queries.transcript(self.app.store, self.session_id, item_id, target)
                conv = self.st.live.get((item_id, target)) or from_transcript(tr, item_id, target)
            lane.pinned = not follow
            self._show(lane, conv)
        self.query_one(Navigator).point_at(item_id)
        self._tick()

    # ------------------------------------------------------------ timers

    def _flush(self) -> None:
        dirty, now = self.bridge.dirty, time.monotonic()
        for target, lane in self.lanes.items():
            if lane.want_switch and self.pinned is None and now - lane.shown_at >= DWELL_S:
                conv = self.st.newest_active(target)
                if conv is not None:
                    self._show(lane, conv)
            key = (lane.item_id or "", target)
            streamed = key in dirty
            dirty.discard(key)
            lane.flush(partial(self.bridge.text, key), self.markdown, self.reasons, streamed,
                       self.thoughts, partial(self.bridge.reasoning, key))

    def _tables(self) -> None:
        """Navigator glyphs and scores on alternate ticks: a DataTable redraw is costly, don't stack two."""
        self._table_turn = not self._table_turn
        if self.state is None:
            return
        if self._table_turn:
            self.query_one(Navigator).flush()
        else:
            self._update_scores()

    def _update_scores(self) -> None:
        if not self.st.scores.dirty:
            return
        scores = self.st.scores.compute(self.human)
        self.query_one(Scoreboard).show(scores)
        for target, lane in self.lanes.items():
            ts = scores.get(target)
            lane.set_header(total=fmt(ts.total.score) if ts else "—")

    def _tick(self) -> None:
        if self.state is None:
            return
        now, p = self.app.clock(), self.st.progress
        running = self.run_state in ("running", "paused")
        for target, lane in self.lanes.items():
            tokens = self.bridge.tokens[target]
            rate = self.pace.rate(target, tokens, now)
            lane.set_header(rate=f"{rate:,.0f} tok/s" if running else f"{tokens:,} tok" if tokens else "")
        self.query_one(StatusBar).show(StatusInfo(
            state=self.run_state, done=p.done if p else 0, total=p.total if p else 0,
            elapsed=self.pace.elapsed(now), eta=self.pace.eta(p, now) if running else None,
            tokens=sum(self.bridge.tokens.values()), retries=self.st.retries, errors=p.errors if p else 0,
            following=self.pinned is None, markdown=self.markdown, mode=self.status_mode()))

    def status_mode(self) -> str:
        return " · ".join(m for m in (self.source.label, "human-adjusted scores" if self.human else "") if m)

    # ------------------------------------------------------------ navigation and views

    async def action_next_item(self) -> None:
        await self._step(1)

    async def action_prev_item(self) -> None:
        await self._step(-1)

    async def _step(self, delta: int) -> None:
        current = self.pinned
        if current is None and self.lanes:
            current = next(iter(self.lanes.values())).item_id
        nxt = self.query_one(Navigator).step(current, delta)
        if nxt:
            await self.pin(nxt)

    def action_follow(self) -> None:
        self.pinned = None
        for target, lane in self.lanes.items():
            lane.pinned = False
            conv = self.st.newest_active(target)
            if conv is not None:
                self._show(lane, conv)
            else:
                lane.touch()
                lane.set_header()
        self._tick()

    def action_toggle_markdown(self) -> None:
        self.markdown = not self.markdown
        for lane in self.lanes.values():
            lane.touch()
        self._tick()

    def action_toggle_reasons(self) -> None:
        self.reasons = not self.reasons
        for lane in self.lanes.values():
            lane.touch()

    def action_toggle_thinking(self) -> None:
        """The models' reasoning in full, or collapsed to one line (it is never part of the answer)."""
        self.thoughts = not self.thoughts
        for lane in self.lanes.values():
            lane.touch()

    def action_scores(self) -> None:
        """The whole scoreboard (totals included) on screen at once, or back to the lanes."""
        board = self.query_one(Scoreboard)
        if self.maximized is board:
            self.minimize()
        else:
            self.maximize(board, container=False)
            board.focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    # ------------------------------------------------------------ human labels

    def action_toggle_human(self) -> None:
        self.human = not self.human
        self.query_one(Scoreboard).border_title = BOARD_TITLES[self.human]
        self.st.scores.dirty = True
        self._update_scores()
        self._tick()

    def label_target(self) -> AnswerRef | None:
        lane = next((lane for lane in self.lanes.values() if lane.has_focus_within), None)
        turn = lane.label_turn() if lane else None
        if lane is None or lane.item_id is None or turn is None:
            self.notify("Labels apply to the focused lane's latest scored answer (marked ▲): "
                        "press tab or click a lane with a scored answer first.", severity="warning")
            return None
        return AnswerRef(self.session_id, lane.item_id, lane.target, turn.round, turn.score, turn.human)

    async def label_applied(self, ref: AnswerRef, score: int | None) -> None:
        self.st.scores.set_label(ref.key, score)
        for conv in (self.st.live.get((ref.item_id, ref.target)), self.lanes[ref.target].conv):
            if conv is not None and conv.item_id == ref.item_id and ref.round in conv.turns:
                conv.turns[ref.round].human = score
        self.lanes[ref.target].touch()
        self._update_scores()

    async def on_item_chosen(self, message: ItemChosen) -> None:
        await self.pin(message.item_id)

    def on_scope_chosen(self, message: ScopeChosen) -> None:
        nav = self.query_one(Navigator)
        if message.kind == "sub":
            sub = self.taxonomy.sub_dimension(message.id)
            nav.filter(sub.name_zh if sub else message.id, lambda it: it.sub_dimension == message.id)
        elif message.kind == "cat":
            cat = self.taxonomy.category(message.id)
            nav.filter(cat.name_zh if cat else message.id, lambda it: it.category == message.id)
        else:
            nav.filter("", lambda it: True)
