"""The sessions screen: every saved session, sortable; open, rename, delete, resume, compare, export; and a
search over session names and conversation text (Chinese included: 2-character queries use the store's
LIKE fallback)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input

from scsafety_tui.scoring import fmt
from scsafety_tui.store import queries
from scsafety_tui.store.queries import SessionSummary
from scsafety_tui.tui import keymap
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.confirm import ConfirmScreen
from scsafety_tui.tui.screens.export_dialog import export_flow
from scsafety_tui.tui.screens.input_dialog import InputDialog
from scsafety_tui.tui.text import raw, visible

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp

COLUMNS = ("id", "name", "created", "kind", "status", "items", "done", "scores")
SORTS = ("created", "name", "status", "kind", "items", "done", "scores")
"""What `S` cycles through (click a header to sort by any column; again to reverse)."""
SEARCH_DELAY_S = 0.25
SNIPPET_BEFORE, SNIPPET_AFTER = 24, 56


def snippet(content: str, query: str) -> Text:
    """The text around the first match, the match highlighted; model text stays inert."""
    flat = content.replace("\n", " ")
    at = flat.casefold().find(query.casefold())
    if at < 0:
        return raw(flat[:SNIPPET_BEFORE + SNIPPET_AFTER])
    start = max(0, at - SNIPPET_BEFORE)
    text = raw(("…" if start else "") + flat[start:at + len(query) + SNIPPET_AFTER])
    offset = at - start + (1 if start else 0)
    text.stylize("bold reverse", offset, offset + len(query))
    return text


SEARCH_CAP = 200


def search_title(text: str, found: list[tuple[int, str, str, int, str]], capped: bool) -> str:
    """What the hits are, counted as listed: an answer, or a bank question (shown once for all targets)."""
    answers = sum(1 for _sid, _item, target, _rnd, _c in found if target)
    questions = len(found) - answers
    sessions = len({sid for sid, *_ in found})

    def n(count: int, word: str) -> str:
        return f"{count} {word}" + ("" if count == 1 else "s")

    what = " and ".join(x for x in (n(answers, "answer") if answers else "",
                                    n(questions, "question") if questions else "") if x) or "nothing"
    head = f"first {SEARCH_CAP} shown (more match: refine the search)" if capped else what
    return (f"{head} containing {text!r} in {n(sessions, 'session')}"
            " (enter opens the session pinned to the item)")


class SessionsScreen(WorkerScreen):
    CSS_PATH = "../browse.tcss"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings(
        "app.help", "search", "leaderboard", "replay", "toggle_pause", "view", "rename", "delete", "compare",
        "export", "sort", "back", hide=("view",))
    HELP_TITLE = "Sessions screen"
    HELP_NOTES = ("enter on a session offers what can be done with it; enter on a search hit opens the session "
                  "pinned to that item. The search box takes any language (2+ characters, e.g. 炸弹).")
    app: ScSafetyApp

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[int, SessionSummary] = {}
        self.totals: dict[int, float] = {}
        """Mean of the targets' overall scores, for sorting by score."""
        self.score_texts: dict[int, tuple[tuple[int, int], str]] = {}
        """Per-target scores shown, keyed by (done, errors): judge scores change only when those do."""
        self.sort_by, self.reverse = "created", True
        self._search_timer: Timer | None = None
        self.hits: list[tuple[int, str]] = []
        """(session id, item id) of each search hit row, by row index (a turn can match twice)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="search session names and conversations (any language; 2+ chars, e.g. 炸弹)",
                    id="sessions-search")
        table: DataTable[Text | str] = DataTable(cursor_type="row", id="session-table")
        yield table
        hits: DataTable[Text | str] = DataTable(cursor_type="row", id="search-hits")
        hits.border_title = "conversations (enter opens the session pinned to the item)"
        yield hits
        yield Footer()

    def on_mount(self) -> None:
        self.title, self.sub_title = "Sessions", visible(self.app.db)
        table = self.query_one("#session-table", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        hits = self.query_one("#search-hits", DataTable)
        for col in ("session", "item", "target", "R", "text"):
            hits.add_column(col, key=col)
        hits.display = False
        table.focus()

    async def on_screen_resume(self) -> None:
        await self.refresh_sessions()

    # ------------------------------------------------------------ the list

    @property
    def query_text(self) -> str:
        return self.query_one("#sessions-search", Input).value.strip()

    async def refresh_sessions(self) -> None:
        self.summaries = {s.id: s for s in await queries.list_sessions(self.app.store)}
        table = self.query_one("#session-table", DataTable)
        current = self.current_id()
        table.clear()
        needle = self.query_text.casefold()
        for s in self.summaries.values():
            if needle and needle not in s.name.casefold():
                continue
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created_at))
            table.add_row(str(s.id), raw(s.name), created, s.kind, s.status, str(s.items),
                          f"{s.done}/{s.conversations}", raw(", ".join(s.targets), "dim"), key=str(s.id))
        self._sort()
        if current is not None and str(current) in table.rows:
            table.move_cursor(row=table.get_row_index(str(current)))
        self.fill_scores(list(self.summaries))

    @work(exclusive=True, exit_on_error=False, group="scores", description="Scoring sessions")
    async def fill_scores(self, ids: list[int]) -> None:
        """Each session's overall score per target, filled in after the list shows (big sessions take a while)."""
        table = self.query_one("#session-table", DataTable)
        for sid in ids:
            s = self.summaries.get(sid)
            if s is None:
                continue
            cached = self.score_texts.get(sid)
            if cached is None or cached[0] != (s.done, s.errors):
                scores = await queries.session_scores(self.app.store, sid)
                totals = [scores[t].total.score if t in scores else None for t in s.targets]
                known = [x for x in totals if x is not None]
                self.totals[sid] = sum(known) / len(known) if known else -1.0
                text = " · ".join(f"{t} {fmt(x)}" for t, x in zip(s.targets, totals, strict=True))
                cached = self.score_texts[sid] = ((s.done, s.errors), text)
            if str(sid) in table.rows:
                table.update_cell(str(sid), "scores", raw(cached[1]), update_width=True)
        if self.sort_by == "scores":
            self._sort()

    def _value(self, sid: int) -> object:
        s = self.summaries[sid]
        return {"id": s.id, "name": s.name.casefold(), "created": (s.created_at, s.id), "kind": s.kind,
                "status": s.status, "items": s.items, "done": s.done,
                "scores": self.totals.get(sid, -1.0)}[self.sort_by]

    def _sort(self) -> None:
        table = self.query_one("#session-table", DataTable)
        table.sort("id", key=lambda sid: self._value(int(sid)), reverse=self.reverse)
        arrow = "↓" if self.reverse else "↑"
        table.border_title = (f"sessions · {table.row_count} of {len(self.summaries)} · sorted by "
                              f"{self.sort_by} {arrow} (S cycles, or click a header)")

    def action_sort(self) -> None:
        i = SORTS.index(self.sort_by) if self.sort_by in SORTS else -1
        self.sort_by = SORTS[(i + 1) % len(SORTS)]
        self.reverse = self.sort_by in ("created", "items", "done", "scores")  # biggest first
        self._sort()

    @on(DataTable.HeaderSelected, "#session-table")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        self.reverse = not self.reverse if column == self.sort_by else False
        self.sort_by = column
        self._sort()

    def current_id(self) -> int | None:
        table = self.query_one("#session-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key else None

    # ------------------------------------------------------------ search

    @on(Input.Changed, "#sessions-search")
    def search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY_S, self.run_search)

    @on(Input.Submitted, "#sessions-search")
    def search_submitted(self) -> None:
        self.run_search()
        hits = self.query_one("#search-hits", DataTable)
        (hits if hits.display and hits.row_count else self.query_one("#session-table")).focus()

    @work(exclusive=True, exit_on_error=False, group="search", description="Search")
    async def run_search(self) -> None:
        text = self.query_text
        await self.refresh_sessions()  # the name filter
        hits = self.query_one("#search-hits", DataTable)
        hits.clear()
        hits.display = bool(text)
        if not text:
            return
        found = await queries.search(self.app.store, text, limit=SEARCH_CAP + 1)
        capped = len(found) > SEARCH_CAP  # one row more than shown says there are more
        found = found[:SEARCH_CAP]
        self.hits = [(sid, item) for sid, item, *_ in found]
        for i, (sid, item, target, rnd, content) in enumerate(found):
            s = self.summaries.get(sid)
            name = f"#{sid} {s.name}" if s else f"#{sid}"
            hits.add_row(raw(name), raw(item), raw(target), str(rnd), snippet(content, text), key=str(i))
        hits.border_title = raw(search_title(text, found, capped))

    @on(DataTable.RowSelected, "#search-hits")
    def hit_chosen(self, event: DataTable.RowSelected) -> None:
        sid, item = self.hits[int(event.row_key.value or 0)]
        self.app.open_session(sid, start=False, pin=item)

    def action_search(self) -> None:
        self.query_one("#sessions-search", Input).focus()

    # ------------------------------------------------------------ actions on the selected session

    @on(DataTable.RowSelected, "#session-table")
    def session_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_menu(int(event.row_key.value))

    def _open(self, what: str) -> None:
        sid = self.current_id()
        if sid is not None:
            self.app.session_action(sid, what)

    def action_leaderboard(self) -> None:
        self._open("leaderboard")

    def action_replay(self) -> None:
        self._open("replay")

    def action_view(self) -> None:
        self._open("view")

    def action_toggle_pause(self) -> None:
        """space: resume the highlighted session's run (the run screen's own key for pause/resume)."""
        self._open("resume")

    def action_rename(self) -> None:
        sid = self.current_id()
        if sid is None:
            return

        def named(name: str | None) -> None:
            if name and name.strip():
                self.rename(sid, name.strip())

        self.app.push_screen(InputDialog(f"New name for session {sid}", value=self.summaries[sid].name), named)

    @work(exit_on_error=False, group="edit", description="Rename")
    async def rename(self, sid: int, name: str) -> None:
        await self.app.store.rename_session(sid, name)
        await self.refresh_sessions()

    def action_delete(self) -> None:
        sid = self.current_id()
        if sid is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete(sid)

        s = self.summaries[sid]
        self.app.push_screen(ConfirmScreen(
            f"Delete session {sid} “{s.name}” with its {s.conversations} conversations, verdicts and labels? "
            "This cannot be undone.", yes="Delete"), answered)

    @work(exit_on_error=False, group="edit", description="Delete")
    async def delete(self, sid: int) -> None:
        await self.app.store.delete_session(sid)
        self.notify(f"Deleted session {sid}.")
        await self.refresh_sessions()

    def action_compare(self) -> None:
        from scsafety_tui.tui.screens.compare import pick_and_compare

        sid = self.current_id()
        if sid is not None:
            pick_and_compare(self, sid)

    def action_export(self) -> None:
        sid = self.current_id()
        if sid is not None:
            export_flow(self, sid)

    def action_back(self) -> None:
        search = self.query_one("#sessions-search", Input)
        if search.has_focus:
            self.query_one("#session-table").focus()
        else:
            self.dismiss()
