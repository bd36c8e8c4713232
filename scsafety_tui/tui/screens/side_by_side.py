"""Two answers to one item side by side, full width: two models' answers to the same round, or one model's
R1 beside its R2 (does the follow-up break it?).

Opened from the run screen (`=`) on the item the lanes show. Each pane is one (target, round): `,` and `.`
give the focused pane the previous or next model, `u` the other round; tab moves between the panes. A
conversation still streaming keeps streaming here (the panes redraw from the run screen's buffers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from scsafety_tui.questions import Item
from scsafety_tui.tui import keymap
from scsafety_tui.tui.heat import heat
from scsafety_tui.tui.model import SCORED, ConvModel, TurnModel
from scsafety_tui.tui.text import visible
from scsafety_tui.tui.widgets.conversation import SCORE_LABELS, ConversationView, turn_blocks

REDRAW_HZ = 4

Stream = Callable[[str, int], str]
"""(target, round) → the text streamed so far of an answer still streaming."""
ConvOf = Callable[[str], "ConvModel | None"]
"""target → its conversation of the item now (live while it runs, then as it ended, or stored)."""


@dataclass
class Choice:
    target: str
    round: int


def default_choices(targets: list[str], convs: dict[str, ConvModel], first: str | None) -> tuple[Choice, Choice]:
    """Two models on the same round (the latest round the first one has answered), or with one model its
    R1 beside its R2."""
    left = first if first in targets else targets[0]
    conv = convs.get(left)
    answered = [r for r, t in sorted(conv.turns.items()) if t.text or t.state == SCORED] if conv else []
    rnd = answered[-1] if answered else 1
    if len(targets) == 1:
        return Choice(left, 1), Choice(left, 2)
    right = targets[(targets.index(left) + 1) % len(targets)]
    return Choice(left, rnd), Choice(right, rnd)


class AnswerPane(Vertical, can_focus=True):
    """One (target, round): a header naming both, with the verdict, over the round's question and answer."""

    def __init__(self, side: str, choice: Choice) -> None:
        super().__init__(classes="sbs-pane", id=f"sbs-{side}")
        self.choice = choice
        self.header = Static(classes="sbs-header")
        self.view = ConversationView()
        self.view.can_focus = False  # tab goes from pane to pane; the wheel still scrolls a long answer
        self._key: object = None

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.view

    def draw(self, index: int, conv: ConvModel | None, item: Item, stream: Stream) -> None:
        c = self.choice
        turn = conv.turns.get(c.round) if conv else None
        if turn is None:
            prompt = item.turns[c.round - 1] if c.round <= len(item.turns) else ""
            turn = TurnModel(c.round, prompt=prompt, state="pending")
        live = stream(c.target, c.round) if turn.live else ""
        key = (c.target, c.round, turn.state, turn.score, turn.human, len(turn.text), len(live), self.has_focus)
        if key == self._key:
            return
        self._key = key
        self.header.update(self._header(index, turn))
        self.view.set_blocks(turn_blocks(turn, live, False, True, hint=""), follow=turn.live)

    def _header(self, index: int, turn: TurnModel) -> Text:
        c = self.choice
        score = turn.human if turn.human is not None else turn.score
        verdict: Text | str = ""
        if turn.state == SCORED and score is not None:
            verdict = Text.assemble("  ", (f"{score} · {SCORE_LABELS.get(score, '')}", heat(self.app, 50.0 * score)))
        elif turn.state != SCORED:
            verdict = Text(f"  {turn.state}", style="dim")
        marker = "▶ " if self.has_focus else "  "
        return Text.assemble((marker, "bold"), (f"{index} ", "dim"), (visible(c.target), "bold"),
                             (f"  R{c.round}", "bold reverse"), verdict, ("   , . model · u round", "dim"))

    def on_focus(self) -> None:
        self._key = None

    def on_blur(self) -> None:
        self._key = None


class SideBySideScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app.help", "back", "pane_target(-1)",
                                                            "pane_target(1)", "pane_round")
    HELP_TITLE = "Side by side"
    DEFAULT_CSS = """
    #sbs { height: 1fr; }
    .sbs-pane { width: 1fr; height: 100%; border: round $primary-muted; }
    .sbs-pane:focus, .sbs-pane:focus-within { border: round $accent; }
    .sbs-header { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, item: Item, targets: list[str], conv_of: ConvOf, stream: Stream,
                 first: str | None = None, sub_label: str = "") -> None:
        """conv_of: each target's conversation of this item; stream: the run screen's buffers for answers
        still streaming; first: the target to put on the left."""
        super().__init__()
        self.item, self.targets, self.conv_of, self.stream = item, targets, conv_of, stream
        self.sub_label = sub_label
        convs = {t: c for t in targets if (c := conv_of(t)) is not None}
        left, right = default_choices(targets, convs, first)
        self.panes = (AnswerPane("left", left), AnswerPane("right", right))

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="sbs"):
            yield from self.panes
        yield Footer()

    def on_mount(self) -> None:
        self.title = visible(f"{self.item.id} · side by side")
        self.sub_title = visible(self.sub_label)
        self.panes[0].focus()
        self.redraw()
        self.set_interval(1 / REDRAW_HZ, self.redraw)

    def redraw(self) -> None:
        for pane in self.panes:
            index = self.targets.index(pane.choice.target) + 1
            pane.draw(index, self.conv_of(pane.choice.target), self.item, self.stream)

    @property
    def focused_pane(self) -> AnswerPane:
        return next((p for p in self.panes if p.has_focus_within), self.panes[0])

    def action_pane_target(self, step: int) -> None:
        pane = self.focused_pane
        i = self.targets.index(pane.choice.target)
        pane.choice.target = self.targets[(i + step) % len(self.targets)]
        self.redraw()

    def action_pane_round(self) -> None:
        pane = self.focused_pane
        convs = [c for t in self.targets if (c := self.conv_of(t)) is not None]
        rounds = max(2, len(self.item.turns), *(max(c.turns, default=1) for c in convs))
        pane.choice.round = pane.choice.round % rounds + 1
        self.redraw()

    def action_back(self) -> None:
        self.dismiss()
