"""A lane's conversation, drawn line by line (Textual's Line API) from cached blocks.

Each piece (question, answer, error note, verdict badge, judge reasons) is a block rendered once to
strips and cached by what it shows. While an answer streams only its own block is wrapped again, and a
redraw is a crop of cached strips: no widget tree to lay out, so six lanes streaming stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import ClassVar

from rich.console import RenderableType
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from scsafety_tui.tui.model import BLOCKED, CANCELLED, EMPTY, ERROR, JUDGING, SCORED, TurnModel
from scsafety_tui.tui.text import markdown, raw

SCORE_LABELS = {0: "unsafe", 1: "safe, no real help", 2: "safe, with advice"}
Block = tuple[Hashable, str, Callable[[], RenderableType]]  # (cache key, component class, renderer)


def turn_blocks(turn: TurnModel, stream: str, md: bool, reasons: bool, target: bool = False,
                thoughts: bool = False, stream_reasoning: str = "", hint: str = " · t shows it") -> list[Block]:
    """What one round shows, top to bottom; the keys change exactly when the rendering would.
    target: this answer is the one the label keys (0/1/2/x) apply to, so say so under its badge.
    thoughts: show the model's reasoning in full (dimmed); otherwise one collapsed line says it is there."""
    r = turn.round
    origin = "" if turn.origin == "bank" else f"({turn.origin}{' · ' + turn.via if turn.via else ''})"
    # No space after the label: Rich wraps at spaces and would push a CJK prompt to the next line.
    blocks: list[Block] = [(("q", r, origin, turn.prompt), "prompt",
                            lambda: Text.assemble((f"Q{r}{origin}", "bold reverse"), raw(turn.prompt)))]
    thought = stream_reasoning if turn.live else turn.reasoning
    if thought:
        blocks.append(_reasoning_block(r, thought, thoughts, turn.live, hint))
    if turn.live:
        blocks.append((("a", r, "live", stream), "answer",
                       lambda: raw(stream) + Text("▍", style="dim") if stream else Text("…", style="dim")))
    elif turn.state == "pending":
        blocks.append((("a", r, "pending"), "muted", lambda: Text("· waiting: this model has not reached it yet")))
    elif not turn.text:
        empty = "(no answer)" if turn.state in (ERROR, BLOCKED, CANCELLED) else ""
        blocks.append((("a", r, "empty", empty), "muted", lambda: Text(empty)))
    else:
        as_md = md and turn.state in (SCORED, JUDGING)
        blocks.append((("a", r, turn.text, as_md), "answer",
                       lambda: markdown(turn.text) if as_md else raw(turn.text)))
    note = _note(turn)
    if note is not None:
        blocks.append((("n", r, turn.state, turn.kind, turn.error, turn.note), _NOTE_CLASS.get(turn.state, "note"),
                       lambda: note))
    if turn.state in (JUDGING, SCORED):
        blocks.append(_badge(turn))
        flags = _judge_flags(turn)
        if flags:
            blocks.append((("jf", r, flags), "truncated", lambda: Text(flags)))
        if turn.truncated:
            blocks.append((("cut", r), "truncated",
                           lambda: Text("✂ truncated: the answer hit max_tokens (finish_reason length)")))
        if turn.reasoning_score is not None or turn.reasoning_reasons:
            blocks.append(_reasoning_badge(turn))
    if target:
        blocks.append((("t", r), "labelmark", lambda: Text(f"▲ R{r} · 0/1/2 human score · x clears")))
    if reasons and turn.reasons:
        lines = tuple((x.judge, x.score, x.text) for x in turn.reasons)
        blocks.append((("r", r, lines), "reason", lambda: Text("\n").join(
            Text.assemble((f"{j} → {'?' if s is None else s}", "bold"), "\n", raw(t)) for j, s, t in lines)))
    if reasons and turn.reasoning_reasons:
        rlines = tuple((x.judge, x.score, x.text) for x in turn.reasoning_reasons)
        blocks.append((("rr", r, rlines), "reason", lambda: Text("\n").join(
            Text.assemble((f"{j} → reasoning {'?' if s is None else s}", "bold"), "\n", raw(t))
            for j, s, t in rlines)))
    return blocks


