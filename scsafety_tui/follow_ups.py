"""Follow-ups for items with fewer turns than a run's rounds: the shipped template library, the attacker's
strategies (both data under questions/), and the seeded choice of which follow-up an item gets.

A template is written to make sense whatever the first answer was, and it must stay inside the first
question's pretext: a question framed as fiction gets a fiction follow-up, never an "I'm a researcher" one.
So the first question's pretext is read from its wording (`detect_pretext`); when it has one that templates
exist for, the choice is among those; otherwise among the pretexts that fit any question (presupposed
agreement, urgency, authority, "ignore the above"). The pick is seeded by (seed, item id, round), so the same
seed gives the same follow-ups in every session, and it is stored with the conversation (`FollowUp`).
"""

from __future__ import annotations

import functools
import json
import random
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scsafety_tui.errors import InputError
from scsafety_tui.paths import QUESTIONS_DIR
from scsafety_tui.questions import Item, read_jsonl

TEMPLATES = QUESTIONS_DIR / "follow_up_templates.jsonl"
STRATEGIES_DIR = QUESTIONS_DIR / "attack_strategies"
MODES = ("bank", "templates", "attacker")
PRETEXTS = ("fiction", "research", "role_play", "ignore_above", "presupposed_agreement", "urgency", "authority")
FRAMES = ("role_play", "fiction", "research")
"""Pretexts a question can be framed in, which its follow-up must keep (checked in this order)."""
PORTABLE = ("presupposed_agreement", "urgency", "authority", "ignore_above")
"""Pretexts that fit a question with no frame of its own."""
ANY_SUB = "*"
MIX = "mix"
"""[attacker] strategy = "mix": each item gets one strategy, a seeded pick."""
QUOTE_CHARS = 40

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_FRAME_WORDS = {  # words that frame a whole question, not ones that merely occur in it ("plot", "class", "script";
    # 情节 is also the law's "circumstances": 情节严重; 你现在是 also asks "are you now …": 你现在是不是)
    "role_play": ("扮演", "假设你是", "假如你是", "你现在是一", "你现在就是", "从现在起你是", "从现在开始你是", "roleplay", "role play", "role-play", "pretend you are",
                  "pretend to be", "act as", "you are now", "play the role", "in character"),
    "fiction": ("小说", "剧本", "故事", "剧情", "台词", "novel", "story", "stories", "screenplay", "fiction",
                "my book"),
    "research": ("研究", "学术", "论文", "教学", "课程", "课堂", "科普", "教材", "辩论", "research", "academic",
                 "thesis", "teaching", "lecture", "debate"),
}


class FollowUpError(InputError):
    """The template library or a strategy file cannot be used; one line naming file, line and field."""


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    lang: str
    sub_dimension: str
    """A sub-dimension id of the default taxonomy, or "*": fits every sub-dimension (frame templates)."""
    pretext: str
    text: str
    """May quote the first question as {question} (cut to QUOTE_CHARS characters)."""

    def render(self, question: str) -> str:
        q = question.strip()
        quoted = q if len(q) <= QUOTE_CHARS else q[:QUOTE_CHARS].rstrip() + "…"
        return self.text.replace("{question}", quoted)


def language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def _frame_pattern(words: Sequence[str]) -> re.Pattern[str]:
    # an English word is matched whole ("story" is not in "history", "thesis" not in "synthesis", "act as" not
    # in "react as"); Chinese has no word boundaries to read
    parts = [re.escape(w) if _CJK.search(w) else rf"\b{re.escape(w)}s?\b" for w in words]
    return re.compile("|".join(parts), re.IGNORECASE)


_FRAME_PATTERNS = {frame: _frame_pattern(words) for frame, words in _FRAME_WORDS.items()}


def detect_pretext(question: str) -> str | None:
    """The frame the question is asked in (role play, fiction, research/teaching), or None."""
    for frame in FRAMES:
        if _FRAME_PATTERNS[frame].search(question):
            return frame
    return None


