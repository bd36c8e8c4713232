"""Running real sessions against the loopback demo server, for the engine, store and TUI tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from scsafety_tui.config import Config, JudgeConfig
from scsafety_tui.demo_profile import demo_config, demo_target
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.events import Event
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import Item, load_banks
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()


def bank(limit: int = 0, path: Path = SAMPLE_BANK) -> list[Item]:
    items = load_banks([path], TAXONOMY)
    # Spread a small limit over sub-dimensions rather than taking the first few of one.
    return items[:: max(1, len(items) // limit)][:limit] if limit else items


def config_for(url: str, personas: tuple[str, ...] | None = None, *, heuristic: bool = False,
               retries: int = 3, **run: Any) -> Config:
    config = demo_config(url, personas=personas) if personas else demo_config(url)
    config = replace(config, run=replace(config.run, retries=retries, max_retry_wait_s=0.05, **run))
    if heuristic:
        config = replace(config, judge=JudgeConfig(mode="heuristic"))
    return config


def with_target(config: Config, key: str, url: str, model: str) -> Config:
    return replace(config, targets=(*config.targets, demo_target(key, url, model)))


async def run_session(db: str, config: Config, items: list[Item], *, name: str = "test"
                      ) -> tuple[int, str, list[Event]]:
    """Create and run a session to its end; returns (session id, status, every event)."""
    events: list[Event] = []
    store = await Store.open(db)
    try:
        sid = await create_session(store, config, TAXONOMY, items, name=name)
        srun = await prepare(store, sid, events.append, config=config)
        status = await srun.run()
    finally:
        await store.close()
    return sid, status, events
