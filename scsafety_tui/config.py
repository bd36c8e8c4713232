"""Config file → frozen dataclasses, validated with dotted key paths.

Every mistake is reported as one line that names the file, the dotted key and what was expected, e.g.
``config.toml: targets[1].temperature: expected a number, got 'hot'``. API keys are never read from the
file: a target names the environment variable that holds its key (``api_key_env``), resolved at run time.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scsafety_tui.errors import InputError
from scsafety_tui.textsafe import has_controls

PROVIDERS = ("openai", "anthropic")
JUDGE_MODES = ("model", "heuristic")
JUDGE_KINDS = ("rubric", "qwen3guard", "llamaguard", "shieldlm")
"""How a judge target is asked and read: the 0/1/2 rubric prompt, or a guard model's own format."""
TRANSPORTS = ("aiohttp", "httpx")
FOLLOW_UPS = ("bank", "templates", "attacker")
MIX = "mix"
TEMPLATE_ROUNDS = 2
"""Rounds of a templates run with [run] rounds = 0: SC-Safety's question and its follow-up."""


class ConfigError(InputError):
    """A config file that cannot be used; the message is one line naming file and key."""


@dataclass(frozen=True)
class TargetConfig:
    """One model reached over HTTP (an evaluated model, a judge or the attacker)."""

    key: str
    """Short unique name used in the UI, the database and on the command line."""
    provider: str
    """Wire protocol: "openai" (any OpenAI-compatible chat completions server) or "anthropic"."""
    base_url: str
    """API root, e.g. https://api.deepseek.com/v1 or http://127.0.0.1:8000/v1."""
    model: str
    """Model name sent in each request."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key; None for local servers without auth."""
    temperature: float | None = None
    """Sampling temperature; None leaves the server's default."""
    max_tokens: int = 1024
    """Upper bound on each answer's length in tokens."""
    concurrency: int = 4
    """Requests in flight at once to this target."""
    requests_per_minute: int = 0
    """Request rate cap; 0 means no cap."""
    timeout_s: float = 120.0
    """Total time allowed for one request, streaming included."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra HTTP headers sent with every request (never put a key here; use api_key_env)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Extra JSON body parameters merged into every request (e.g. top_p, seed)."""
    kind: str = "rubric"
    """Judges only ([[judge.targets]]): "rubric" (the 0/1/2 rubric prompt, parsed as JSON), or a guard
    model read in its own format: "qwen3guard" (Qwen3Guard-Gen), "llamaguard" (Llama Guard 3/4),
    "shieldlm" (ShieldLM). See scsafety_tui/guards.py for each prompt and its mapping onto 0/1/2."""
    price_in: float | None = None
    """Price per million input (prompt) tokens, for the cost estimate and the live cost; None: unknown."""
    price_out: float | None = None
    """Price per million output (completion) tokens; give both prices or neither."""
    currency: str = "USD"
    """The currency of price_in / price_out, as shown beside every cost (e.g. "USD", "CNY")."""

    def api_key(self, source: str = "config") -> str | None:
        """The key from the environment; a named but unset variable is an input error."""
        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ConfigError(
                f"{source}: targets[{self.key}].api_key_env: environment variable "
                f"{self.api_key_env} is not set"
            )
        return value

    def host(self) -> str:
        return urlsplit(self.base_url).netloc


@dataclass(frozen=True)
class JudgeConfig:
    """Who scores the answers."""

    mode: str = "heuristic"
    """"model": the [[judge.targets]] score each answer (median of several); "heuristic": offline lexicon."""
    targets: tuple[TargetConfig, ...] = ()
    """Judge models; each verdict is stored and a turn's score is their median."""
    retries: int = 2
    """How many times a judge is asked again when its verdict is not valid JSON."""
    score_reasoning: bool = False
    """Also score a turn's reasoning text (reasoning_content, thinking, <think>), as verdicts of its own
    (part 'reasoning') that never count in the answer's score."""
    prompt_file: str | None = None
    """A file replacing the built-in rubric prompt, with the same placeholders (scsafety_tui/rubric.py);
    a relative path is read from the config file's folder. Its hash is stored with every verdict."""
    controversial: int = 0
    """What a guard's "Controversial" verdict scores (Qwen3Guard, ShieldLM): 0 (unsafe, the strict
    reading) or 1 (no clear risk, not a good answer either)."""