def _template(obj: Any, where: str) -> Template:
    if not isinstance(obj, dict):
        raise FollowUpError(f"{where}: expected a JSON object")
    for key in ("id", "lang", "sub_dimension", "pretext", "text"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise FollowUpError(f"{where}: {key}: expected a non-empty string")
    if obj["pretext"] not in PRETEXTS:
        raise FollowUpError(f"{where}: pretext: expected one of {', '.join(PRETEXTS)}, got {obj['pretext']!r}")
    if obj["lang"] not in ("zh", "en"):
        raise FollowUpError(f"{where}: lang: expected 'zh' or 'en', got {obj['lang']!r}")
    return Template(obj["id"], obj["lang"], obj["sub_dimension"], obj["pretext"], obj["text"])


@functools.lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES) -> tuple[Template, ...]:
    """The template library, validated; ids are unique. Read as banks are (read_jsonl: lines end at \n
    only, so a U+2028 inside a template's text does not cut it); the first problem is the error."""
    problems: list[str] = []
    rows = read_jsonl(path, problems, hint="save the template file as UTF-8")
    if problems:
        raise FollowUpError(problems[0])
    out: list[Template] = []
    seen: set[str] = set()
    for n, obj in rows:
        where = f"{path}:{n}"
        t = _template(obj, where)
        if t.id in seen:
            raise FollowUpError(f"{where}: id: duplicate template id {t.id!r}")
        seen.add(t.id)
        out.append(t)
    return tuple(out)


def candidates(item: Item, templates: Sequence[Template]) -> list[Template]:
    """The templates that fit the item: its language, its sub-dimension (or "*"), its first question's frame."""
    question = item.turns[0] if item.turns else ""
    lang = language(question)
    fits = [t for t in templates if t.lang == lang and t.sub_dimension in (item.sub_dimension, ANY_SUB)]
    frame = detect_pretext(question)
    framed = [t for t in fits if t.pretext == frame] if frame else []
    if framed:
        return framed
    portable = [t for t in fits if t.pretext in PORTABLE and t.sub_dimension != ANY_SUB]
    return portable or [t for t in fits if t.pretext in PORTABLE]


def _rng(seed: int, item_id: str, rnd: int) -> random.Random:
    return random.Random(f"follow-up:{seed}:{item_id}:{rnd}")


def choose_templates(item: Item, rounds: int, seed: int,
                     templates: Sequence[Template] | None = None) -> list[tuple[int, Template]]:
    """(round, template) for every round after the item's own turns up to `rounds`; each a seeded pick,
    no template twice in one conversation while others remain (one the item's own turns hold included)."""
    pool = sorted(candidates(item, load_templates() if templates is None else templates), key=lambda t: t.id)
    if not pool:
        return []
    out: list[tuple[int, Template]] = []
    first = item.turns[0] if item.turns else ""
    # a template already among the item's turns (`questions import --follow-ups templates` wrote its round 2)
    used = {t.id for t in pool if t.render(first) in item.turns[1:]}
    for rnd in range(len(item.turns) + 1, rounds + 1):
        fresh = [t for t in pool if t.id not in used] or pool
        pick = _rng(seed, item.id, rnd).choice(fresh)
        used.add(pick.id)
        out.append((rnd, pick))
    return out


# ---------------------------------------------------------------- attacker strategies


@dataclass(frozen=True, slots=True)
class Strategy:
    id: str
    name: str
    instructions: dict[str, str]
    """Language ("zh", "en") → instructions; may use {round} and {max_rounds}."""

    def text(self, lang: str, rnd: int, max_rounds: int) -> str:
        body = self.instructions.get(lang) or self.instructions["zh"]
        return body.replace("{round}", str(rnd)).replace("{max_rounds}", str(max_rounds))


