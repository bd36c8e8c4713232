"""Which config does a stored session run with? Decided here once, for resume, retry and rejudge, whether
the CLI, the TUI or prepare() asks.

A session stores a secret-free snapshot of its config, so it can always run from the database alone (API
keys are read again from the environment variables the snapshot names). A config given on top replaces
what it can: its targets (by key), its judge and its run settings, never the session's rounds.
"""

from __future__ import annotations

from dataclasses import replace

from scsafety_tui.config import Config, ConfigError, RunConfig
from scsafety_tui.demo_profile import is_demo, rebase


def session_config(stored: Config, given: Config | None, *, demo_url: str | None = None,
                   ambient: bool = False, judge_only: bool = False) -> Config:
    """The config a stored session (its snapshot `stored`) runs with.

    - `given` is the config the user chose (the CLI's `--config`, or its default file). With ambient=True
      it is the app's config, which counts only when it names every target of the session and never for a
      demo session (the app's config holds the user's own models).
    - A demo session (every model a loopback demo persona) with no config that counts runs against the
      demo server at demo_url, a server started anew: its snapshot rebased (the port changes every launch).
    - Otherwise the snapshot, with the given config's targets (it must name all the session's, or none),
      judge and run settings; judge_only (a rejudge asks no target): only its judge and run settings.

    Applying the result again changes nothing, so prepare() may apply it to what a caller decided.
    """
    if ambient and given is not None and (is_demo(stored) or not _names_all(given, stored)):
        given = None
    if given is None and demo_url is not None and is_demo(stored):
        given = rebase(stored, demo_url)
    return _judge_from(stored, given) if judge_only else _merge(stored, given)


def needs_demo_server(stored: Config, given: Config | None, *, ambient: bool = False) -> bool:
    """Whether session_config wants a demo_url for this session: start a demo server first when True."""
    return is_demo(stored) and (given is None or ambient)  # an ambient config never counts for a demo


def _names_all(given: Config, stored: Config) -> bool:
    return {t.key for t in stored.targets} <= set(given.keys())


def _merge(stored: Config, given: Config | None) -> Config:
    """The stored snapshot, with targets/judge taken from a given config when it names the same keys."""
    if given is None:
        return stored
    by_key = {t.key: t for t in given.targets}
    targets = tuple(by_key.get(t.key, t) for t in stored.targets)
    missing = [t.key for t in stored.targets if t.key not in by_key]
    if missing and given.targets:
        raise ConfigError(f"{given.source}: targets: this session also needs {', '.join(missing)}")
    judge = given.judge if given.judge.targets or given.judge.mode == "heuristic" else stored.judge
    return replace(stored, targets=targets, judge=judge, run=_run_of(stored, given),
                   attacker=given.attacker or stored.attacker, attack=stored.attack,
                   source=given.source)


def _run_of(stored: Config, given: Config) -> RunConfig:
    """The given run settings, with the session's own rounds and follow-ups (they define its pairs)."""
    return replace(given.run, rounds=stored.run.rounds, follow_ups=stored.run.follow_ups)


def _judge_from(stored: Config, given: Config | None) -> Config:
    """The snapshot with the given config's judge (and run settings for HTTP), if one is given."""
    if given is None:
        return stored
    return replace(stored, judge=given.judge, run=_run_of(stored, given),
                   source=given.source)
