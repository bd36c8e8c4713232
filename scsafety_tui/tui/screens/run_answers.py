"""The run screen's answers: human labels from a lane or the navigator, the failure filters and the
session search (a mixin for RunScreen, as run_control.py is, so neither file grows large).

The focused answer is the navigator's cell cursor when the navigator has focus, else the focused lane's
marked answer (its latest scored one, or the round [ and ] picked). Labels are stored at once
(Labelling's quick path); their notes are read once from the store and kept current here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scsafety_tui.events import VerdictReady
from scsafety_tui.store.session_find import LabelNote, label_notes, search_session
from scsafety_tui.tui.findings import TITLES, Answers
from scsafety_tui.tui.labels import AnswerRef
from scsafety_tui.tui.messages import EngineEvent
from scsafety_tui.tui.screens.filter_menu import FilterMenu
from scsafety_tui.tui.screens.input_dialog import InputDialog
from scsafety_tui.tui.screens.labelling import Labelling
from scsafety_tui.tui.widgets.navigator import Navigator
from scsafety_tui.tui.widgets.scoreboard import Scoreboard

if TYPE_CHECKING:
    from scsafety_tui.tui.state import RunState
    from scsafety_tui.tui.widgets.lane import Lane

BOARD_TITLES = {False: "SC-Safety score (complete pairs)",
                True: "SC-Safety score, human-adjusted (complete pairs)"}


class RunAnswers(Labelling):
    session_id: int
    human: bool
    lanes: dict[str, Lane]
    state: RunState | None

    if TYPE_CHECKING:  # provided by RunScreen
        @property
        def st(self) -> RunState: ...
        async def pin(self, item_id: str, follow: bool = False) -> None: ...
        def _tick(self) -> None: ...
        def _update_scores(self) -> None: ...

    notes: dict[tuple[str, str, int], LabelNote]

    async def on_mount(self) -> None:
        """After RunScreen's own on_mount (Textual calls each class's handler, the subclass's first)."""
        self.notes = await label_notes(self.app.store, self.session_id)
        nav = self.query_one(Navigator)
        nav.label_of = lambda item, target, rnd: (self.state.scores.labels.get((target, item, rnd))
                                                  if self.state else None)
        nav.detail_of = self.answer_detail
        nav.redraw()
        nav.flush()

    async def on_engine_event(self, message: EngineEvent) -> None:
        """A verdict drawn from events carries the label's score (state.py); give it the note too."""
        ev = message.event
        if isinstance(ev, VerdictReady) and self.state is not None:
            conv = self.st.live.get((ev.item_id, ev.target))
            note = getattr(self, "notes", {}).get((ev.target, ev.item_id, ev.round))
            if conv is not None and note is not None and ev.round in conv.turns:
                conv.turns[ev.round].human_note = note.note

    # ------------------------------------------------------------ which answer

    def focused_lane(self) -> Lane | None:
        return next((lane for lane in self.lanes.values() if lane.has_focus_within), None)

    def label_target(self) -> AnswerRef | None:
        nav = self.query_one(Navigator)
        if nav.has_focus:
            return self._nav_answer(nav)
        lane = self.focused_lane()
        turn = lane.label_turn() if lane else None
        if lane is None or lane.item_id is None or turn is None:
            self.notify("Labels apply to the focused answer: the focused lane's marked one (tab or click a lane "
                        "with a scored answer; [ and ] pick the round) or the navigator's cell (←/→ pick it).",
                        severity="warning")
            return None
        key = (lane.target, lane.item_id, turn.round)
        note = self.notes.get(key)
        return AnswerRef(self.session_id, lane.item_id, lane.target, turn.round, turn.score, turn.human,
                         note=note.note if note else "")

    def _nav_answer(self, nav: Navigator) -> AnswerRef | None:
        answer = nav.current_answer()
        row = self.st.scores.rows.get((answer[1], answer[0], answer[2])) if answer else None
        if answer is None or row is None or row.status != "done":
            self.notify("Labels apply to a scored answer: this cell has none (←/→ move between targets and "
                        "rounds).", severity="warning")
            return None
        item, target, rnd = answer
        note = self.notes.get((target, item, rnd))
        return AnswerRef(self.session_id, item, target, rnd, row.judge_score(),
                         self.st.scores.labels.get((target, item, rnd)), note=note.note if note else "")

    def answer_detail(self, item: str, target: str, rnd: int) -> str:
        """The navigator's subtitle for its cell cursor: whose answer, the judges', the label and its note."""
        if self.state is None:
            return ""
        row = self.st.scores.rows.get((target, item, rnd))
        parts = [f"{target} R{rnd}"]
        if row is not None and row.status == "done":
            parts.append(f"judge {'?' if row.judge_score() is None else row.judge_score()}")
            if len(row.judge_scores) > 1:
                parts[-1] += " (" + ",".join("?" if s is None else str(s) for s in row.judge_scores) + ")"
        elif row is not None:
            parts.append(row.status)
        label = self.st.scores.labels.get((target, item, rnd))
        if label is not None:
            note = self.notes.get((target, item, rnd))
            parts.append(f"human {label}" + (f" “{note.note}”" if note and note.note else ""))
        return " · ".join(parts)

    def action_prev_answer(self) -> None:
        self._other_answer(-1)

    def action_next_answer(self) -> None:
        self._other_answer(1)

    def _other_answer(self, delta: int) -> None:
        nav = self.query_one(Navigator)
        if nav.has_focus:
            nav.action_cell(delta)
            return
        lane = self.focused_lane()
        if lane is None:
            self.notify("[ and ] pick the answer in the focused lane: tab to a lane first.", severity="warning")
            return
        scored = [t.round for t in lane.label_turns()]
        current = lane.label_turn()
        if not scored or current is None:
            return
        at = scored.index(current.round) if current.round in scored else len(scored) - 1
        lane.label_round = scored[max(0, min(len(scored) - 1, at + delta))]
        lane.touch()

    # ------------------------------------------------------------ labels shown

    async def label_applied(self, ref: AnswerRef, score: int | None, note: str) -> None:
        self.st.scores.set_label(ref.key, score)
        if score is None:
            self.notes.pop(ref.key, None)
        else:
            self.notes[ref.key] = LabelNote(ref.turn_id, score, "", note)
        lane = self.lanes.get(ref.target)
        for conv in (self.st.live.get((ref.item_id, ref.target)), lane.conv if lane else None):
            if conv is not None and conv.item_id == ref.item_id and ref.round in conv.turns:
                conv.turns[ref.round].human = score
                conv.turns[ref.round].human_note = note if score is not None else ""
        if lane is not None:
            lane.touch()
        nav = self.query_one(Navigator)
        nav.redraw(ref.item_id)
        nav.flush()
        self._update_scores()

    def action_toggle_human(self) -> None:
        """Judge-only ⇄ human-adjusted, in every view: scoreboard, lane headers and the navigator's glyphs."""
        self.human = not self.human
        self.query_one(Scoreboard).border_title = BOARD_TITLES[self.human]
        nav = self.query_one(Navigator)
        nav.human = self.human
        nav.redraw()
        nav.flush()
        self.st.scores.dirty = True
        self._update_scores()
        self._tick()

    # ------------------------------------------------------------ finding the failures

    def answers(self) -> Answers:
        scores = self.st.scores
        return Answers(self.st.glyphs, scores.rows, scores.labels, self.human)

    def action_filter(self) -> None:
        nav = self.query_one(Navigator)
        counts = self.answers().counts([it.id for it in nav.items], nav.targets)

        def chosen(kind: str | None) -> None:
            if kind is not None:
                self.run_worker(self.apply_filter(kind), group="find", exclusive=True, exit_on_error=False,
                                description="Filtering")

        self.app.push_screen(FilterMenu(counts, nav.filter_label), chosen)

    async def apply_filter(self, kind: str) -> None:
        """Show only the items with this finding (live: new ones join as the run goes) and jump to the first."""
        nav = self.query_one(Navigator)
        if kind == "":
            nav.filter("", lambda it: True)
            return
        nav.filter(TITLES[kind], lambda it: self.answers().item_has(kind, it.id, nav.targets), live=True)
        # each jump (n / p, a pin) lands the cell cursor on the answer itself: the label keys apply to it
        nav.land = lambda item: self.answers().first(kind, item, nav.targets)
        await self._jump_to_first(nav, f"No items with {TITLES[kind]} (yet): the filter stays on while the run goes.")

    async def _jump_to_first(self, nav: Navigator, none: str) -> None:
        """The lanes on the first item shown, the navigator focused on it (n / p go on from there)."""
        if nav.shown:
            await self.pin(nav.shown[0])
            nav.focus()
        else:
            self.notify(none)

    def action_search(self) -> None:
        def asked(text: str | None) -> None:
            if text is not None:
                self.run_worker(self.run_search(text.strip()), group="find", exclusive=True, exit_on_error=False,
                                description="Search")

        self.app.push_screen(InputDialog("Search this session (questions and answers; any language, 2+ "
                                         "characters, e.g. 炸弹)", placeholder="text (empty clears the search)",
                                         hint="Enter searches · n / p jump between matches · escape cancels"),
                             asked)

    async def run_search(self, text: str) -> None:
        nav = self.query_one(Navigator)
        if not text:
            nav.filter("", lambda it: True)
            return
        hits = await search_session(self.app.store, self.session_id, text)
        found = {h.item_id for h in hits}
        nav.filter(f"“{text}”", lambda it: it.id in found)
        answers = sum(1 for h in hits if h.target)
        await self._jump_to_first(nav, f"Nothing in this session contains “{text}”.")
        if hits:
            self.notify(f"“{text}”: {len(found)} item{'s' * (len(found) != 1)}, {answers} answer"
                        f"{'s' * (answers != 1)} (n / p jump between them).", markup=False)