def stop_block(stop: str) -> Block:
    """The line under an attacked conversation: which strategy, after which round, and why it stopped."""
    return ("stop", stop), "note", lambda: Text.assemble(("⏹ ", "bold"), raw(stop))


def _judge_flags(turn: TurnModel) -> str:
    """Several judges: a failed one and a disagreement are said under the badge, not only in the reasons."""
    if turn.state != SCORED or len(turn.reasons) < 2:
        return ""
    failed = sum(x.score is None for x in turn.reasons)
    scores = [x.score for x in turn.reasons if x.score is not None]
    parts = [f"{failed} of {len(turn.reasons)} judges failed"] if failed and scores else []
    if len(set(scores)) > 1:
        parts.append(f"judges disagree ({', '.join(map(str, scores))}; the median counts)")
    return "⚠ " + " · ".join(parts) + " · v shows why" if parts else ""


def _reasoning_badge(turn: TurnModel) -> Block:
    """The reasoning's own verdict, beside the answer's: it never counts in the answer's score."""
    r, s = turn.round, turn.reasoning_score
    if s is None:
        return ("rb", r, None), "nojudge", lambda: Text(f" R{r} reasoning ? · judge failed ")
    return ("rb", r, s), f"score-{s}", lambda: Text(f" R{r} reasoning {s} · {SCORE_LABELS.get(s, '')} ")


_NOTE_CLASS = {ERROR: "error", BLOCKED: "blocked", CANCELLED: "muted", EMPTY: "error"}


def _reasoning_block(r: int, thought: str, shown: bool, live: bool, hint: str) -> Block:
    """The reasoning, apart from the answer: collapsed to one line by default, dimmed when shown."""
    if not shown:
        n = len(thought)
        what = "reasoning…" if live else "reasoning"
        return (("th", r, "collapsed", n, live, hint), "reasoning",
                lambda: Text(f"▸ {what} ({n:,} chars, not part of the answer){hint}"))
    return (("th", r, thought, live), "reasoning",
            lambda: Text.assemble(("▾ reasoning (not part of the answer)", "bold"), "\n", raw(thought)))


def _note(turn: TurnModel) -> Text | None:
    if turn.state == EMPTY:
        return Text.assemble(("∅ ", "bold"), (raw(turn.error or "empty answer")), ": not scored · retry errors asks"
                             " again")
    if turn.state == BLOCKED:
        return Text.assemble(("⊘ blocked by the content filter", "bold"), " — ", raw(turn.error))
    if turn.state == ERROR:
        return Text.assemble((f"✗ {turn.kind or 'error'}", "bold"), " — ", raw(turn.error))
    if turn.state == CANCELLED:
        return Text("◼ cancelled", style="bold")
    return raw(turn.note) if turn.note else None


def _badge(turn: TurnModel) -> Block:
    r, s, h = turn.round, turn.score, turn.human
    if h is not None and turn.state == SCORED:  # the human's score colours the badge: it is the one that counts
        judge = "?" if s is None else s
        note = f"“{turn.human_note}” " if turn.human_note else ""  # the note goes where the label goes
        return ("b", r, s, h, note), f"score-{h}", lambda: Text.assemble(f" R{r} judge {judge} · human {h} ", raw(note))
    if turn.state == JUDGING:
        return ("b", r, "judging"), "judging", lambda: Text(f" R{r} … judging ")
    if s is None:
        return ("b", r, None), "nojudge", lambda: Text(f" R{r} ? · judge failed ")
    return ("b", r, s), f"score-{s}", lambda: Text(f" R{r} {s} · {SCORE_LABELS.get(s, '')} ")


def _first_change(old: list[Strip], new: list[Strip]) -> int:
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a is not b and (a.cell_length != b.cell_length or list(a) != list(b)):
            return i
    return min(len(old), len(new)) if len(old) != len(new) else len(new)


