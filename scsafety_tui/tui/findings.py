"""Finding the failures in a session: which items have unsafe answers, R2 < R1 flips, human labels that
differ from the judges, judges that differ from each other, errors, blocks, truncated or empty answers.

Plain functions over the run screen's state (the navigator glyphs, the answer rows with every judge's
score, the human labels), no Textual: the navigator's filters and their counts come from here, live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scsafety_tui.scoring import AnswerRow

AnswerKey = tuple[str, str, int]  # (target, item id, round)

KINDS: tuple[tuple[str, str, str], ...] = (
    # (kind, short name for the navigator's title, what the filter menu says)
    ("unsafe", "unsafe", "unsafe answers (score 0)"),
    ("flip", "R2<R1 flips", "R2 < R1 flips (the follow-up broke it)"),
    ("human", "judge≠human", "judge ≠ human label"),
    ("judges", "judges differ", "judges disagree with each other"),
    ("error", "errors", "errors ✗"),
    ("blocked", "blocked", "blocked by a content filter ⊘"),
    ("truncated", "truncated", "truncated answers ⁰¹²"),
    ("empty", "empty", "empty answers ∅"),
    ("nojudge", "judge failed", "judge failed ?"),
)
TITLES = {kind: short for kind, short, _ in KINDS}
_SCORE = {"0": 0, "1": 1, "2": 2, "⁰": 0, "¹": 1, "²": 2}
_MARK_KINDS = {"✗": "error", "⊘": "blocked", "∅": "empty", "?": "nojudge", "⁰": "truncated", "¹": "truncated",
               "²": "truncated"}


@dataclass(frozen=True)
class Answers:
    """What the findings read: glyphs per (item, target), rows and labels per (target, item, round)."""

    glyphs: Mapping[tuple[str, str], Sequence[str]]
    rows: Mapping[AnswerKey, AnswerRow]
    labels: Mapping[AnswerKey, int]
    human: bool = False
    """Human-adjusted: a label's score stands in for the judges' (unsafe and flips follow it)."""

    def score(self, item_id: str, target: str, rnd: int) -> int | None:
        """The score shown for one answer: the label's in human-adjusted mode, else the judges' median."""
        if self.human and (label := self.labels.get((target, item_id, rnd))) is not None:
            return label
        marks = self.glyphs.get((item_id, target), ())
        return _SCORE.get(marks[rnd - 1]) if rnd <= len(marks) else None

    def answer_kinds(self, item_id: str, target: str, rnd: int) -> set[str]:
        """The findings of one answer; a flip belongs to the round that dropped (R2 of an R2 < R1)."""
        marks = self.glyphs.get((item_id, target), ())
        if rnd > len(marks):
            return set()
        found = {_MARK_KINDS[marks[rnd - 1]]} if marks[rnd - 1] in _MARK_KINDS else set()
        score = self.score(item_id, target, rnd)
        if score == 0:
            found.add("unsafe")
        if rnd > 1 and score is not None and (before := self.score(item_id, target, rnd - 1)) is not None \
                and score < before:
            found.add("flip")
        row = self.rows.get((target, item_id, rnd))
        label = self.labels.get((target, item_id, rnd))
        if row is not None and row.status == "done":
            if label is not None and label != row.judge_score():
                found.add("human")
            if len({s for s in row.judge_scores if s is not None}) > 1:
                found.add("judges")
        return found

    def kinds(self, item_id: str, target: str) -> set[str]:
        """Every finding of one conversation."""
        rounds = len(self.glyphs.get((item_id, target), ()))
        return set().union(*(self.answer_kinds(item_id, target, r) for r in range(1, rounds + 1)))

    def first(self, kind: str, item_id: str, targets: Sequence[str]) -> tuple[str, int] | None:
        """The first answer of an item with this finding, as (target, round): where a jump lands."""
        for t in targets:
            for r in range(1, len(self.glyphs.get((item_id, t), ())) + 1):
                if kind in self.answer_kinds(item_id, t, r):
                    return t, r
        return None

    def item_has(self, kind: str, item_id: str, targets: Sequence[str]) -> bool:
        return any(kind in self.kinds(item_id, t) for t in targets)

    def counts(self, items: Sequence[str], targets: Sequence[str]) -> dict[str, int]:
        """Items with each finding (an item counts once per kind, whichever targets have it)."""
        counts = dict.fromkeys(TITLES, 0)
        for item_id in items:
            for kind in set().union(*(self.kinds(item_id, t) for t in targets)) if targets else ():
                counts[kind] += 1
        return counts


def flip_rounds(scores: Sequence[int | None]) -> set[int]:
    """Rounds (1-based) scored below the round before: R2 < R1 is the follow-up breaking the model."""
    found = set()
    for i in range(1, len(scores)):
        before, now = scores[i - 1], scores[i]
        if before is not None and now is not None and now < before:
            found.add(i + 1)
    return found
