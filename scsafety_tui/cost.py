"""Tokens and money: prices per target, the bound a run cannot pass, and estimates from characters.

**The bound before a run** (`estimate_run`). Every request a run makes is counted: each answer (bank
rounds, attacker rounds), each judge call, each attacker call. A request's input is bounded by counting
every character of its messages as one token, plus a chat-template allowance per message and per request;
an earlier answer resent as context, and every output, are bounded by the `max_tokens` of the model that
wrote it (servers stop there). One token per character bounds tokenizers as they are used:

- a byte-level BPE tokenizer (GPT, Qwen, DeepSeek, Llama 3, GLM-4) starts from single bytes and only
  merges them, so ASCII text (one byte a character) never takes more than one token a character;
- Chinese: these vocabularies hold the common CJK characters (all of a bank's everyday text) as tokens
  of their own or merged into words, so a character costs one token or less. Only a rare character
  missing from the vocabulary falls back to its 3 UTF-8 bytes; English text, at about four characters a
  token, is bounded four times over.

What the bound leaves out, and says so: retried requests (a 429 or a dropped stream asks again) and
judge verdicts asked again because they were not valid JSON.

**Counts after a run** come from the servers' usage fields. A server that sends none gets an *estimate*
(`estimate_tokens`: a CJK character one token, other text four characters a token), and the turn is
marked `tokens_estimated` so every view says "estimated".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from scsafety_tui.config import Config, TargetConfig, conversation_rounds
from scsafety_tui.events import SessionStarted, TargetInfo, TurnCompleted, TurnFailed
from scsafety_tui.follow_ups import plan_follow_up
from scsafety_tui.guards import guard_messages
from scsafety_tui.judge import build_prompt
from scsafety_tui.questions import Item
from scsafety_tui.rubric import RubricPrompt, rubric_for
from scsafety_tui.taxonomy import Taxonomy

MESSAGE_OVERHEAD = 8
"""Template tokens around one message (role markers, separators): ChatML-style templates use 4-5."""
REQUEST_OVERHEAD = 16
"""Template tokens once per request (the assistant's opening, a default system prompt's markers)."""
ATTACKER_PROMPT_CHARS = 2000
"""The attacker's instructions and strategy around the conversation it reads (engine/attacker.py; a test
checks that they fit), with its role tags."""
GUARD_TEMPLATE_TOKENS = 2000
"""Qwen3Guard and Llama Guard build their instructions (the safety policy, its categories) in the
server's chat template, unseen here: Llama Guard 3's is about 1,600 characters of English."""
ASCII_CHARS_PER_TOKEN = 4
"""For estimates only (never for the bound): English text runs about four characters a token."""


def bound_tokens(text: str) -> int:
    """At most this many tokens: one a character (see the module docstring for why that bounds)."""
    return len(text)


def estimate_tokens(text: str) -> int:
    """A likely count for text a server gave no usage for: a non-ASCII character (CJK) one token, other
    characters four to a token."""
    wide = sum(1 for c in text if ord(c) > 0x7F)
    return wide + math.ceil((len(text) - wide) / ASCII_CHARS_PER_TOKEN)


def estimate_input(messages: Sequence[dict[str, str]], max_tokens: int) -> int:
    """A likely input count for a request, template tokens included; an earlier answer counts at most the
    max_tokens it was written under."""
    def one(m: dict[str, str]) -> int:
        n = estimate_tokens(m.get("content") or "")
        return MESSAGE_OVERHEAD + (min(n, max_tokens) if m.get("role") == "assistant" else n)

    return REQUEST_OVERHEAD + sum(one(m) for m in messages)


def usage_or_estimate(tokens_in: int | None, tokens_out: int | None, messages: Sequence[dict[str, str]],
                      output: str, max_tokens: int) -> tuple[int, int, bool]:
    """The server's counts; a missing one estimated from characters (the request's messages, the answer
    and its reasoning; the server stops an answer at max_tokens, so it never counts more). The flag says
    whether any was estimated."""
    estimated = tokens_in is None or tokens_out is None
    tin = estimate_input(messages, max_tokens) if tokens_in is None else tokens_in
    tout = min(estimate_tokens(output), max_tokens) if tokens_out is None else tokens_out
    return tin, tout, estimated


# ---------------------------------------------------------------- prices


class Priced(Protocol):
    """A target's config, or its TargetInfo in an event: whatever carries its prices."""

    @property
    def price_in(self) -> float | None: ...
    @property
    def price_out(self) -> float | None: ...