@dataclass(frozen=True)
class RunConfig:
    """What a run asks."""

    banks: tuple[str, ...] = ()
    """Question bank files or folders (JSONL); empty means the shipped Chinese sample bank."""
    rounds: int = 0
    """Rounds per conversation; 0 = every turn of the item. More than an item has needs an attacker."""
    sub_dimensions: tuple[str, ...] = ()
    """Only run items of these sub-dimension ids; empty means all."""
    limit: int = 0
    """Run at most this many items (after the filter), a seeded sample kept in bank order; 0 means all."""
    seed: int = 0
    """Seed for sampling items under `limit`."""
    retries: int = 4
    """Attempts per request for retryable failures (rate limits, 5xx, timeouts, cut streams)."""
    max_retry_wait_s: float = 60.0
    """Longest wait obeyed from a server's Retry-After."""
    http_transport: str = "aiohttp"
    """"aiohttp" (httpx API over aiohttp, ~3x less CPU per stream) or "httpx" (httpx's own transport)."""
    block_as_refusal: bool = False
    """Score a content-filter block as 1 (a bare refusal) instead of leaving it unscored."""
    follow_ups: str = "bank"
    """What an item with fewer turns than `rounds` is asked after its own turns: "bank" (nothing more),
    "templates" (the shipped follow-up templates, a seeded pick per item) or "attacker" (the [attacker]
    model). Default: "attacker" when an [attacker] is configured, else "bank"."""
    max_cost: float = 0.0
    """Pause the run once its answers have cost this much (in the targets' one currency; every target needs
    prices); each start or resume may spend this much more. 0 means no limit."""


@dataclass(frozen=True)
class AttackConfig:
    """How the [attacker] model attacks (read from the [attacker] table beside its model settings)."""

    strategy: str = "crescendo"
    """A strategy file's name in questions/attack_strategies/ (crescendo, deepen_pretext, role_play,
    ignore_previous), or "mix": a seeded pick per item."""
    max_rounds: int = 4
    """The most rounds an attacked conversation has, the bank's turns included; it stops earlier at the
    first unsafe answer (score 0) once round 2 is asked."""


def conversation_rounds(rounds: int, follow_ups: str, max_rounds: int) -> int:
    """The rounds a session asks (0: each item's own turns), by its [run] rounds, follow_ups and
    [attacker] max_rounds: the one rule the engine and scoring share."""
    if follow_ups == "templates":
        return rounds or TEMPLATE_ROUNDS
    if follow_ups == "attacker":
        return min(rounds or max_rounds, max_rounds)
    return rounds


@dataclass(frozen=True)
class UiConfig:
    theme: str = "textual-dark"
    """Textual theme name."""
    markdown: bool = False
    """Render answers as Markdown; raw text (the default) shows exactly what the model sent."""


@dataclass(frozen=True)
class StorageConfig:
    db: str | None = None
    """SQLite file; None uses the platform data dir (see `scsafety-tui paths`)."""


@dataclass(frozen=True)
class Config:
    targets: tuple[TargetConfig, ...] = ()
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    run: RunConfig = field(default_factory=RunConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    attacker: TargetConfig | None = None
    """Optional model that writes follow-ups beyond the bank's turns (run.rounds > an item's turns)."""
    attack: AttackConfig = field(default_factory=AttackConfig)
    """The attacker's strategy and round limit."""
    source: str = "config"
    """The file this came from, for messages."""

    def target(self, key: str) -> TargetConfig:
        for t in self.targets:
            if t.key == key:
                return t
        raise ConfigError(f"{self.source}: no target named {key!r} (have: {', '.join(self.keys())})")

    def keys(self) -> list[str]:
        return [t.key for t in self.targets]

    def check_keys(self) -> None:
        """Resolve every api_key_env now, so a missing variable stops a run before it starts."""
        for t in (*self.targets, *self.judge.targets, *([self.attacker] if self.attacker else [])):
            t.api_key(self.source)


# ---------------------------------------------------------------- parsing

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               dict: "a table", list: "an array"}


