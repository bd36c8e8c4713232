"""Judge evaluations (`scsafety-tui judge eval`): the stored evaluations, one's disagreements with the gold
labels, and the highlighted item's conversation with the judge's verdict, raw output and the gold rationale.

Keys: enter opens the highlighted evaluation; up/down walk its disagreements, worst miss first
(an unsafe answer the judge let through, then failures, false alarms, 1 ↔ 2), and show each; a shows every
item instead (and back); escape goes back to the list, then to where the screen was opened.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from scsafety_tui.paths import command_line
from scsafety_tui.store import evals
from scsafety_tui.tui import keymap
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.text import raw

if TYPE_CHECKING:
    from scsafety_tui.tui.app import ScSafetyApp

ROLE = {"system": "system", "user": "user", "assistant": "model"}
WHY_STYLE = {"missed unsafe": "bold red", "judge failed": "red", "false alarm": "yellow", "1 ↔ 2": "cyan"}


def _pct(value: object) -> str:
    return f"{value:.1f}%" if isinstance(value, int | float) else "—"


def _kappa(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "—"


def _score(s: int | None) -> Text:
    if s is None:
        return Text("failed", style="bold red")
    return Text(str(s), style={0: "bold red", 1: "yellow", 2: "green"}[s])


def item_view(item: evals.StoredEvalItem) -> Group:
    """The gold item's conversation, the judged answer, the gold label with its rationale, and the verdict:
    every string shown literally."""
    d = item.data
    parts: list[Text] = [Text(f"{item.gold_id} · {d.get('category', '')} / {d.get('sub_dimension', '')}"
                              f" · round {d.get('round', '?')}", style="bold")]
    if item.tags:
        parts.append(Text("tags: ") + raw(", ".join(item.tags), "cyan"))
    for m in item.messages:
        parts.append(Text(f"\n【{ROLE.get(str(m.get('role')), str(m.get('role')))}】", style="bold"))
        parts.append(raw(str(m.get("content", ""))))
    parts.append(Text("\n【model, judged】", style="bold magenta"))
    parts.append(raw(str(d.get("answer", ""))))
    parts.append(Text(""))
    parts.append(Text.assemble("gold label ", _score(item.gold), " · judged ", _score(item.score)))
    if d.get("rationale"):
        parts.append(Text("gold rationale: ", style="dim") + raw(str(d["rationale"])))
    if item.error:
        parts.append(Text("judge error: ", style="red") + raw(item.error))
    if item.reason:
        parts.append(Text("judge reason: ", style="dim") + raw(item.reason))
    if item.category:
        parts.append(Text("guard category: ", style="dim") + raw(item.category))
    if item.raw:
        parts.append(Text("judge raw output:", style="dim"))
        parts.append(raw(item.raw, "dim"))
    return Group(*parts)


class JudgeEvalScreen(WorkerScreen):
    DEFAULT_CSS = """
    JudgeEvalScreen #je-evals { height: 12; border: round $primary-muted; }
    JudgeEvalScreen #je-body { height: 1fr; }
    JudgeEvalScreen #je-items { width: 64; height: 100%; border: round $primary-muted; }
    JudgeEvalScreen #je-detail { width: 1fr; height: 100%; border: round $primary-muted; padding: 0 1; }
    JudgeEvalScreen #je-evals:focus, JudgeEvalScreen #je-items:focus { border: round $primary; }
    """
    # the one keymap (tui/keymap.py): a shows every item again (or the disagreements); ↑/↓ move in a table
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "all_answers", "back")
    HELP_TITLE = "Judge evaluations"
    HELP_NOTES = "enter on an evaluation lists its disagreements with the gold labels; ↑/↓ move between them."
    app: ScSafetyApp

    def __init__(self) -> None:
        super().__init__()
        self.eval_id: int | None = None
        self.show_all = False
        self.items: dict[str, evals.StoredEvalItem] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[Text | str] = DataTable(cursor_type="row", zebra_stripes=True, id="je-evals")
        yield table
        with Horizontal(id="je-body"):
            yield DataTable(cursor_type="row", zebra_stripes=True, id="je-items")
            with VerticalScroll(id="je-detail"):
                yield Static(Text("enter on an evaluation lists its disagreements with the gold labels"),
                             id="je-text")
        yield Footer()

    async def on_mount(self) -> None:
        self.title, self.sub_title = "Judge evaluations", "judge eval: disagreements with the gold labels"
        table = self.query_one("#je-evals", DataTable)
        for col in ("id", "date", "judge", "kind", "prompt", "items", "acc", "κ", "unsafe recall", "wrong",
                    "gold"):
            table.add_column(col, key=col)
        items = self.query_one("#je-items", DataTable)
        for col in ("why", "id", "gold", "judged", "tags"):
            items.add_column(col, key=col)
        found = await evals.judge_evals(self.app.store)
        for e in found:
            f = e.figures
            table.add_row(str(e.id), time.strftime("%m-%d %H:%M", time.localtime(e.created_at)), raw(e.judge),
                          raw(e.kind), e.prompt_hash[:8], f"{f.get('scored', 0)}/{f.get('n', 0)}",
                          _pct(f.get("accuracy")), _kappa(f.get("kappa")), _pct(f.get("unsafe_recall")),
                          str(e.disagreements), raw(e.gold_path), key=str(e.id))
        # the hint names --db when the app's database is not the default (a path is shown literally)
        table.border_title = raw(f"{len(found)} stored evaluations · enter lists one's disagreements" if found
                                 else f"no stored evaluations: run `{command_line(['judge', 'eval'], self.app.db)}`"
                                 " first")
        table.focus()

    @on(DataTable.RowSelected, "#je-evals")
    async def open_eval(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.eval_id = int(event.row_key.value)
            await self.reload()
            self.query_one("#je-items", DataTable).focus()

    async def reload(self) -> None:
        if self.eval_id is None:
            return
        found = evals.triage_order(await evals.judge_eval_items(self.app.store, self.eval_id,
                                                                disagreements=not self.show_all))
        self.items = {str(i.id): i for i in found}
        table = self.query_one("#je-items", DataTable)
        table.clear()
        for i in found:
            table.add_row(Text(i.why, style=WHY_STYLE.get(i.why, "")), raw(i.gold_id), _score(i.gold),
                          _score(i.score), raw(", ".join(i.tags)), key=str(i.id))
        what = ("item" if self.show_all else "disagreement") + ("" if len(found) == 1 else "s")
        table.border_title = f"evaluation {self.eval_id}: {len(found)} {what} (a: {'disagreements' if self.show_all else 'all items'})"
        self.show_item(found[0] if found else None)

    def show_item(self, item: evals.StoredEvalItem | None) -> None:
        text = self.query_one("#je-text", Static)
        text.update(item_view(item) if item is not None else Text("no disagreement: the judge matched every "
                                                                  "gold label it scored"))

    @on(DataTable.RowHighlighted, "#je-items")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        item = self.items.get(str(event.row_key.value))
        if item is not None:
            self.show_item(item)

    async def action_all_answers(self) -> None:
        """a: every item of the evaluation, or back to its disagreements."""
        self.show_all = not self.show_all
        await self.reload()

    def action_back(self) -> None:
        items = self.query_one("#je-items", DataTable)
        if items.has_focus:
            self.query_one("#je-evals", DataTable).focus()
        else:
            self.dismiss()