def cost_of(t: Priced, tokens_in: int, tokens_out: int) -> float | None:
    """What these tokens cost at the target's prices (per million tokens); None when it has none."""
    if t.price_in is None or t.price_out is None:
        return None
    return (tokens_in * t.price_in + tokens_out * t.price_out) / 1_000_000


def fmt_money(amount: float | None, currency: str) -> str:
    """Four decimals under 1 (a demo answer costs fractions of a cent), two above; "—" when unknown."""
    if amount is None:
        return "—"
    return f"{amount:,.4f} {currency}" if amount < 1 else f"{amount:,.2f} {currency}"


def fmt_tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else f"{n:,}"


# ---------------------------------------------------------------- the bound before a run


@dataclass(frozen=True, slots=True)
class Bound:
    """What one model may be asked: requests and at most how many tokens in and out."""

    key: str
    role: str
    """"target", "judge" or "attacker"."""
    requests: int
    tokens_in: int
    tokens_out: int
    cost: float | None
    currency: str


@dataclass(frozen=True, slots=True)
class RunEstimate:
    answers: int
    """Answers to be asked of the targets (every item's rounds × targets)."""
    judge_calls: int
    """Requests to judge models (0 with the heuristic judge)."""
    bounds: tuple[Bound, ...]

    def cost_bounds(self) -> dict[str, float]:
        """The summed cost bound per currency, over the models with prices."""
        out: dict[str, float] = {}
        for b in self.bounds:
            if b.cost is not None:
                out[b.currency] = out.get(b.currency, 0.0) + b.cost
        return out

    def unpriced(self) -> list[str]:
        return [f"{b.key} ({b.role})" for b in self.bounds if b.cost is None and b.requests]

    def lines(self) -> list[str]:
        """The estimate as plain lines (Text in a terminal: keys come from the config)."""
        tin = sum(b.tokens_in for b in self.bounds)
        tout = sum(b.tokens_out for b in self.bounds)
        out = [f"Before the run: {self.answers:,} answers and {self.judge_calls:,} judge calls to be made; "
               f"at most {tin:,} tokens in and {tout:,} out"]
        for b in self.bounds:
            if b.requests:
                cost = f"cost ≤ {fmt_money(b.cost, b.currency)}" if b.cost is not None else "no prices"
                out.append(f"  {b.key} ({b.role}): {b.requests:,} requests, ≤ {b.tokens_in:,} in + "
                           f"≤ {b.tokens_out:,} out tokens, {cost}")
        costs = self.cost_bounds()
        if costs:
            total = " + ".join(fmt_money(v, c) for c, v in sorted(costs.items()))
            out.append(f"Cost at most {total}" + (f" (no prices for {', '.join(self.unpriced())})"
                                                   if self.unpriced() else ""))
        else:
            out.append("Cost: unknown (no price_in / price_out in the config's targets)")
        out.append("The bound counts each request once (retries and re-asked judge verdicts add to it) "
                   "and each character as one token (an upper bound for Chinese and English alike).")
        return out


def _bound(t: TargetConfig, role: str, requests: int, tokens_in: int, tokens_out: int) -> Bound:
    return Bound(t.key, role, requests, tokens_in, tokens_out, cost_of(t, tokens_in, tokens_out), t.currency)


def _messages_bound(messages: Iterable[dict[str, str]]) -> int:
    return REQUEST_OVERHEAD + sum(MESSAGE_OVERHEAD + bound_tokens(m.get("content") or "") for m in messages)


def _judge_bound(j: TargetConfig, rubric: RubricPrompt, taxonomy: Taxonomy, item: Item,
                 history: Sequence[dict[str, str]], rnd: int) -> int:
    """A judge request's input without the answers in it: the rubric prompt (built-in or [judge]
    prompt_file) around the history, or a guard model's messages and its chat template's instructions."""
    if j.kind == "rubric":
        text = build_prompt(taxonomy=taxonomy, category=item.category, sub_dimension=item.sub_dimension,
                            history=history, answer="", round_=rnd, nonce="0" * 12, prompt=rubric)
        return _messages_bound([{"role": "user", "content": text}])
    allowance = GUARD_TEMPLATE_TOKENS if j.kind in ("qwen3guard", "llamaguard") else 0
    return _messages_bound(guard_messages(j.kind, history, "")) + allowance


