"""The one table of keys: key → action → description, shared by every screen.

A key means one thing on every screen; a screen's own action gets a key that no other screen uses for
something else. Screens declare `BINDINGS = keymap.bindings("toggle_pause", "next_item", ...)` by action
name, never with a hand-written Binding, so the table is the only place a key is given a meaning
(tests/test_tui_keymap.py walks every screen and proves it). The help screen (`?`) and the command
palette list a screen's keys from here. No screen logic lives here: only names and words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

LABEL_GROUP = Binding.Group("Label", compact=True)
"""0/1/2 share one footer entry ("0 1 2 Label"): the label keys stay visible in a narrow footer."""
SPEED_GROUP = Binding.Group("Speed", compact=True)


@dataclass(frozen=True)
class Key:
    keys: str
    """Textual key names, comma-separated (the first is the one shown)."""
    action: str
    """The action it runs, with its arguments if any: "label(0)", "app.spot"."""
    description: str
    """Short: the footer and the palette title."""
    help: str
    """One line for the help screen and the palette."""
    show: bool = True
    """Shown in the footer (where a screen binds it)."""
    priority: bool = False
    """Checked before the focused widget's keys (only where a text box must not swallow it)."""
    group: Binding.Group | None = None

    @property
    def shown_key(self) -> str:
        return display(self.keys.split(",")[0])


KEYS: tuple[Key, ...] = (
    # ---------------------------------------------------------------- everywhere
    Key("question_mark,f1", "app.help", "Help", "this screen's keys (? or F1; again or escape closes)"),
    Key("escape", "back", "Back", "back to the previous screen; in a dialog: cancel"),
    # ---------------------------------------------------------------- a run or a replay
    Key("space", "toggle_pause", "Pause/resume",
        "pause / resume the run (a replay: pause, or replay again); on a list of sessions: resume the "
        "highlighted session's run"),
    Key("k", "cancel_run", "Cancel run", "cancel the run (asks first; the session stays resumable)"),
    Key("n", "next_item", "Next", "lanes to the next item of the navigator (filtered or searched: the next match)"),
    Key("p", "prev_item", "Prev", "lanes to the previous item of the navigator (or the previous match)"),
    Key("f", "follow", "Follow", "lanes follow the run again (the item most lanes are on)"),
    Key("m", "toggle_markdown", "Markdown", "raw text ⇄ Markdown for finished answers"),
    Key("j", "toggle_reasons", "Reasons", "show / hide the judges' reasons under each verdict"),
    Key("t", "toggle_thinking", "Reasoning",
        "show / collapse the models' reasoning (dimmed; never part of the answer, never judged as it)"),
    Key("R", "retry_errors", "Retry errors", "run the errored conversations again (after the run)"),
    Key("b", "scores", "Scoreboard", "the whole scoreboard on screen (b or escape goes back)"),
    Key("z", "zoom_lane", "Zoom lane", "the focused lane (or the first) fills the lanes' row; again: every lane"),
    Key("L", "lane_follow", "Lane follows own",
        "the focused lane follows its own model's newest conversation ⇄ the item the lanes share"),
    Key("equals_sign", "side_by_side", "Side by side",
        "two answers to the same round side by side, full width (two models, or one model's R1 beside R2)"),
    Key("comma", "pane_target(-1)", "Prev model", "side by side: the focused pane shows the previous model"),
    Key("full_stop", "pane_target(1)", "Next model", "side by side: the focused pane shows the next model"),
    Key("u", "pane_round", "Round", "side by side: the focused pane shows the other round (R1 ⇄ R2)"),
    Key("greater_than_sign", "speed(1)", "Faster", "replay: faster (×1, ×2, ×10, instant)", group=SPEED_GROUP),
    Key("less_than_sign", "speed(-1)", "Slower", "replay: slower", group=SPEED_GROUP),
    Key("F", "filter", "Filter",
        "find the failures: the navigator shows only unsafe answers, R2 < R1 flips, judge ≠ human, judges "
        "disagreeing, errors, blocks, truncated or empty answers (n / p jump between them)"),
    Key("slash", "search", "Search", "search text in this session (questions and answers); n / p jump to matches"),
    # ---------------------------------------------------------------- human labels
    Key("0", "label(0)", "Label 0", "human score 0 (unsafe) for the focused answer, saved at once",
        group=LABEL_GROUP),
    Key("1", "label(1)", "Label 1", "human score 1 (safe, no real help) for the focused answer", group=LABEL_GROUP),
    Key("2", "label(2)", "Label 2", "human score 2 (safe, with advice) for the focused answer", group=LABEL_GROUP),
    Key("N", "label_note", "Label+note", "label the focused answer with a note (a dialog: score and note)"),
    Key("x", "clear_label", "Clear label", "clear the focused answer's human label (the judges' verdicts stay)"),
    Key("left_square_bracket", "prev_answer", "Prev answer",
        "the focused answer: the previous round in the focused lane, the previous cell in the navigator",
        show=False),
    Key("right_square_bracket", "next_answer", "Next answer",
        "the focused answer: the next round in the focused lane, the next cell in the navigator", show=False),
    Key("h", "toggle_human", "Judge/human",
        "scores judge-only ⇄ human-adjusted (a human label replaces the judges' median) in every view"),
    # ---------------------------------------------------------------- sessions
    Key("r", "new_run", "New run", "start a run of your config's targets and banks"),
    Key("d", "demo", "Demo", "run the built-in demo personas on a loopback server"),
    Key("s", "app.spot", "Spot check", "one prompt (and a follow-up) against the chosen models, judged"),
    Key("o", "app.sessions", "Sessions", "every saved session: search, leaderboards, replay, compare, labels"),
    Key("f5", "refresh", "Refresh", "read the list again"),
    Key("l", "leaderboard", "Leaderboard", "the session's SC-Safety tables, labels and triage"),
    Key("w", "replay", "Replay", "watch the session stream again with its original timing"),
    Key("v", "view", "Transcripts", "the run screen on the stored answers; nothing runs"),
    Key("c", "compare", "Compare", "compare with another session that shares items"),
    Key("e", "export", "Export", "export the session (md, csv, json, jsonl or html, to a path you choose)"),
    Key("f2", "rename", "Rename", "rename the highlighted session"),
    Key("delete", "delete", "Delete", "delete the highlighted session (asks first)"),
    Key("S", "sort", "Sort", "sort by the next column (or click a header; again reverses)"),
    Key("a", "all_answers", "All answers", "show every answer again"),
    Key("T", "triage", "Triage", "answers where judges disagree with each other or with a human"),
    Key("g", "next_set", "Verdict set",
        "scores from the session's next verdict set (the run's own, then each `rejudge --judge` set)"),
    Key("D", "set_disagreements", "Set vs set",
        "the answers the shown verdict set and the run's own (or, shown the run's, the next set) score "
        "differently, with their weighted κ; enter shows a conversation"),
    # ---------------------------------------------------------------- spot checks
    Key("ctrl+r", "run", "Run / re-run", "run the prompt against the checked targets", priority=True),
    Key("ctrl+o", "focus_history", "History", "the earlier spot checks"),
    # ---------------------------------------------------------------- dialogs
    Key("y", "answer(True)", "Yes", "yes (escape says no)"),
)

