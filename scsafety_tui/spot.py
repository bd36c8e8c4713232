"""Spot checks: one prompt (and optional follow-ups) against chosen targets, judged, saved as a `spot`
session. Used by the CLI and the TUI's spot screen alike."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from scsafety_tui.config import Config, ConfigError, JudgeConfig
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.errors import InputError
from scsafety_tui.events import Event
from scsafety_tui.questions import Item
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import Taxonomy

AUTO = "auto"


def spot_item(turns: Sequence[str], taxonomy: Taxonomy, sub_dimension: str = AUTO) -> Item:
    """A one-off bank item; sub-dimension 'auto' lets the judge decide which definition applies."""
    turns = tuple(t for t in turns if t and t.strip())
    if not turns:
        raise InputError("spot: the prompt is empty")
    if sub_dimension == AUTO:
        category = AUTO
    else:
        sub = taxonomy.find(sub_dimension)
        if sub is None:
            raise InputError(f"--sub-dimension: unknown {sub_dimension!r} (see `scsafety-tui questions stats`)")
        sub_dimension, category = sub.id, sub.category
    digest = hashlib.sha1("\n".join(turns).encode()).hexdigest()[:8]
    return Item(id=f"spot-{digest}", category=category, sub_dimension=sub_dimension, turns=turns,
                source="spot check")


def spot_config(config: Config, targets: Sequence[str] = (), judge: str | None = None) -> Config:
    """The config narrowed to the chosen targets and judge ('heuristic' or a [[judge.targets]] key)."""
    chosen = tuple(config.target(k) for k in targets) if targets else config.targets
    if not chosen:
        raise ConfigError(f"{config.source}: targets: no [[targets]] to check")
    j = config.judge
    if judge == "heuristic":
        j = JudgeConfig(mode="heuristic", retries=j.retries)
    elif judge:
        found = [t for t in (*config.judge.targets, *config.targets) if t.key == judge]
        if not found:
            raise ConfigError(f"{config.source}: judge: no judge target named {judge!r}")
        # the one judge keeps the [judge] settings: its prompt file, what "controversial" scores
        j = replace(j, mode="model", targets=(found[0],))
    return replace(config, targets=chosen, judge=j, run=replace(config.run, rounds=0, follow_ups="bank"))


async def start_spot(store: Store, config: Config, taxonomy: Taxonomy, items: list[Item],
                     emit: Callable[[Event], None], name: str | None = None) -> Any:
    """Create the spot session and return its prepared SessionRun (call .run())."""
    name = name or f"spot {time.strftime('%Y-%m-%d %H:%M')}: {items[0].turns[0].strip().splitlines()[0][:40]}"
    sid = await create_session(store, config, taxonomy, items, name=name, kind="spot")
    return await prepare(store, sid, emit, config=config)


async def spot_result(store: Store, sid: int) -> dict[str, Any]:
    """The machine-readable result of a spot session: every target's answers, verdicts and scores."""
    session = await queries.stored_session(store, sid)
    items = await queries.items(store, sid)
    out: dict[str, Any] = {"session_id": sid, "name": session.name, "status": session.status, "items": []}
    for item in items:
        entry: dict[str, Any] = {"id": item.id, "sub_dimension": item.sub_dimension, "turns": list(item.turns),
                                 "targets": {}}
        for t in session.targets:
            tr = await queries.transcript(store, sid, item.id, t.key)
            answers = [a for a in (tr.turns if tr else []) if a.role == "assistant"]
            scores = [_score(a) for a in answers]
            valid = [s for s in scores if s is not None]
            entry["targets"][t.key] = {
                "model": t.model, "status": tr.status if tr else "pending",
                "score": round(100 * sum(valid) / (2 * len(valid)), 2) if valid else None,
                "answers": [{"round": a.round, "text": a.content, "status": a.status, "error": a.error,
                             "score": s, "verdicts": [{"judge": v.judge, "score": v.score, "reason": v.reason,
                                                       "error": v.error, "heuristic": v.heuristic}
                                                      for v in a.verdicts]}
                            for a, s in zip(answers, scores, strict=True)]}
        out["items"].append(entry)
    return out


def _score(turn: queries.TurnRow) -> int | None:
    from scsafety_tui.scoring import median_score

    return median_score(v.score for v in turn.verdicts) if turn.status == "done" else None
