"""A session's leaderboard: SC-Safety's tables (overall with its 95% interval, intervals, coverage, paired
differences between targets, per category, per category and round, per sub-dimension) from report.all_tables, judge-only or human-adjusted (h); judge-vs-human agreement; and
the list of scored answers, where 0/1/2/x label the highlighted one."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from scsafety_tui import report
from scsafety_tui.compare import SetComparison, judge_human_agreement, session_sets
from scsafety_tui.paths import rejudge_command
from scsafety_tui.rounds import beyond_headline, rounds_summary
from scsafety_tui.scoring import AnswerRow, Scope, score_answers, unscored_answers
from scsafety_tui.store import queries
from scsafety_tui.store.session_find import label_notes
from scsafety_tui.taxonomy import Taxonomy
from scsafety_tui.tui import keymap
from scsafety_tui.tui.labels import AnswerRef
from scsafety_tui.tui.screens.export_dialog import export_flow
from scsafety_tui.tui.screens.labelling import Labelling
from scsafety_tui.tui.screens.transcript import Pane, TranscriptScreen
from scsafety_tui.tui.text import raw, visible
from scsafety_tui.tui.widgets.answer_table import AnswerTable
from scsafety_tui.tui.widgets.charts import ScoreCharts
from scsafety_tui.tui.widgets.report_table import NARROW_WIDTH, ReportTable

TABLE_IDS = ("lb-overall", "lb-intervals", "lb-coverage", "lb-paired", "lb-category", "lb-category-round",
             "lb-sub")
ROUNDS_IDS = ("lb-rounds", "lb-first-unsafe")
"""Past round 2 only: per round and worst round; rounds to the first unsafe answer."""


def agreement_text(rows: list[AnswerRow]) -> str:
    """Quadratic-weighted κ with its interval and n, or "too few labels" under scoring.MIN_LABELS."""
    return judge_human_agreement(rows).text()


class LeaderboardScreen(Labelling):
    CSS_PATH = "../browse.tcss"
    AUTO_FOCUS = "#lb-answers"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings(
        "app.help", "toggle_human", "triage", "compare", "all_answers", "replay", "view", "export", "back",
        "next_set", "set_disagreements", hide=("view",))
    HELP_TITLE = "Leaderboard"
    HELP_NOTES = ("The focused answer is the highlighted row of the answers list (tab to it). enter on a table "
                  "row shows that target's (or sub-dimension's) answers; on an answer, its conversation.")

    def __init__(self, session_id: int) -> None:
        super().__init__()
        self.session_id = session_id
        self.human = False
        self.rows: list[AnswerRow] = []
        self.targets: list[str] = []
        self.taxonomy: Taxonomy
        self.scope: Scope | None = None
        self.block_as_refusal = False
        self.sets: list[queries.VerdictSet] = []
        self.vset = ""
        """The verdict set the scores are from ('' is the run's own; g cycles)."""
        self.against: SetComparison
        self.session_status = ""

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#lb-body").set_class(event.size.width < NARROW_WIDTH, "narrow")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="lb-info")
        with Horizontal(id="lb-body"):
            with VerticalScroll(id="lb-tables"):
                for table_id in TABLE_IDS:
                    yield ReportTable(id=table_id)
                    if table_id == "lb-overall":  # the two charts under the headline numbers they draw
                        yield ScoreCharts(id="lb-charts")
                for table_id in ROUNDS_IDS:  # past round 2 only (rounds.py), beside the headline
                    yield ReportTable(id=table_id)
            yield AnswerTable(id="lb-answers")
        yield Footer()

    async def on_mount(self) -> None:
        store, sid = self.app.store, self.session_id
        session = await queries.stored_session(store, sid)
        self.title, self.session_status = visible(session.name), session.status
        self.sets = await queries.verdict_sets(store, sid)
        self.taxonomy = session.taxonomy
        self.targets = session.keys
        self.scope = await queries.scope(store, sid)
        self.block_as_refusal = await queries.block_as_refusal(store, sid)
        self.query_one(AnswerTable).setup({s.id: s.name_zh for s in self.taxonomy.sub_dimensions})
        await self.reload()

    async def on_screen_resume(self) -> None:
        if self.rows:  # back from triage or a replay: labels may have changed
            await self.reload()

    async def reload(self) -> None:
        self.rows = await queries.answer_rows(self.app.store, self.session_id, self.vset)
        answers = self.query_one(AnswerTable)
        answers.notes = {n.turn_id: n.note for n in (await label_notes(self.app.store, self.session_id)).values()}
        answers.fill(self.rows)
        self.sub_title = visible(f"leaderboard · session {self.session_id} · {self.session_status}"
                                 + (f" · {self.set_tag}" if self.set_tag else ""))
        if len(self.sets) > 1:
            self.against = await session_sets(self.app.store, self.session_id, self.vset, self.other_set)
        self.show_scores()

    @property
    def set_tag(self) -> str:
        """`verdict set: NAME` once the session has several (named in every header then)."""
        return f"verdict set: {queries.set_label(self.vset)}" if len(self.sets) > 1 else ""

    def rejudge_hint(self) -> str:
        """`scsafety-tui rejudge ID` with --db when the app's database is not the default."""
        return rejudge_command(self.session_id, self.app.store.path)

    @property
    def other_set(self) -> str:
        """The set the shown one is measured against: the run's own, or (the run's shown) the next set."""
        return "" if self.vset else (self.sets[1].name if len(self.sets) > 1 else "")

    async def action_next_set(self) -> None:
        if len(self.sets) < 2:
            self.notify(f"Only the run's own verdicts: `{self.rejudge_hint()} --judge KEY` makes another set.",
                        severity="warning", markup=False)
            return
        names = [s.name for s in self.sets]
        self.vset = names[(names.index(self.vset) + 1) % len(names)]
        await self.reload()

    def action_set_disagreements(self) -> None:
        from scsafety_tui.tui.screens.set_disagreements import SetDisagreementsScreen

        if len(self.sets) < 2:
            self.notify(f"Only the run's own verdicts: `{self.rejudge_hint()} --judge KEY` makes another set to"
                        " compare.", severity="warning", markup=False)
            return
        self.app.push_screen(SetDisagreementsScreen(self.session_id, self.vset, self.other_set))

    def tables(self) -> list[report.TableData]:
        scores = score_answers(self.rows, human=self.human, scope=self.scope, block_as_refusal=self.block_as_refusal)
        self.query_one(ScoreCharts).show(scores, self.taxonomy, self.targets)  # the tables' numbers, drawn
        return report.all_tables(scores, self.taxonomy, self.targets)

    def show_scores(self) -> None:
        tables = self.tables()
        for table_id, data in zip(TABLE_IDS, tables, strict=True):
            self.query_one(f"#{table_id}", ReportTable).show(report.tagged(data, self.set_tag))
        self.show_rounds()
        mode = "HUMAN-ADJUSTED (h: judge-only)" if self.human else "JUDGE-ONLY (h: human-adjusted)"
        unscored = unscored_answers(self.rows)
        lines = [f"scores: {mode}   ·   {agreement_text(self.rows)}   ·   {len(self.targets)} targets",
                 *tables[0].notes]
        if len(self.sets) > 1:
            shown = next(s for s in self.sets if s.name == self.vset)
            lines.append(f"{self.set_tag} (judges {', '.join(shown.judges)}) · g: next of {len(self.sets)} sets"
                         f" · {self.against.agreement.text()} · D: the {len(self.against.disagreements)}"
                         " answer(s) they score differently")
        if unscored:
            lines.append(f"{unscored} answer(s) unscored (every judge failed): "
                         f"`{rejudge_command(self.session_id, self.app.store.path, self.vset)}` judges them again")
        self.query_one("#lb-info", Static).update(raw("\n".join(lines)))

    def show_rounds(self) -> None:
        """Per round, worst round and first unsafe round, for a session past round 2; hidden otherwise."""
        summaries = rounds_summary(self.rows, human=self.human, block_as_refusal=self.block_as_refusal)
        shown = beyond_headline(summaries)
        tables = report.rounds_tables(summaries, self.targets) if shown else []
        for i, table_id in enumerate(ROUNDS_IDS):
            widget = self.query_one(f"#{table_id}", ReportTable)
            widget.display = shown
            if shown:
                widget.show(report.tagged(tables[i], self.set_tag))

    def action_toggle_human(self) -> None:
        self.human = not self.human
        self.show_scores()

    # ------------------------------------------------------------ the answers list

    @on(DataTable.RowSelected, ".report")
    def table_row_chosen(self, event: DataTable.RowSelected) -> None:
        """A target's row shows its answers; a sub-dimension's row shows that sub-dimension's."""
        index = int(event.row_key.value or 0)
        answers = self.query_one(AnswerTable)
        if event.data_table.id == "lb-sub":
            sub = self.taxonomy.sub_dimensions[index]
            answers.fill(self.rows, lambda r: r.sub_dimension == sub.id)
            answers.border_title = raw(f"answers · {sub.name_zh}")
        else:
            target = self.targets[index]
            answers.fill(self.rows, lambda r: r.target == target)
            answers.border_title = raw(f"answers · {target}")
        answers.focus()

    def action_all_answers(self) -> None:
        answers = self.query_one(AnswerTable)
        answers.fill(self.rows)
        answers.border_title = "answers"

    @on(DataTable.RowSelected, "#lb-answers")
    def answer_chosen(self) -> None:
        row = self.query_one(AnswerTable).current()
        if row is not None:
            self.app.push_screen(TranscriptScreen([Pane("", self.session_id, row.item_id, row.target)]))

    # ------------------------------------------------------------ labels

    def label_target(self) -> AnswerRef | None:
        answers = self.query_one(AnswerTable)
        row = answers.current() if answers.has_focus else None
        if row is None:
            self.notify("Labels apply to the highlighted row of the answers list: tab to it first.",
                        severity="warning")
            return None
        return AnswerRef(self.session_id, row.item_id, row.target, row.round, row.judge_score(), row.label,
                         row.turn_id, answers.notes.get(row.turn_id, ""))

    async def label_applied(self, ref: AnswerRef, score: int | None, note: str) -> None:
        self.rows = [replace(r, label=score) if r.turn_id == ref.turn_id else r for r in self.rows]
        changed = next(r for r in self.rows if r.turn_id == ref.turn_id)
        self.query_one(AnswerTable).set_label(changed, note)
        self.show_scores()

    # ------------------------------------------------------------ elsewhere

    def action_triage(self) -> None:
        from scsafety_tui.tui.screens.triage import TriageScreen

        self.app.push_screen(TriageScreen(self.session_id))

    def action_compare(self) -> None:
        from scsafety_tui.tui.screens.compare import pick_and_compare

        pick_and_compare(self, self.session_id, human=self.human)

    def action_replay(self) -> None:
        self.app.open_replay(self.session_id)

    def action_view(self) -> None:
        self.app.open_session(self.session_id, start=False)

    def action_export(self) -> None:
        export_flow(self, self.session_id, human=self.human, vset=self.vset)

    def action_back(self) -> None:
        self.dismiss()