def _answers(config: Config, item: Item) -> list[str | None]:
    """The user message of every round this item may get, by the engine's rule ([run] rounds and
    follow_ups): bank text, a template's text, or None for an attacker's (which may stop earlier)."""
    run = config.run
    rounds = conversation_rounds(run.rounds, run.follow_ups, config.attack.max_rounds) or len(item.turns)
    asked: list[str | None] = list(item.turns[:rounds])
    if len(asked) < rounds and run.follow_ups != "bank":
        choice = plan_follow_up(item, run.follow_ups, rounds, run.seed, strategy=config.attack.strategy,
                                max_rounds=rounds)
        for rnd in range(len(asked) + 1, rounds + 1):
            if choice.mode == "templates" and (text := choice.template_turn(rnd)) is not None:
                asked.append(text)
            elif choice.mode == "attacker" and config.attacker is not None:
                asked.append(None)
            else:
                break
    return asked


def estimate_run(config: Config, items: Sequence[Item], taxonomy: Taxonomy) -> RunEstimate:
    """The most a run of these items with this config can ask for (see the module docstring)."""
    judges = config.judge.targets if config.judge.mode == "model" else ()
    parts = 2 if config.judge.score_reasoning else 1  # the reasoning may be judged as well
    att = config.attacker
    rows: dict[tuple[str, str], list[int]] = {}  # (key, role) -> [requests, in, out]

    def add(t: TargetConfig, role: str, tin: int, tout: int, n: int = 1) -> None:
        row = rows.setdefault((t.key, role), [0, 0, 0])
        row[0] += n
        row[1] += tin * n
        row[2] += tout * n

    answers = judge_calls = 0
    rubric = rubric_for(config.judge.prompt_file)
    for item in items:
        prompts = _answers(config, item)
        for t in config.targets:
            history = item.prefix_messages()
            earlier = 0  # earlier answers and attacker turns in the history, bounded by their max_tokens
            for rnd, prompt in enumerate(prompts, 1):
                if prompt is None:  # the attacker writes this follow-up from the conversation so far
                    assert att is not None
                    add(att, "attacker", _messages_bound(history) + earlier + ATTACKER_PROMPT_CHARS,
                        att.max_tokens)
                    earlier += att.max_tokens
                history.append({"role": "user", "content": prompt or ""})
                tin = _messages_bound(history) + earlier
                add(t, "target", tin, t.max_tokens)
                answers += 1
                for j in judges:
                    # the judge's request with this round's history; each earlier answer and this one at
                    # most max_tokens (an answer's text is inserted as it is)
                    jin = _judge_bound(j, rubric, taxonomy, item, history, rnd) + earlier + t.max_tokens
                    add(j, "judge", jin, j.max_tokens, parts)
                    judge_calls += parts
                history.append({"role": "assistant", "content": ""})
                earlier += t.max_tokens
    by_key = {(t.key, role): t for role, ts in (("target", config.targets), ("judge", judges),
                                                ("attacker", (att,) if att else ())) for t in ts}
    order = ("target", "attacker", "judge")
    bounds = tuple(_bound(by_key[k], k[1], *v) for k, v in sorted(rows.items(), key=lambda kv: order.index(kv[0][1])))
    return RunEstimate(answers, judge_calls, bounds)


# ---------------------------------------------------------------- after a run


@dataclass(frozen=True, slots=True)
class TargetCost:
    """A target's tokens as its servers counted them (some maybe estimated) and what they cost."""

    key: str
    answers: int
    tokens_in: int
    tokens_out: int
    estimated: int
    """Answers whose counts were estimated from characters (the server sent no usage)."""
    cost: float | None
    currency: str


