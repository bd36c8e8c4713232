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
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, HorizontalScroll
from textual.widgets import Footer, Header

from scsafety_tui.config import Config
from scsafety_tui.cost import Price, cost_of, fmt_money, meter_text, snapshot_prices
from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    CostLimitReached,
    Progress,
    SessionFinished,
    SessionStarted,
    TurnCompleted,
    TurnFailed,
    TurnRetrying,
    TurnStarted,
)
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.usage import target_usage
from scsafety_tui.tui import keymap
from scsafety_tui.tui.bridge import EventBridge
from scsafety_tui.tui.messages import EngineEvent, ItemChosen, ScopeChosen
from scsafety_tui.tui.meters import Meters
from scsafety_tui.tui.model import ConvModel, from_transcript
from scsafety_tui.tui.pace import RunPace
from scsafety_tui.tui.screens.help import RUN_NOTES
from scsafety_tui.tui.screens.run_answers import BOARD_TITLES, RunAnswers
from scsafety_tui.tui.screens.run_control import RunControl
from scsafety_tui.tui.screens.side_by_side import SideBySideScreen
from scsafety_tui.tui.sources import EventSource
from scsafety_tui.tui.sources.live import LiveSource
from scsafety_tui.tui.state import RunState
from scsafety_tui.tui.text import visible
from scsafety_tui.tui.widgets.lane import Lane, fit_lanes
from scsafety_tui.tui.widgets.navigator import Navigator
from scsafety_tui.tui.widgets.scoreboard import Scoreboard, compact_width
from scsafety_tui.tui.widgets.status_bar import StatusBar, StatusInfo

FLUSH_HZ, TABLES_HZ = 12, 4
NAV_MIN = 24
"""The navigator's narrowest (item ids and the first targets' glyphs; it scrolls for the rest)."""
MANY_TARGETS = 6
SPREAD_OVER = 4
FRESH_PER_FLUSH = 3
"""Lanes that switched conversations drawn per flush: when following moves every lane at once, the new
texts are laid out over a few flushes instead of one long one (each is a Rich render of the whole text)."""
DWELL_S = 1.0
"""Following lanes stay on a conversation at least this long: readable, and cheap with very fast targets."""