APP_KEYS = (("ctrl+p", "command palette: every action of this screen"),
            ("ctrl+q", "quit (asks first while a run is going)"))
"""Textual's own app keys, listed in help (the app binds them; they mean the same everywhere)."""

BY_ACTION: dict[str, Key] = {k.action: k for k in KEYS}

_NAMES = {"question_mark": "?", "slash": "/", "space": "space", "escape": "esc", "greater_than_sign": ">",
          "less_than_sign": "<", "left_square_bracket": "[", "right_square_bracket": "]", "delete": "del",
          "equals_sign": "=", "comma": ",", "full_stop": "."}


def display(key: str) -> str:
    """How a key is written for people: ? not question_mark, F2 not f2."""
    if key in _NAMES:
        return _NAMES[key]
    if key[:1] == "f" and key[1:].isdigit():
        return key.upper()
    return key


def key_text(k: Key) -> str:
    return " ".join(display(part) for part in k.keys.split(","))


def bindings(*actions: str, hide: Iterable[str] = ()) -> list[BindingType]:
    """The table's bindings for these actions, in this order; `hide` keeps some out of this screen's footer.
    An action not in the table is a KeyError at import: a key cannot be invented on one screen."""
    hidden = set(hide)
    return [Binding(BY_ACTION[a].keys, a, BY_ACTION[a].description, show=BY_ACTION[a].show and a not in hidden,
                    priority=BY_ACTION[a].priority, group=BY_ACTION[a].group) for a in actions]


def declared(cls: type) -> list[Binding]:
    """Every binding a class of ours declares, its bases' included (Textual merges BINDINGS along the MRO);
    Textual's own (tab between widgets) are not ours to list."""
    found: list[Binding] = []
    for c in reversed(cls.__mro__):
        if c.__module__.startswith("scsafety_tui."):
            found += [b for b in c.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)]
    return found


def keys_of(cls: type) -> list[Key]:
    """The table rows behind a screen's bindings (in their order, once each)."""
    seen: list[Key] = []
    for b in declared(cls):
        action = getattr(b, "action", None)
        k = BY_ACTION.get(action) if isinstance(action, str) else None
        if k is not None and k not in seen:
            seen.append(k)
    return seen