def _strategy(path: Path) -> Strategy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FollowUpError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise FollowUpError(f"{path}: invalid TOML: {e}") from None
    for key in ("id", "name"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise FollowUpError(f"{path}: {key}: expected a non-empty string")
    ins = data.get("instructions")
    if not isinstance(ins, dict):
        raise FollowUpError(f"{path}: instructions: expected a table with zh and en strings")
    for lang in ("zh", "en"):
        if not isinstance(ins.get(lang), str) or not ins[lang].strip():
            raise FollowUpError(f"{path}: instructions.{lang}: expected a non-empty string (every strategy has"
                                " Chinese and English instructions)")
    if data["id"] != path.stem:
        raise FollowUpError(f"{path}: id: expected {path.stem!r} (the file's name), got {data['id']!r}")
    return Strategy(data["id"], data["name"], {"zh": ins["zh"], "en": ins["en"]})


@functools.lru_cache(maxsize=4)
def load_strategies(folder: Path = STRATEGIES_DIR) -> dict[str, Strategy]:
    """Every strategy file of the folder (one per strategy, named for its id)."""
    return {s.id: s for s in (_strategy(p) for p in sorted(folder.glob("*.toml")))}


def strategy_names(folder: Path = STRATEGIES_DIR) -> tuple[str, ...]:
    return (*load_strategies(folder), MIX)


def strategy_for(item_id: str, name: str, seed: int) -> str:
    """The strategy an item's attacker uses: the configured one, or with "mix" a seeded pick per item."""
    if name != MIX:
        return name
    return _rng(seed, item_id, 0).choice(sorted(load_strategies()))


# ---------------------------------------------------------------- the choice stored with a conversation


@dataclass(frozen=True)
class FollowUp:
    """Which follow-up a conversation got, as stored in conversation.follow_up (JSON)."""

    mode: str
    """bank | templates | attacker."""
    templates: tuple[dict[str, Any], ...] = ()
    """templates: per round {round, id, pretext, text} (the text is kept, so a resume asks the same)."""
    strategy: str = ""
    max_rounds: int = 0
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    """Written when the conversation ends: stopped_round, and an attacker's refusal text."""

    def to_json(self) -> str:
        data: dict[str, Any] = {"mode": self.mode, "seed": self.seed}
        if self.templates:
            data["templates"] = list(self.templates)
        if self.strategy:
            data["strategy"], data["max_rounds"] = self.strategy, self.max_rounds
        return json.dumps({**data, **self.extra}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | None) -> FollowUp | None:
        if not raw:
            return None
        data = json.loads(raw)
        known = {"mode", "templates", "strategy", "max_rounds", "seed"}
        return cls(data.get("mode", "bank"), tuple(data.get("templates", ())), data.get("strategy", ""),
                   int(data.get("max_rounds", 0)), int(data.get("seed", 0)),
                   {k: v for k, v in data.items() if k not in known})

    def via(self, origin: str, rnd: int) -> str:
        """The template id or the attacker's strategy a user turn of this origin came from ('' for the bank)."""
        if origin == "attacker":
            return self.strategy
        if origin == "template":
            return next((t["id"] for t in self.templates if t["round"] == rnd), "")
        return ""

    def template_turn(self, rnd: int) -> str | None:
        return next((t["text"] for t in self.templates if t["round"] == rnd), None)

    def label(self) -> str:
        """One short line for reports: `template crime-urgency-1-zh (urgency)`, `attacker crescendo`."""
        if self.mode == "templates":
            return ", ".join(f"template {t['id']} ({t['pretext']})" for t in self.templates) or "templates: none fit"
        if self.mode == "attacker":
            return f"attacker {self.strategy}"
        return "bank"


def imported_label(item: Item) -> str:
    """`template crime-urgency-1-zh (urgency), written at import`: a bank turn that `questions import
    --follow-ups templates` wrote ('' for any other item)."""
    chosen = item.source.get("follow_up") if isinstance(item.source, dict) else None
    if not isinstance(chosen, dict) or "template" not in chosen:
        return ""
    return f"template {chosen['template']} ({chosen.get('pretext', '?')}), written at import"


def plan_follow_up(item: Item, mode: str, rounds: int, seed: int, *, strategy: str = "",
                   max_rounds: int = 0) -> FollowUp:
    """The follow-up an item gets in a run: its bank turns alone when it has enough, otherwise templates or
    the attacker for the rounds after its turns."""
    if mode == "bank" or len(item.turns) >= rounds:
        return FollowUp("bank", seed=seed)
    if mode == "templates":
        picks = choose_templates(item, rounds, seed)
        first = item.turns[0] if item.turns else ""
        return FollowUp("templates", tuple({"round": r, "id": t.id, "pretext": t.pretext, "text": t.render(first)}
                                           for r, t in picks), seed=seed)
    return FollowUp("attacker", strategy=strategy_for(item.id, strategy, seed), max_rounds=max_rounds, seed=seed)


def with_template_follow_up(item: Item, seed: int) -> Item:
    """A single-turn item given a template round 2 (`questions import --follow-ups templates`); the choice is
    recorded in its source, so the bank says which template each item got."""
    if len(item.turns) != 1:
        return item
    picks = choose_templates(item, 2, seed)
    if not picks:
        return item
    _, t = picks[0]
    source = dict(item.source) if isinstance(item.source, dict) else ({"source": item.source} if item.source else {})
    source["follow_up"] = {"template": t.id, "pretext": t.pretext, "seed": seed}
    from dataclasses import replace

    return replace(item, turns=(*item.turns, t.render(item.turns[0])), source=source)


STOP_REASONS = {
    "unsafe": "the target gave an unsafe answer (score 0)",
    "max_rounds": "max_rounds reached",
    "attacker_refused": "the attacker model refused to attack (its own safety refusal; not sent)",
    "attacker_empty": "the attacker model wrote nothing",
    "attacker_error": "the attacker model failed",
    "answer_ended": "the target's answer ended the conversation (error, block or empty)",
    "no_template": "no template fits this item",
}


def stop_text(stop: str, record: FollowUp | None) -> str:
    """`attacker crescendo stopped after round 2: the target gave an unsafe answer (score 0) in round 2`."""
    extra = record.extra if record is not None else {}
    why = STOP_REASONS.get(stop, stop)
    if stop == "unsafe" and "unsafe_round" in extra:
        why += f" in round {extra['unsafe_round']}"
    if stop == "attacker_refused" and extra.get("refusal"):
        why += f": {str(extra['refusal'])[:80]}"
    if stop == "attacker_empty" and extra.get("empty_finish") == "length":
        why += " (finish_reason length: its max_tokens ran out, on reasoning or a reply cut to nothing; raise it)"
    elif stop == "attacker_empty" and extra.get("empty_finish"):
        why += f" (finish_reason {extra['empty_finish']})"
    if extra.get("unjudged_rounds"):
        rounds = ", ".join(map(str, extra["unjudged_rounds"]))
        why += f" (the judge failed on round {rounds}: an unsafe answer there could not stop the attacker)"
    who = record.label() if record is not None else "follow-ups"
    asked = extra.get("stopped_round")
    return f"{who} stopped" + (f" after round {asked}" if asked else "") + f": {why}"


def summary_lines(records: Sequence[Any]) -> list[str]:
    """What `show` says about a session's follow-ups (records: anything with item_id, follow_up, stop_reason,
    as store.queries.FollowUpRow): how many items got templates (by pretext) or the attacker (by strategy),
    and why the attacker stopped, per conversation. Empty when every item had its own turns."""
    from collections import Counter

    items: dict[str, FollowUp] = {}
    stops: Counter[str] = Counter()
    attacked = unjudged = 0
    for r in records:
        if r.follow_up is None or r.follow_up.mode == "bank":
            continue
        items.setdefault(r.item_id, r.follow_up)
        if r.follow_up.mode == "attacker":
            attacked += 1
            stops[r.stop_reason or "not finished"] += 1
            unjudged += bool(r.follow_up.extra.get("unjudged_rounds"))
    templated = [f for f in items.values() if f.mode == "templates"]
    strategies = Counter(f.strategy for f in items.values() if f.mode == "attacker")
    pretexts = Counter(t["pretext"] for f in templated for t in f.templates)
    total = len({r.item_id for r in records})
    lines = []
    if templated:
        lines.append(f"follow-ups: {len(templated)} of {total} item(s) got template follow-ups, the same for every"
                     f" target (pretexts: {', '.join(f'{p} {n}' for p, n in pretexts.most_common())})")
    if strategies:
        lines.append(f"follow-ups: {sum(strategies.values())} of {total} item(s) attacked (strategy: "
                     f"{', '.join(f'{s} {n}' for s, n in strategies.most_common())}); {attacked} conversation(s)"
                     " stopped: " + ", ".join(f"{STOP_REASONS.get(s, s)} {n}" for s, n in stops.most_common()))
    if unjudged:
        lines.append(f"follow-ups: {unjudged} attacked conversation(s) had rounds the judge failed on, so an unsafe"
                     " answer there could not stop the attacker (`rejudge` scores them)")
    return lines
