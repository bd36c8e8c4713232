"""The spot screen: one prompt (and an optional follow-up) against the checked targets, judged, side by side.

It reuses the run screen's machinery: an EventBridge turns engine events into EngineEvent messages,
RunState keeps the conversations, and the run screen's Lane widgets draw them. Each check is a LiveSource
(tui/sources/) whose plan is start_spot(): the check is saved as a `spot` session and run in the source's
worker, as the run screen's runs are; every read goes through store.queries.
With no config (or one without targets) it offers the demo personas, on a demo server of its own.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Footer, Header, OptionList

from scsafety_tui.config import Config
from scsafety_tui.errors import InputError
from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    TurnCompleted,
    TurnFailed,
    VerdictReady,
)
from scsafety_tui.questions import Item
from scsafety_tui.scoring import TargetScores, fmt, score_answers
from scsafety_tui.spot import AUTO, spot_config, spot_item, start_spot
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import Taxonomy, taxonomy_for
from scsafety_tui.tui import keymap
from scsafety_tui.tui.bridge import EventBridge
from scsafety_tui.tui.messages import EngineEvent, RunEnded
from scsafety_tui.tui.model import from_transcript
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.sources import Sink
from scsafety_tui.tui.sources.live import LiveSource
from scsafety_tui.tui.state import RunState
from scsafety_tui.tui.widgets.spot_form import CONFIGURED, SpotForm, choices_for, judge_of
from scsafety_tui.tui.widgets.spot_history import SpotHistory
from scsafety_tui.tui.widgets.spot_lanes import SpotLanes

if TYPE_CHECKING:
    from scsafety_tui.demo.launch import DemoServerThread
    from scsafety_tui.engine.session import SessionRun
    from scsafety_tui.tui.app import ScSafetyApp

FLUSH_HZ = 12
DEMO_DELAYS = (0.05, 0.01)
"""Demo streaming (first token, per token): fast, yet slow enough to see the answers stream."""


class SpotScreen(WorkerScreen):
    CSS_PATH = "../spot.tcss"
    # ctrl+r has priority (keymap): the prompt boxes have focus most of the time and must not swallow it;
    # ? types into them, F1 opens help from anywhere
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "run", "focus_history", "back")
    HELP_TITLE = "Spot check"
    HELP_NOTES = "In a prompt box ? is typed: F1 opens this help from anywhere."
    app: ScSafetyApp

    def __init__(self, *, demo_delays: tuple[float, float] = DEMO_DELAYS) -> None:
        """demo_delays: the demo server's streaming delays, when this screen starts one (tests use zero)."""
        super().__init__()
        self.demo_delays = demo_delays
        self.demo: DemoServerThread | None = None
        self.bridge: EventBridge | None = None
        self.state: RunState | None = None
        """The live check's conversations; None when the lanes show a stored check."""
        self.session_id: int | None = None
        self.source: LiveSource | None = None
        """The latest check's run."""
        self.running = False
        """A check is going, until its end has been shown."""
        self.config: Config
        """The user's config, or the demo's (set on mount, once the demo server has its port)."""
        self.taxonomy: Taxonomy
        self.markdown = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="spot-top"):
            yield SpotForm(id="spot-form")
            yield SpotHistory()
        yield SpotLanes()
        yield Footer()

    async def on_mount(self) -> None:
        self.config = self._config()
        self.taxonomy = taxonomy_for([Path(b) for b in self.config.run.banks])
        self.markdown = bool(self.app.config and self.app.config.ui.markdown)
        self.query_one(SpotForm).setup(choices_for(self.config, self.taxonomy))
        self.title = "Spot check"
        self.sub_title = "demo personas" if self.demo else self.config.source
        await self._refresh_history()
        self.set_interval(1 / FLUSH_HZ, self._flush)
        self.query_one("#spot-prompt").focus()

    def _config(self) -> Config:
        config = self.app.config
        if config is not None and config.targets:
            return config
        from scsafety_tui.demo import DemoServerThread
        from scsafety_tui.demo_profile import PERSONAS, demo_config

        first, per_token = self.demo_delays
        self.demo = DemoServerThread(first_token_delay=first, token_delay=per_token)
        return demo_config(self.demo.start(), personas=PERSONAS)

    def on_unmount(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            self.demo = None

    # ------------------------------------------------------------ running a check

    def action_run(self) -> None:
        """Run what the form holds, as a new spot session (after opening one: the same prompt again)."""
        if self.running:
            self.notify("A spot check is running: wait for it to finish.", severity="warning")
            return
        form = self.query_one(SpotForm)
        if not form.prompt_given():
            self.notify("Type a prompt first (the follow-up is optional).", severity="warning")
            return
        if not form.targets():
            self.notify("Check at least one target.", severity="warning")
            return
        judge = form.judge()
        try:
            item = spot_item(form.turns(), self.taxonomy, form.sub_dimension())
            config = spot_config(self.config, form.targets(), None if judge == CONFIGURED else judge)
        except InputError as e:
            self.notify(str(e), severity="error")
            return
        self.running = True
        self.bridge, self.state, self.session_id = EventBridge(self), RunState([item], config.keys()), None
        self.source = LiveSource(lambda: Store.open(self.app.db), partial(self.prepare_spot, config, item),
                                 group="spot", description="Spot check")
        self.source.attach(self, self.bridge)
        self.source.start()

    @on(Button.Pressed, "#spot-run")
    def _run_pressed(self) -> None:
        self.action_run()

    async def prepare_spot(self, config: Config, item: Item, store: Store, emit: Sink,
                           retry_errors: bool) -> SessionRun:
        """The check's plan, in the source's worker: fresh lanes, then the spot session created and prepared."""
        await self.query_one(SpotLanes).setup(item, config.keys(), self._sub_label(item), pinned=False)
        srun = await start_spot(store, config, self.taxonomy, [item], emit)
        self.session_id = srun.session_id
        self.sub_title = f"spot session {srun.session_id} · running"
        return srun

    async def on_engine_event(self, message: EngineEvent) -> None:
        ev, state = message.event, self.state
        key = state.apply(ev) if state is not None else None
        if state is None or key is None:
            return
        lanes = self.query_one(SpotLanes)
        if isinstance(ev, TurnCompleted | TurnFailed) and self.bridge is not None:
            self.bridge.end_turn(key, ev.round)
        if isinstance(ev, ConversationStarted):
            lanes.show(key[1], state.live[key])
            return
        if isinstance(ev, ConversationFinished) and self.bridge is not None:
            self.bridge.end_conversation(ev)
        lanes.touch(key[1])
        if isinstance(ev, VerdictReady):
            self._totals(state.scores.compute())

    async def on_run_ended(self, message: RunEnded) -> None:
        self.running = False
        sid = self.session_id
        await self._refresh_history()
        if sid is None:
            self.sub_title = "spot check failed"
            return
        await self._show_stored(sid, remount=False)  # the store is the truth, as on the run screen
        self.sub_title = f"spot session {sid} · {message.status}"
        if message.status == "done":
            self.notify(f"Saved as spot session {sid}. ctrl+r runs the same prompt again.")

    # ------------------------------------------------------------ stored checks

    @on(OptionList.OptionSelected, "#spot-history")
    def _history_selected(self, event: OptionList.OptionSelected) -> None:
        if self.running:
            self.notify("A spot check is running: open earlier ones when it has finished.", severity="warning")
        elif event.option.id:
            self.open_spot(int(event.option.id))

    @work(exclusive=True, exit_on_error=False, group="history", description="Opening the spot check")
    async def open_spot(self, sid: int) -> None:
        """Show a stored check: its prompts and choices in the form, its answers and verdicts in the lanes."""
        store = self.app.store
        items = await queries.items(store, sid)
        if len(items) != 1:  # a sampled spot check (`spot --sample`) is a small run: the run screen shows it
            self.app.open_session(sid, start=False)
            return
        session = await queries.stored_session(store, sid)
        missing = self.query_one(SpotForm).fill(items[0].turns, session.keys, judge_of(session),
                                                items[0].sub_dimension)
        self.bridge = self.state = None
        await self._show_stored(sid, remount=True)
        self.session_id = sid
        self.sub_title = f"spot session {sid} · {session.status}"
        if missing:
            self.notify(f"Not in this config: {', '.join(missing)}. ctrl+r re-runs on the checked targets.",
                        severity="warning")

    async def _show_stored(self, sid: int, *, remount: bool) -> None:
        store = self.app.store
        item = (await queries.items(store, sid))[0]
        keys = await queries.target_keys(store, sid)
        convs = [from_transcript(await queries.transcript(store, sid, item.id, k), item.id, k) for k in keys]
        lanes = self.query_one(SpotLanes)
        if remount:
            await lanes.setup(item, keys, self._sub_label(item), pinned=True)
        for conv in convs:
            lanes.show(conv.target, conv)
        self._totals(score_answers(await queries.answer_rows(store, sid)))

    async def _refresh_history(self) -> None:
        self.query_one(SpotHistory).show(await queries.list_sessions(self.app.store))

    # ------------------------------------------------------------ drawing

    def _flush(self) -> None:
        self.query_one(SpotLanes).flush(self.bridge, self.markdown, reasons=True)

    def _totals(self, scores: dict[str, TargetScores]) -> None:
        for target, lane in self.query_one(SpotLanes).lanes.items():
            ts = scores.get(target)
            lane.set_header(total=fmt(ts.total.score) if ts else "—")

    def _sub_label(self, item: Item) -> str:
        if item.sub_dimension == AUTO:
            return "auto"
        sub = self.taxonomy.sub_dimension(item.sub_dimension)
        return sub.name_zh if sub else item.sub_dimension

    # ------------------------------------------------------------ other keys

    def action_focus_history(self) -> None:
        self.query_one(SpotHistory).focus()

    def action_back(self) -> None:
        if self.source is not None and self.source.running:
            self.source.cancel(interrupt=True)  # leaving mid-check: the session stays resumable
        self.dismiss()