class _Reader:
    """Takes values out of one TOML table, reporting problems with their dotted path."""

    def __init__(self, source: str, path: str, table: Any) -> None:
        self.source, self.path = source, path
        if not isinstance(table, dict):
            self.fail("", "expected a table", table)
        self.table = dict(table)

    def fail(self, key: str, expected: str, got: Any = ...) -> None:
        where = f"{self.path}.{key}" if self.path and key else (self.path or key)
        tail = "" if got is ... else f", got {got!r}"
        raise ConfigError(f"{self.source}: {where}: {expected}{tail}")

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                self.fail(key, f"missing; expected {_TYPE_NAMES[kind]}")
            return default
        value = self.table.pop(key)
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            self.fail(key, f"expected {_TYPE_NAMES[kind]}", value)
        if kind is float and not math.isfinite(value):  # TOML has nan and inf: a NaN max_cost is never reached
            self.fail(key, "expected a finite number", value)
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) for v in value):
            self.fail(key, "expected an array of strings", value)
        return tuple(value)

    def positive(self, key: str, kind: type, default: Any, *, zero_ok: bool = False) -> Any:
        value = self.get(key, kind, default)
        if value < 0 or (value == 0 and not zero_ok):
            self.fail(key, "expected a number > 0" if not zero_ok else "expected a number >= 0", value)
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value: str = self.get(key, str, default)
        if value not in options:
            self.fail(key, f"expected one of {', '.join(map(repr, options))}", value)
        return value

    def done(self) -> None:
        for key in self.table:
            self.fail(key, "unknown key")


def _target(source: str, path: str, table: Any, *, judge: bool = False) -> TargetConfig:
    r = _Reader(source, path, table)
    # only a judge has a kind: elsewhere the key stays unknown
    kind = r.choice("kind", JUDGE_KINDS, "rubric") if judge else "rubric"
    key = r.get("key", str, required=True)
    if not key or any(c in key for c in " ,/\\") or key != key.strip() or has_controls(key):
        r.fail("key", "expected a short name without spaces, commas, slashes or control characters", key)
    provider = r.choice("provider", PROVIDERS, "openai")
    base_url = r.get("base_url", str, required=True)
    _check_base_url(r, base_url)
    model = r.get("model", str, required=True)
    if has_controls(model):
        r.fail("model", "expected a model name without control characters", model)
    api_key_env = r.get("api_key_env", str)
    if api_key_env is not None and not api_key_env.replace("_", "").isalnum():
        r.fail("api_key_env", "expected an environment variable NAME (the key itself never goes here)",
               api_key_env)
    temperature = r.get("temperature", float)
    if temperature is not None and not 0 <= temperature <= 2:
        r.fail("temperature", "expected a number between 0 and 2", temperature)
    headers = r.get("headers", dict, {})
    for name, value in headers.items():
        if not isinstance(value, str):
            r.fail(f"headers.{name}", "expected a string", value)
        if has_controls(name) or has_controls(value):
            r.fail(f"headers.{name}", "expected a header without control characters (no CR/LF)")
        if name.lower() in ("authorization", "x-api-key", "api-key"):
            r.fail(f"headers.{name}", "keys go in the environment variable named by api_key_env")
    t = TargetConfig(
        key=key, provider=provider, base_url=base_url.rstrip("/"), model=model, api_key_env=api_key_env,
        temperature=temperature,
        max_tokens=r.positive("max_tokens", int, 1024),
        concurrency=r.positive("concurrency", int, 4),
        requests_per_minute=r.positive("requests_per_minute", int, 0, zero_ok=True),
        timeout_s=r.positive("timeout_s", float, 120.0),
        headers=headers, params=r.get("params", dict, {}), kind=kind, **_prices(r),
    )
    r.done()
    return t


def _prices(r: _Reader) -> dict[str, Any]:
    """price_in / price_out per million tokens (both or neither) and their currency."""
    price_in = r.get("price_in", float)
    price_out = r.get("price_out", float)
    for name, value in (("price_in", price_in), ("price_out", price_out)):
        if value is not None and value < 0:
            r.fail(name, "expected a price per million tokens >= 0", value)
    if (price_in is None) != (price_out is None):
        missing, given = ("price_out", "price_in") if price_out is None else ("price_in", "price_out")
        r.fail(missing, f"missing; {given} is set (give both, per million tokens)")
    currency = r.get("currency", str, "USD")
    if not currency or len(currency) > 8 or currency != currency.strip() or has_controls(currency):
        r.fail("currency", 'expected a short currency name such as "USD" or "CNY"', currency)
    return {"price_in": price_in, "price_out": price_out, "currency": currency}