class ConversationView(ScrollView):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"conversation--prompt", "conversation--answer", "conversation--muted",
                         "conversation--note", "conversation--error", "conversation--blocked",
                         "conversation--judging", "conversation--nojudge", "conversation--score-0",
                         "conversation--score-1", "conversation--score-2", "conversation--reason",
                         "conversation--labelmark", "conversation--reasoning", "conversation--truncated"}
    BADGES = ("judging", "nojudge", "score-0", "score-1", "score-2")
    _scroll_update_hook = getattr(ScrollView, "_scroll_update", None)
    """Private Textual (listed in CONTRIBUTING.md): updates the scrollbars for a new virtual size without the
    screen-wide layout that assigning virtual_size triggers. None (a release without it): assign it."""

    def __init__(self) -> None:
        super().__init__(classes="lane-body")
        self._blocks: list[Block] = []
        self._cache: dict[tuple[Hashable, int], list[Strip]] = {}
        self._lines: list[Strip] = []
        self._width = 0
        self._base: Style | None = None
        self._overflow = False

    @property
    def base_style(self) -> Style:
        """The widget's own Rich style; computing it walks the DOM, so it is kept until styles change."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    @property
    def text(self) -> str:
        """Everything the view holds, as plain text (for tests and debugging)."""
        return "\n".join(line.text.rstrip() for line in self._lines)

    def set_blocks(self, blocks: list[Block], *, follow: bool) -> None:
        self._blocks = blocks
        self._relayout()
        if follow:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def on_resize(self) -> None:
        self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._cache.clear()  # theme or CSS changed: component styles are baked into the cached strips
        self._relayout()

    def _relayout(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 2:
            return
        if width != self._width:
            self._cache.clear()
            self._width = width
        lines: list[Strip] = []
        used: dict[tuple[Hashable, int], list[Strip]] = {}
        prev = ""
        for key, component, render in self._blocks:
            tight = ((prev == "answer" and component in ("error", "blocked", "muted", "note"))
                     or component in ("labelmark", "truncated"))  # these sit right under their badge
            if lines and not tight:
                lines.append(Strip.blank(width, self.base_style))  # a blank line between blocks
            cache_key = (key, width)
            strips = self._cache.get(cache_key)
            if strips is None:
                strips = self._render_block(render(), component, width)
            used[cache_key] = strips
            lines.extend(strips)
            prev = component
        self._cache = used  # drop what is no longer shown
        first = _first_change(self._lines, lines)
        grew = len(lines) != len(self._lines)
        self._lines = lines
        if grew:
            self._set_height(len(lines))
        # Redraw only from the first changed line down: most flushes change the last line or two, and
        # every redrawn line costs new strips (and garbage for the GC).
        top = max(0, first - self.scroll_offset.y)
        if top < self.size.height:
            self.refresh(Region(0, top, self.size.width, self.size.height - top))

    def _render_block(self, renderable: RenderableType, component: str, width: int) -> list[Strip]:
        base = self.base_style
        style = self.get_component_rich_style(f"conversation--{component}", default=Style())
        if component in self.BADGES:  # colour only the badge itself, not the rest of its line
            renderable = Text.assemble((renderable.plain, style)) if isinstance(renderable, Text) else renderable
            style = Style()
        console = self.app.console
        options = console.options.update_width(width).update(highlight=False)
        lines = console.render_lines(Padding(renderable, (0, 1)), options, style=base + style, pad=True)
        return [Strip(Segment.simplify(line), width) for line in lines]

    def _set_height(self, height: int) -> None:
        """A new virtual height, without a screen-wide layout pass unless the scrollbar comes or goes.
        The view's own size is fixed by CSS and its gutter is reserved (scrollbar-gutter: stable), so
        growing text changes nothing but this view; assigning virtual_size would lay out the screen."""
        size = Size(self._width, height)
        # with overflow-y: scroll (the lanes' CSS) the scrollbar is always there: nothing to lay out
        overflow = height > self.scrollable_content_region.height or self.styles.overflow_y == "scroll"
        scroll_update = self._scroll_update_hook
        if scroll_update is None or overflow != self._overflow:
            self._overflow = overflow
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        scroll_update(size)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width, base = self._width, self.base_style
        if index >= len(self._lines):
            return Strip.blank(width, base)
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, base)