class Usage(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def answers(self) -> int: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...
    @property
    def estimated(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Price:
    """A target's prices as its session stored them (per million tokens; None: unknown)."""

    price_in: float | None
    price_out: float | None
    currency: str = "USD"


def snapshot_prices(snapshot: Mapping[str, Any]) -> dict[str, Price]:
    """Each target's prices from a session's stored config snapshot, read leniently: a session whose
    snapshot no longer validates (a key written by an older build) still shows its tables, unpriced."""
    out: dict[str, Price] = {}
    targets = snapshot.get("targets")
    for t in targets if isinstance(targets, list) else []:
        if not isinstance(t, dict) or not isinstance(t.get("key"), str):
            continue
        pin, pout, cur = t.get("price_in"), t.get("price_out"), t.get("currency")
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (pin, pout))
        out[t["key"]] = Price(pin if ok else None, pout if ok else None, cur if isinstance(cur, str) else "USD")
    return out


def session_costs(usage: Iterable[Usage], prices: Mapping[str, Price]) -> list[TargetCost]:
    """Each target's usage priced by the session's stored prices."""
    out = []
    for u in usage:
        p = prices.get(u.key)
        cost = cost_of(p, u.tokens_in, u.tokens_out) if p is not None else None
        out.append(TargetCost(u.key, u.answers, u.tokens_in, u.tokens_out, u.estimated, cost,
                              p.currency if p is not None else "USD"))
    return out


# ---------------------------------------------------------------- during a run


class LiveCost:
    """Per-target tokens and cost, from a run's events: SessionStarted's prices, the counts of each answer
    stored with them (TurnCompleted, and TurnFailed for a block or an empty answer: billed all the same),
    live and in a replay alike; `seed` adds what a resumed session had already used, so the figure is the
    session's, as `show` prints it. Views show `target_text` / `total_text`."""

    def __init__(self) -> None:
        self.targets: dict[str, TargetInfo] = {}
        self.tokens: dict[str, list[int]] = {}
        """key → [tokens in, tokens out, answers estimated]."""

    def seed(self, usage: Iterable[Usage]) -> None:
        """The session's stored usage before this run (store.usage.target_usage: every attempt)."""
        for u in usage:
            self.tokens[u.key] = [u.tokens_in, u.tokens_out, u.estimated]

    def add(self, event: SessionStarted | TurnCompleted | TurnFailed) -> None:
        if isinstance(event, SessionStarted):
            self.targets = {t.key: t for t in event.targets}
            return
        if event.tokens_in is None and event.tokens_out is None:
            return  # an error with nothing stored (no completion): nothing billed is known
        row = self.tokens.setdefault(event.target, [0, 0, 0])
        row[0] += event.tokens_in or 0
        row[1] += event.tokens_out or 0
        row[2] += event.tokens_estimated

    def cost(self, key: str) -> float | None:
        info = self.targets.get(key)
        tin, tout, _ = self.tokens.get(key, (0, 0, 0))
        return cost_of(info, tin, tout) if info is not None else None

    def target_text(self, key: str) -> str:
        """"1,234↑ 567↓ tok · 0.0012 USD" (with "est." when a count was estimated)."""
        tin, tout, est = self.tokens.get(key, (0, 0, 0))
        info = self.targets.get(key)
        text = f"{fmt_tokens(tin)}↑ {fmt_tokens(tout)}↓ tok" + (" est." if est else "")
        cost = self.cost(key)
        return text + (f" · {fmt_money(cost, info.currency)}" if cost is not None and info is not None else "")

    def total_text(self) -> str:
        """"cost 0.0123 USD" over the priced targets (per currency); "" when none has prices."""
        totals: dict[str, float] = {}
        for key, info in self.targets.items():
            cost = self.cost(key)
            if cost is not None:
                totals[info.currency] = totals.get(info.currency, 0.0) + cost
        if not totals:
            return ""
        est = " (some estimated)" if any(row[2] for row in self.tokens.values()) else ""
        return "cost " + " + ".join(fmt_money(v, c) for c, v in sorted(totals.items())) + est


def cost_lines(costs: Sequence[TargetCost]) -> list[str]:
    """One line under every export's tables: each target's tokens and cost, "estimated" where a server
    sent no usage."""
    if not costs:
        return []
    parts = []
    for c in costs:
        est = f", {c.estimated} answer(s) estimated from characters" if c.estimated else ""
        parts.append(f"{c.key} {c.tokens_in:,} in / {c.tokens_out:,} out{est}, {fmt_money(c.cost, c.currency)}")
    return ["Tokens and cost (servers' usage fields; judge calls not counted): " + "; ".join(parts)]


def meter_text(t: Priced | None, tokens_in: int, tokens_out: int, estimated: bool, currency: str = "") -> str:
    """A live meter's cost figure ("0.0012 USD", "≈0.0012 USD est." when a count was estimated); without
    prices only "tokens est." when a count was estimated, else ""."""
    cost = cost_of(t, tokens_in, tokens_out) if t is not None else None
    if cost is None:
        return "tokens est." if estimated else ""
    return ("≈" if estimated else "") + fmt_money(cost, currency or getattr(t, "currency", "USD")) + \
        (" est." if estimated else "")