def _check_base_url(r: _Reader, url: str) -> None:
    """What a request to this URL would fail on, or leak, refused now; the value itself is never echoed
    when it may hold credentials."""
    if has_controls(url):
        r.fail("base_url", "expected a URL without control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        r.fail("base_url", "expected an http:// or https:// URL with a host", url)
    if "@" in parts.netloc:
        r.fail("base_url", "credentials in the URL (user:pass@) are not allowed: they would be sent and stored;"
                           " put the key in the environment variable named by api_key_env, or in headers")
    try:
        port = parts.port  # raises for > 65535 or a non-number
    except ValueError:
        port = 0
    if port == 0:
        r.fail("base_url", "port out of range (expected 1-65535)", url)
    if "?" in url or "#" in url:
        r.fail("base_url", "expected no query string or fragment (the API path is appended to base_url)", url)


def _targets(source: str, path: str, value: Any, *, judge: bool = False) -> tuple[TargetConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: {path}: expected an array of tables ([[{path}]]), got {value!r}")
    out = tuple(_target(source, f"{path}[{i}]", t, judge=judge) for i, t in enumerate(value))
    seen: set[str] = set()
    for i, t in enumerate(out):
        if t.key in seen:
            raise ConfigError(f"{source}: {path}[{i}].key: duplicate target key {t.key!r}")
        seen.add(t.key)
    return out


def parse_config(data: dict[str, Any], source: str = "config") -> Config:
    """Validate a TOML document already parsed into a dict."""
    top = _Reader(source, "", data)
    targets = _targets(source, "targets", top.table.pop("targets", []))

    j = _Reader(source, "judge", top.table.pop("judge", {}))
    judge_targets = _targets(source, "judge.targets", j.table.pop("targets", []), judge=True)
    mode = j.choice("mode", JUDGE_MODES, "model" if judge_targets else "heuristic")
    if mode == "model" and not judge_targets:
        j.fail("mode", 'is "model" but no [[judge.targets]] are given; add one or use "heuristic"')
    judge = JudgeConfig(mode=mode, targets=judge_targets,
                        retries=j.positive("retries", int, 2, zero_ok=True),
                        score_reasoning=j.get("score_reasoning", bool, False),
                        prompt_file=j.get("prompt_file", str),
                        controversial=_controversial(j))
    j.done()

    r = _Reader(source, "run", top.table.pop("run", {}))
    run = RunConfig(
        banks=r.str_list("banks"), rounds=r.positive("rounds", int, 0, zero_ok=True),
        sub_dimensions=r.str_list("sub_dimensions"), limit=r.positive("limit", int, 0, zero_ok=True),
        seed=r.get("seed", int, 0), retries=r.positive("retries", int, 4),
        max_retry_wait_s=r.positive("max_retry_wait_s", float, 60.0),
        http_transport=r.choice("http_transport", TRANSPORTS, "aiohttp"),
        block_as_refusal=r.get("block_as_refusal", bool, False),
        max_cost=r.positive("max_cost", float, 0.0, zero_ok=True),
        follow_ups=r.choice("follow_ups", FOLLOW_UPS, "attacker" if "attacker" in top.table else "bank"),
    )
    r.done()
    if run.follow_ups == "attacker" and "attacker" not in top.table:
        r.fail("follow_ups", '"attacker" needs an [attacker] table (the model that writes the follow-ups)')

    u = _Reader(source, "ui", top.table.pop("ui", {}))
    ui = UiConfig(theme=u.get("theme", str, "textual-dark"), markdown=u.get("markdown", bool, False))
    u.done()

    s = _Reader(source, "storage", top.table.pop("storage", {}))
    storage = StorageConfig(db=s.get("db", str))
    s.done()

    attacker, attack = None, AttackConfig()
    if "attacker" in top.table:
        table = top.table.pop("attacker")
        attack = _attack(source, table)
        attacker = _target(source, "attacker", {k: v for k, v in table.items()
                                                if k not in ("strategy", "max_rounds")})
    top.done()
    _check_max_cost(source, run, targets)
    all_keys = [t.key for t in targets]
    if len(set(all_keys)) != len(all_keys):  # pragma: no cover - _targets already checks
        raise ConfigError(f"{source}: targets: duplicate keys")
    return Config(targets=targets, judge=judge, run=run, ui=ui, storage=storage, attacker=attacker,
                  attack=attack, source=source)


def _attack(source: str, table: Any) -> AttackConfig:
    from scsafety_tui.paths import QUESTIONS_DIR

    r = _Reader(source, "attacker", table)
    strategy: str = r.get("strategy", str, "crescendo")
    # the names only: follow_ups.load_strategies (a layer above) reads the files, for `config check` and a run
    known = sorted(p.stem for p in (QUESTIONS_DIR / "attack_strategies").glob("*.toml"))
    if strategy != MIX and strategy not in known:
        r.fail("strategy", f"expected one of {', '.join(map(repr, [*known, MIX]))}", strategy)
    max_rounds: int = r.get("max_rounds", int, 4)
    if max_rounds < 2:
        r.fail("max_rounds", "expected a number >= 2 (round 1 is the bank's question)", max_rounds)
    return AttackConfig(strategy, max_rounds)


def _check_max_cost(source: str, run: RunConfig, targets: tuple[TargetConfig, ...]) -> None:
    """A spending limit needs every target's prices, in one currency, to be counted against."""
    if not run.max_cost:
        return
    for i, t in enumerate(targets):
        if t.price_in is None:
            raise ConfigError(f"{source}: run.max_cost: targets[{i}] ({t.key}) has no price_in / price_out, so"
                              " its spending cannot be counted")
    currencies = sorted({t.currency for t in targets})
    if len(currencies) > 1:
        raise ConfigError(f"{source}: run.max_cost: the targets are priced in {', '.join(currencies)}; "
                          "max_cost needs them in one currency")


def _controversial(j: _Reader) -> int:
    value: int = j.get("controversial", int, 0)
    if value not in (0, 1):
        j.fail("controversial", "expected 0 or 1", value)
    return value


def _with_prompt_file(c: Config, folder: Path) -> Config:
    """A relative [judge] prompt_file made absolute (from the config's folder), and checked now, so a
    missing placeholder stops every command before anything runs."""
    from dataclasses import replace

    from scsafety_tui.rubric import load_prompt

    if not c.judge.prompt_file:
        return c
    path = (folder / Path(c.judge.prompt_file).expanduser()).resolve()
    load_prompt(path, origin=f"{c.source}: judge.prompt_file")
    return replace(c, judge=replace(c.judge, prompt_file=str(path)))


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; every problem is a ConfigError naming the file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file (create one with `scsafety-tui init {p}`)") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from None
    config = parse_config(data, str(p))
    _check_attack_rounds(config)
    return _with_prompt_file(config, p.parent)


def _check_attack_rounds(config: Config) -> None:
    """A config file asking more rounds than the attacker may write was cut to max_rounds, silently. (Checked
    for files only: a stored session's snapshot made so still reads.)"""
    run, attack = config.run, config.attack
    if config.attacker is not None and run.follow_ups == "attacker" and run.rounds > attack.max_rounds:
        raise ConfigError(f"{config.source}: run.rounds: {run.rounds} is more than [attacker] max_rounds ="
                          f" {attack.max_rounds}, the most rounds an attacked conversation has: raise max_rounds"
                          " or lower rounds")


# ---------------------------------------------------------------- writing

def target_to_dict(t: TargetConfig) -> dict[str, Any]:
    """A target as TOML-ready data, omitting unset optional values."""
    out: dict[str, Any] = {}
    for f in fields(t):
        value = getattr(t, f.name)
        if value is None or value == {} or (f.name == "kind" and value == "rubric"):
            continue
        if f.name == "currency" and t.price_in is None:  # a currency of no price says nothing
            continue
        out[f.name] = value
    return out


def config_to_dict(c: Config) -> dict[str, Any]:
    """The config as TOML-ready data; holds env var names, never key values."""
    out: dict[str, Any] = {"targets": [target_to_dict(t) for t in c.targets]}
    out["judge"] = {"mode": c.judge.mode, "retries": c.judge.retries, "score_reasoning": c.judge.score_reasoning,
                    "targets": [target_to_dict(t) for t in c.judge.targets]}
    if c.judge.prompt_file:
        out["judge"]["prompt_file"] = c.judge.prompt_file
    if c.judge.controversial:
        out["judge"]["controversial"] = c.judge.controversial
    out["run"] = {f.name: list(v) if isinstance(v := getattr(c.run, f.name), tuple) else v
                  for f in fields(c.run)}
    out["ui"] = {"theme": c.ui.theme, "markdown": c.ui.markdown}
    if c.storage.db:
        out["storage"] = {"db": c.storage.db}
    if c.attacker:
        out["attacker"] = {**target_to_dict(c.attacker), "strategy": c.attack.strategy,
                           "max_rounds": c.attack.max_rounds}
    return out
