"""Planning a run: the user's choices applied to a config, the bank items selected, the session named.

The one place the CLI (`run`, `demo`) and the TUI (home screen keys n and d, `launch_demo`) turn choices
into a session: the CLI maps its arguments to RunChoices, the TUI passes its own; neither builds the
other's objects. Importing this module stays cheap (no HTTP client, no SQLite driver), so `--help` is fast.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from scsafety_tui.config import Config, ConfigError, conversation_rounds
from scsafety_tui.errors import InputError
from scsafety_tui.questions import Item, load_banks, select_items
from scsafety_tui.taxonomy import Taxonomy, taxonomy_for

if TYPE_CHECKING:
    from scsafety_tui.store.db import Store


@dataclass(frozen=True, slots=True)
class RunChoices:
    """What a run is asked for; an empty or None field keeps the config's own setting."""

    targets: tuple[str, ...] = ()
    """Target keys to run (empty: every [[targets]] of the config)."""
    banks: tuple[str, ...] = ()
    """Bank files or folders (empty: [run] banks)."""
    sub_dimensions: tuple[str, ...] = ()
    """Only these sub-dimensions (empty: [run] sub_dimensions)."""
    limit: int | None = None
    """At most this many items, a seeded sample (None: [run] limit; 0: all)."""
    name: str | None = None
    """Session name (None: the date and the target keys)."""


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A run ready to be stored as a session: the config it runs with, its taxonomy, items and name."""

    config: Config
    taxonomy: Taxonomy
    items: list[Item]
    name: str


def plan_run(config: Config, choices: RunChoices = RunChoices()) -> RunPlan:
    """Apply the choices to a config; load and select the bank items."""
    keys = choices.targets
    targets = tuple(config.target(k) for k in keys) if keys else config.targets
    if not targets:
        raise ConfigError(f"{config.source}: targets: no [[targets]] to run")
    banks = tuple(choices.banks or config.run.banks)
    subs = tuple(choices.sub_dimensions or config.run.sub_dimensions)
    limit = config.run.limit if choices.limit is None else choices.limit
    config = replace(config, targets=targets, run=replace(config.run, banks=banks, sub_dimensions=subs,
                                                          limit=limit))
    taxonomy = taxonomy_for([Path(b) for b in banks])
    for s in subs:
        if taxonomy.sub_dimension(s) is None:
            raise InputError(f"--sub-dimension: unknown {s!r} (see `scsafety-tui questions stats`)")
    # A limit takes a seeded sample in bank order, so `--limit 20` spans sub-dimensions reproducibly.
    items = select_items(load_banks(banks, taxonomy), sub_dimensions=subs, limit=limit, seed=config.run.seed)
    if not items:
        raise InputError("no bank items match the chosen sub-dimensions")
    name = choices.name or f"{time.strftime('%Y-%m-%d %H:%M')} {','.join(t.key for t in targets)}"
    return RunPlan(config, taxonomy, items, name)


def follow_up_choices(config: Config, items: Sequence[Item]) -> list[tuple[str, str]]:
    """(item id, follow-up JSON) for the items that get more than their own turns ([run] follow_ups):
    template picks or the attacker's strategy, seeded by [run] seed and the item id."""
    from scsafety_tui.follow_ups import plan_follow_up

    rounds = conversation_rounds(config.run.rounds, config.run.follow_ups, config.attack.max_rounds)
    if config.run.follow_ups == "bank" or not rounds:
        return []
    out = []
    for item in items:
        choice = plan_follow_up(item, config.run.follow_ups, rounds, config.run.seed,
                                strategy=config.attack.strategy, max_rounds=rounds)
        if choice.mode != "bank":
            out.append((item.id, choice.to_json()))
    return out


def demo_plan(url: str, limit: int = 0, name: str | None = None, concurrency: int = 4) -> RunPlan:
    """A demo run of the shipped bank against a demo server at url (its personas and demo judge)."""
    from scsafety_tui.demo_profile import demo_config

    config = demo_config(url, limit=limit, concurrency=concurrency)
    return plan_run(config, RunChoices(limit=limit, name=name or f"{time.strftime('%Y-%m-%d %H:%M')} demo"))


def session_creator(plan: RunPlan, kind: str = "run") -> Callable[[Store], Awaitable[int]]:
    """A function that stores the planned session in a store and returns its id (run later, once the
    store is open: the CLI's headless run and the app each open their own)."""

    async def create(store: Store) -> int:
        from scsafety_tui.engine.session import create_session

        return await create_session(store, plan.config, plan.taxonomy, plan.items, name=plan.name, kind=kind)

    return create