class RunScreen(RunAnswers, RunControl):
    # every key from the one keymap (tui/keymap.py); speed only where the source can_speed (check_action)
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings(
        "app.help", "toggle_pause", "cancel_run", "next_item", "prev_item", "follow", "filter", "search",
        "toggle_markdown", "toggle_reasons", "toggle_thinking", "retry_errors", "export", "scores", "toggle_human",
        "prev_answer", "next_answer", "back", "speed(1)", "speed(-1)", "zoom_lane", "lane_follow", "side_by_side",
        hide=("back",))
    HELP_TITLE = "Run screen"
    HELP_NOTES = RUN_NOTES

    def __init__(self, session_id: int, *, start: bool = True, config: Config | None = None,
                 pin: str | None = None, source: EventSource | None = None) -> None:
        """pin: open with the lanes pinned to this item (a search hit); source: where the events come from,
        a live run of the session (with config, if given) unless told otherwise."""
        super().__init__()
        self.session_id = session_id
        self.first_pin = pin
        self.start = start
        self.retry_first = False
        """Start by rerunning the errored conversations (`resume --retry-errors` in the app)."""
        self.config = config
        self.bridge = EventBridge(self)
        self.source = source or LiveSource(lambda: Store.open(self.app.db), self.prepare_run)
        self.source.attach(self, self.bridge)
        self.pace = RunPace()
        self.state: RunState | None = None
        self.lanes: dict[str, Lane] = {}
        self.meters = Meters(())
        self.prices: dict[str, Price] = {}
        self.estimated: set[str] = set()
        """Targets with a token count estimated from characters (a server that sent no usage)."""
        self.pinned = None
        self.followed: str | None = None
        """The item the following lanes show (RunState.follow_item: the one most targets are on)."""
        self.followed_at = 0.0
        self._point_gen = 0
        """Bumped by every pin/follow: a lane pointing that awaited the store gives way to a newer one."""
        self.zoomed: str | None = None
        """The target whose lane fills the lanes' row (z); the others are hidden until z again."""
        self.markdown = False
        self.reasons = False
        self.thoughts = False
        """Show the models' reasoning in full (dimmed); collapsed to one line by default."""
        self.human = False
        self.session_status = ""
        self.run_state = "loading"
        self.after_stop = None
        self.exit_code = 0
        """The last run's exit code as headless would give it (3: errored conversations or unscored answers)."""
        self._table_turn = False
        self._score_turn = 0
        self._flush_turn = 0
        self._nav_width = 40

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
            self.start_run(retry_errors=self.retry_first)
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
        scope = await queries.scope(store, sid)  # its rounds: follow-ups past an item's turns count
        self.state = RunState(items, targets, scope)
        self.meters = Meters(targets)
        self.prices = snapshot_prices(session.snapshot)  # [[targets]] price_in / price_out, if any
        if self.source.writes:  # a replay's clock starts at zero; a run's goes on from the stored active time
            self.pace.base = await queries.active_seconds(store, sid)
        self.lanes = {t: Lane(i, t) for i, t in enumerate(targets, 1)}
        await self.query_one("#lanes").mount_all(self.lanes.values())
        self._size_lanes()
        nav = self.query_one(Navigator)
        nav.border_title = "items"
        nav.setup(items, targets, max((s.rounds for s in scope.items.values()), default=0))
        self._nav_width = int(nav.styles.width.value) if nav.styles.width else 40
        board = self.query_one(Scoreboard)
        board.border_title = BOARD_TITLES[self.human]
        board.setup(self.taxonomy, targets, self._board_room(), max((s.rounds for s in scope.items.values()), default=0))
        await self.reload()
        if damaged := await queries.damaged_answers(store, sid):
            self.notify(queries.damaged_notice(sid, len(damaged), store.path), severity="warning", timeout=15,
                        markup=False)
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
        scope = await queries.scope(store, sid)  # with its rounds: follow-ups past an item's own turns
        if self.source.writes:
            s = await queries.session_summary(store, sid)
            progress = Progress(s.done + s.errors, s.conversations, 0, self.st.retries, s.errors)
            self.st.seed(rows, truncated=truncated)
            usage = await target_usage(store, sid)  # tokens as show counts them: every attempt, blocks too
            self.meters.seed(await queries.answer_timings(store, sid), usage)
            self.estimated = {u.key for u in usage if u.estimated}
        else:
            old = self.st
            progress = Progress(0, len(old.order) * len(old.targets), 0, 0, 0)
            self.state = RunState([old.items[i] for i in old.order], old.targets, scope)
            self.st.seed([], {(r.target, r.item_id, r.round): r.label for r in rows if r.label is not None})
        # everything read first: no table tick can score the seeded rows with a stale setting
        self.st.scores.block_as_refusal, self.st.progress = block_as_refusal, progress
        self.st.scores.scope = scope
        nav = self.query_one(Navigator)
        for (item, target), marks in self.st.glyphs.items():
            nav.set_glyphs(item, target, marks)
        nav.flush()
        self._update_scores()

    def on_resize(self) -> None:
        self._size_lanes()

    def _size_lanes(self) -> None:
        shown = [lane for lane in self.lanes.values() if lane.display]
        fit_lanes(shown, self.size.width, self.size.height)
        if self.state is not None:
            self._size_bottom()

    def _board_room(self) -> int:
        """The scoreboard's width beside the navigator: the navigator gives way (it scrolls) before the
        scoreboard loses a target, so every target's column stays on screen."""
        width = self.size.width or self.app.size.width
        need = compact_width(len(self.st.targets))
        nav = self._nav_width if width - self._nav_width >= need else max(NAV_MIN, width - need)
        self.query_one(Navigator).styles.width = nav
        return width - nav

    def _size_bottom(self) -> None:
        self.query_one(Scoreboard).fit(self._board_room())

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
        if isinstance(ev, CostLimitReached):  # the engine holds: shown as paused, space allows max_cost more
            self.run_state = "paused"
            self.pace.pause(self.app.clock())
            self.notify(f"max_cost {fmt_money(ev.limit, ev.currency)} reached ({fmt_money(ev.spent, ev.currency)}"
                        " spent): paused once the conversations under way finish. Space resumes (up to max_cost"
                        " more).", severity="warning", timeout=20, markup=False)
            return
        key = self.st.apply(ev)
        if key is None:
            return
        item_id, target = key
        self.query_one(Navigator).set_glyphs(item_id, target, self.st.glyphs[key])
        self._meter(ev, key)
        lane = self.lanes.get(target)
        if lane is None:
            return
        if isinstance(ev, TurnCompleted | TurnFailed):
            self.bridge.end_turn(key, ev.round)
        if isinstance(ev, ConversationStarted):
            if lane.item_id == item_id:  # the followed (or pinned) item reached this target: live from now
                self._show(lane, self.st.live[key])
            elif self.pinned is None and lane.own and not (lane.conv and lane.conv.running):
                lane.want_switch = True
        elif isinstance(ev, ConversationFinished):
            self.bridge.end_conversation(ev)
            if lane.item_id == item_id:  # it keeps showing the finished conversation: its stored answer
                lane.touch()
                lane.want_switch = self.pinned is None and lane.own
        elif lane.item_id == item_id:
            lane.touch()

    def _meter(self, ev: object, key: tuple[str, str]) -> None:
        if isinstance(ev, TurnStarted):
            self.meters.turn_started(ev)
        elif isinstance(ev, TurnRetrying):
            self.meters.retrying(ev)
        elif isinstance(ev, TurnCompleted | TurnFailed):
            first = self.bridge.first_at.get((*key, ev.round))
            if first is not None:
                self.meters.first_token((*key, ev.round), first)
            self.meters.turn_ended(ev, self.bridge.streamed(key, ev.round))
            if ev.tokens_estimated:  # TurnFailed too: a block's counts may be estimated
                self.estimated.add(key[1])

    def _show(self, lane: Lane, conv: ConvModel) -> None:
        item = self.st.items[conv.item_id]
        sub = self.taxonomy.sub_dimension(item.sub_dimension)
        lane.show(item, conv, sub.name_zh if sub else item.sub_dimension)

    async def pin(self, item_id: str, follow: bool = False) -> None:
        """Point every lane at one item: live conversations from events, finished ones from the store.
        follow: the lanes follow from this item on (lanes that follow their own target stay on theirs)."""
        self.pinned = None if follow else item_id
        if follow:
            self.followed, self.followed_at = item_id, time.monotonic()
        lanes = [lane for lane in self.lanes.values() if not (follow and lane.own)]
        await self._point(lanes, item_id, pinned=not follow)
        nav = self.query_one(Navigator)
        if not (follow and nav.has_focus):  # a user moving through the list keeps their place
            nav.point_at(item_id)
        self._tick()

    async def _point(self, lanes: list[Lane], item_id: str, *, pinned: bool) -> None:
        """Each lane shows item_id for its target: live, stored (done or errored), or waiting (not reached)."""
        self._point_gen += 1
        gen = self._point_gen
        for lane in lanes:
            key = (item_id, lane.target)
            conv = self.st.live.get(key)
            if conv is None:
                tr = await queries.transcript(self.app.store, self.session_id, item_id, lane.target)
                if gen != self._point_gen:
                    return  # a newer pin or follow took over while the store answered
                conv = self.st.live.get(key) or from_transcript(tr, item_id, lane.target)
            lane.pinned = pinned
            self._show(lane, conv)

    async def _follow_to(self, item_id: str) -> None:
        if self.pinned is None and self.followed == item_id:
            await self._point([lane for lane in self.lanes.values() if not lane.own], item_id, pinned=False)

    def _follow_check(self, now: float) -> None:
        """Following: move the lanes to the item most targets are on (after a dwell, so text stays readable)."""
        if now - self.followed_at < DWELL_S:
            return
        nxt = self.st.follow_item(self.followed)
        if nxt is not None and nxt != self.followed:
            self.followed, self.followed_at = nxt, now
            self.call_later(self._follow_to, nxt)

    # ------------------------------------------------------------ timers

    def _flush(self, everything: bool = False) -> None:
        dirty, now = self.bridge.dirty, time.monotonic()
        if self.pinned is None:
            self._follow_check(now)
        visible, fresh = self.visible_lanes(), 0
        # more lanes on screen than SPREAD_OVER: each flush draws every other one (each lane at 6 Hz), so
        # one frame never repaints them all; a lane's end is drawn by on_run_ended's own flush(everything)
        self._flush_turn = (self._flush_turn + 1) % 2
        spread = len(visible) > SPREAD_OVER and not everything
        for i, (target, lane) in enumerate(self.lanes.items()):
            if spread and (i + self._flush_turn) % 2:
                continue
            if lane.own and lane.want_switch and self.pinned is None and now - lane.shown_at >= DWELL_S:
                conv = self.st.newest_active(target)
                if conv is not None:
                    self._show(lane, conv)
            key = (lane.item_id or "", target)
            if not everything and (target not in visible or (lane.fresh and fresh >= FRESH_PER_FLUSH)):
                continue  # off-screen, or a new conversation over this flush's budget: drawn later
            fresh += lane.fresh
            streamed = key in dirty
            dirty.discard(key)
            lane.flush(partial(self.bridge.text, key), self.markdown, self.reasons, streamed,
                       self.thoughts, partial(self.bridge.reasoning, key))

    def visible_lanes(self) -> set[str]:
        """The targets whose lanes are (partly) on screen: off-screen lanes are drawn when scrolled to."""
        row = self.query_one("#lanes")
        left, right, at, shown = row.scroll_x, row.scroll_x + (row.size.width or self.size.width), 0, set()
        for target, lane in self.lanes.items():
            if not lane.display:
                continue
            width = int(lane.styles.width.value) if lane.styles.width else 0
            if at < right and at + width > left:
                shown.add(target)
            at += width
        return shown

    def _tables(self) -> None:
        """Navigator glyphs and scores on alternate ticks: a DataTable redraw is costly, don't stack two."""
        self._table_turn = not self._table_turn
        if self.state is None:
            return
        if self._table_turn:
            self.query_one(Navigator).flush()
        else:
            # many targets: scores once a second (a scoreboard row redraws every target's cell in it)
            self._score_turn = (self._score_turn + 1) % (2 if len(self.lanes) > MANY_TARGETS else 1)
            if not self._score_turn:
                self._update_scores()

    def _update_scores(self) -> None:
        if not self.st.scores.dirty:
            return
        scores = self.st.scores.compute(self.human)
        board = self.query_one(Scoreboard)
        board.show(scores)
        if board.beyond:  # past round 2 only: no cost for a two-round session
            board.show_rounds(self.st.scores.rounds(self.human))
        for target, lane in self.lanes.items():
            lane.set_scores(scores.get(target))

    def _tick(self) -> None:
        if self.state is None:
            return
        now, p = self.app.clock(), self.st.progress
        running = self.run_state in ("running", "paused")
        streaming: dict[str, int] = dict.fromkeys(self.lanes, 0)
        for (_, target), turns in self.bridge.streams.items():
            if target in streaming:
                streaming[target] += sum(len(chunks) for chunks in turns.values())
        for target, lane in self.lanes.items():
            self.meters.set_streaming(target, streaming[target])
            rate = self.pace.rate(target, self.bridge.tokens[target], now)
            lane.set_header(rate=f"{rate:,.0f} tok/s" if self.run_state == "running" else "")
            m = self.meters.by_target[target]
            m.cost = meter_text(self.prices.get(target), m.tokens_in, m.out, target in self.estimated)
            lane.set_meter(m)
        self.query_one(Scoreboard).show_meters(self.meters.by_target)
        tokens_in, tokens_out = self.meters.totals()
        self.query_one(StatusBar).show(StatusInfo(
            # done = finished without an error, as the sessions list counts (errors are counted apart)
            state=self.run_state, done=p.done - p.errors if p else 0, total=p.total if p else 0,
            elapsed=self.pace.elapsed(now), eta=self.pace.eta(p, now) if running else None,
            tokens=tokens_out, tokens_in=tokens_in, retries=self.st.retries, errors=p.errors if p else 0,
            following=self.pinned is None, markdown=self.markdown, mode=self.status_mode(),
            lanes=self.lanes_note(), cost=self.cost_note()))

    def cost_note(self) -> str:
        """The run's cost so far over the targets with prices, for the status bar ("" when none has)."""
        totals: dict[str, float] = {}
        est = ""
        for target, m in self.meters.by_target.items():
            t = self.prices.get(target)
            if t is not None and (c := cost_of(t, m.tokens_in, m.out)) is not None:
                totals[t.currency] = totals.get(t.currency, 0.0) + c
                est = " est." if target in self.estimated else est
        return " + ".join(fmt_money(v, c) for c, v in sorted(totals.items())) + est if totals else ""

    def lanes_note(self) -> str:
        """Which lanes are on screen, when not all are: lanes are never off-screen without saying so."""
        if self.zoomed is not None:
            return f"lane {list(self.lanes).index(self.zoomed) + 1} of {len(self.lanes)} zoomed (z: all)"
        row = self.query_one("#lanes")
        widths = [lane.styles.width.value if lane.styles.width else 0 for lane in self.lanes.values()]
        if not widths or sum(widths) <= row.size.width or not row.size.width:
            return ""
        x, first, last, at = row.scroll_x, 0, 0, 0.0
        for i, w in enumerate(widths, 1):
            if at + w > x and not first:
                first = i
            if at + w <= x + row.size.width:
                last = i
            at += w
        return f"lanes {first}–{last} of {len(widths)} (scroll → or z zooms)"

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

    async def action_follow(self) -> None:
        """Every lane follows the item most targets are on (per-lane following ends)."""
        for lane in self.lanes.values():
            lane.own = False
        current = next(iter(self.lanes.values())).item_id if self.lanes else None
        item = self.st.follow_item(self.followed or self.pinned) or self.pinned or current
        if item is not None:
            await self.pin(item, follow=True)
        else:
            self.pinned = None
            self._tick()

    async def action_lane_follow(self) -> None:
        """The focused lane follows its own target's newest conversation, or the shared item again."""
        lane = self.focused_lane()
        if lane is None:
            self.notify("Focus a lane first (tab or click), then F makes it follow its own model.",
                        severity="warning")
            return
        lane.own = not lane.own
        if self.pinned is not None:
            await self.pin(self.pinned, follow=True)
        elif lane.own:
            lane.pinned = False
            conv = self.st.newest_active(lane.target)
            if conv is not None:
                self._show(lane, conv)
            lane.redraw_header()
        elif self.followed is not None:
            await self._point([lane], self.followed, pinned=False)
        self._tick()

    def focused_lane(self) -> Lane | None:
        return next((lane for lane in self.lanes.values() if lane.has_focus_within), None)

    def action_zoom_lane(self) -> None:
        """The focused lane (or the first) fills the lanes' row; again, every lane comes back."""
        lane = self.focused_lane() or next(iter(self.lanes.values()), None)
        self.zoomed = None if self.zoomed is not None or lane is None else lane.target
        for other in self.lanes.values():
            other.display = self.zoomed is None or other.target == self.zoomed
        self._size_lanes()
        self._tick()

    async def action_side_by_side(self) -> None:
        """Two answers to the shown item side by side, full width (the focused lane's model on the left)."""
        lane = self.focused_lane() or next(iter(self.lanes.values()), None)
        if lane is None or lane.item is None:
            return
        item = lane.item
        convs: dict[str, ConvModel] = {}
        for target, other in self.lanes.items():
            if other.item_id == item.id and other.conv is not None:
                convs[target] = other.conv
            else:
                tr = await queries.transcript(self.app.store, self.session_id, item.id, target)
                convs[target] = from_transcript(tr, item.id, target)

        def conv_of(target: str) -> ConvModel | None:
            live = self.st.live.get((item.id, target))
            if live is not None:  # started (or retried) since: the live one, kept once it ends
                convs[target] = live
            return convs.get(target)

        def stream(target: str, rnd: int) -> str:
            return self.bridge.text((item.id, target), rnd)

        self.app.push_screen(SideBySideScreen(item, list(self.lanes), conv_of, stream, first=lane.target,
                                              sub_label=lane.sub_label))

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

    # human labels, the failure filters and the search: run_answers.RunAnswers

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
