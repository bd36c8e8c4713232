"""The spot screen's form: prompt, optional follow-up, targets, judge, sub-dimension and the Run button."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Select, SelectionList, TextArea

from scsafety_tui.config import Config
from scsafety_tui.spot import AUTO
from scsafety_tui.taxonomy import Taxonomy

if TYPE_CHECKING:
    from scsafety_tui.store.queries import StoredSession

HEURISTIC = "heuristic"
CONFIGURED = "configured"
"""Judge choice: every configured judge, scored by their median (spot_config's judge=None)."""


@dataclass(frozen=True)
class SpotChoices:
    targets: tuple[str, ...]
    judges: tuple[tuple[str, str], ...]
    """(label, value) pairs; a value is a judge key, CONFIGURED or HEURISTIC."""
    sub_dimensions: tuple[tuple[str, str], ...]


def choices_for(config: Config, taxonomy: Taxonomy) -> SpotChoices:
    keys = [t.key for t in config.judge.targets] if config.judge.mode == "model" else []
    # Labels name their picker: a Select shows only the chosen label, with no title of its own.
    judges = [(f"judge: all {len(keys)} (median)", CONFIGURED)] if len(keys) > 1 else []
    judges += [(f"judge: {k}", k) for k in keys] + [("judge: heuristic (offline)", HEURISTIC)]
    subs = [("sub-dimension: auto (the judge decides)", AUTO)]
    subs += [(f"sub-dimension: {s.label}", s.id) for s in taxonomy.sub_dimensions]
    return SpotChoices(tuple(config.keys()), tuple(judges), tuple(subs))


def judge_of(session: StoredSession) -> str:
    """The judge choice a stored session was run with, from its config snapshot."""
    keys = session.judge_keys
    if session.judge_mode != "model" or not keys:
        return HEURISTIC
    return keys[0] if len(keys) == 1 else CONFIGURED


class SpotForm(Vertical):
    def compose(self) -> ComposeResult:
        prompt = TextArea(id="spot-prompt", soft_wrap=True)
        prompt.border_title = "prompt"
        yield prompt
        follow = TextArea(id="spot-follow-up", soft_wrap=True)
        follow.border_title = "follow-up (optional: asked next, in the same conversation)"
        yield follow
        with Horizontal(id="spot-options"):
            targets: SelectionList[str] = SelectionList(id="spot-targets")
            targets.border_title = "targets"
            yield targets
            with Vertical(id="spot-pickers"):
                # a placeholder option until setup(): a Select without a blank needs one
                yield Select[str]([("…", "")], id="spot-judge", allow_blank=False)
                yield Select[str]([("…", "")], id="spot-sub", allow_blank=False)
            yield Button("Run  ^r", id="spot-run", variant="primary")

    def setup(self, choices: SpotChoices) -> None:
        self.choices = choices
        targets = self.query_one("#spot-targets", SelectionList)
        targets.clear_options()
        targets.add_options([(k, k, True) for k in choices.targets])
        self.query_one("#spot-judge", Select).set_options(choices.judges)
        self.query_one("#spot-sub", Select).set_options(choices.sub_dimensions)

    # ------------------------------------------------------------ what the form holds

    def turns(self) -> list[str]:
        """The prompt and, when given, the follow-up, exactly as typed."""
        texts = [self.query_one("#spot-prompt", TextArea).text, self.query_one("#spot-follow-up", TextArea).text]
        return [t for t in texts if t.strip()]

    def prompt_given(self) -> bool:
        return bool(self.query_one("#spot-prompt", TextArea).text.strip())

    def targets(self) -> list[str]:
        chosen = set(self.query_one("#spot-targets", SelectionList).selected)
        return [k for k in self.choices.targets if k in chosen]  # config order, not click order

    def judge(self) -> str:
        return str(self.query_one("#spot-judge", Select).value)

    def sub_dimension(self) -> str:
        return str(self.query_one("#spot-sub", Select).value)

    def fill(self, turns: Sequence[str], targets: Sequence[str], judge: str, sub: str) -> list[str]:
        """Show a stored spot check; returns its targets that this config does not have."""
        self.query_one("#spot-prompt", TextArea).load_text(turns[0] if turns else "")
        self.query_one("#spot-follow-up", TextArea).load_text("\n\n".join(turns[1:]))
        known = [k for k in targets if k in self.choices.targets]
        if known:  # keep the current choice when none of the stored targets can be run here
            box = self.query_one("#spot-targets", SelectionList)
            box.deselect_all()
            for k in known:
                box.select(k)
        self._pick("#spot-judge", judge, self.choices.judges)
        self._pick("#spot-sub", sub, self.choices.sub_dimensions)
        return [k for k in targets if k not in self.choices.targets]

    def _pick(self, selector: str, value: str, options: Sequence[tuple[str, str]]) -> None:
        if any(v == value for _, v in options):
            self.query_one(selector, Select).value = value
