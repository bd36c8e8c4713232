"""Starting, resuming and retrying sessions: the one entry point the CLI, the TUI and spot checks use.

A session stores a secret-free snapshot of its targets, so ``resume`` works from the database alone;
API keys are read again from the environment variables the snapshot names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from scsafety_tui.config import Config, TargetConfig, config_to_dict, conversation_rounds
from scsafety_tui.engine.attacker import Attacker
from scsafety_tui.engine.budget import Budget
from scsafety_tui.engine.resume import session_config
from scsafety_tui.engine.runner import Runner
from scsafety_tui.events import Event, TargetInfo
from scsafety_tui.judge import Judge
from scsafety_tui.questions import Item, fingerprint
from scsafety_tui.redact import mask_params
from scsafety_tui.store import queries
from scsafety_tui.store.db import ConversationRow, Store
from scsafety_tui.store.lock import STALE_S, SessionLock, SessionLocked
from scsafety_tui.taxonomy import Taxonomy

if TYPE_CHECKING:  # the HTTP stack is imported when a run is prepared, not with this module
    import httpx


def snapshot(config: Config) -> dict[str, Any]:
    """The config as stored with a session: env var names only, header values masked."""
    data = config_to_dict(config)
    for t in [*data["targets"], *data["judge"]["targets"], *([data["attacker"]] if "attacker" in data
                                                            else [])]:
        if "headers" in t:
            t["headers"] = {k: "***" for k in t["headers"]}
        if "params" in t:  # a token a user put in params never reaches the database
            t["params"] = mask_params(t["params"])
    return data


@dataclass
class SessionRun:
    """A session ready to run: its runner plus the HTTP client it owns."""

    session_id: int
    runner: Runner
    todo: list[tuple[ConversationRow, int]]
    already_done: int
    resumed: bool
    lock: SessionLock | None = None
    _closers: list[httpx.AsyncClient] = field(default_factory=list)

    async def run(self) -> str:
        try:
            if self.lock is None:
                return await self.runner.run(self.todo, resumed=self.resumed, already_done=self.already_done)
            async with self.lock.beating(on_lost=self.runner.cancel):
                status = await self.runner.run(self.todo, resumed=self.resumed, already_done=self.already_done)
            if self.lock.lost:
                raise SessionLocked(f"session {self.session_id}: another process took over this run (this one"
                                    f" was stopped for over {STALE_S:.0f} s); it stopped here")
            return status
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client and let the session's lock go."""
        while self._closers:
            await self._closers.pop().aclose()
        if self.lock is not None:
            await self.lock.release()


async def create_session(store: Store, config: Config, taxonomy: Taxonomy, items: Sequence[Item], *,
                         name: str, kind: str = "run") -> int:
    from scsafety_tui.engine.plan import follow_up_choices

    choices = follow_up_choices(config, items)  # before the session exists: a broken template file leaves none
    sid = await store.create_session(
        name=name, kind=kind, config=snapshot(config), taxonomy=taxonomy.to_dict(),
        fingerprint=fingerprint(items), targets=[replace(t, params=mask_params(t.params)) for t in config.targets],
        items=list(items))
    # which follow-up each item gets is chosen now (seeded) and stored, so a resume asks the same
    await store.set_follow_ups(sid, choices)
    return sid


async def _unstored_follow_ups(store: Store, stored: queries.StoredSession, config: Config,
                               items: Sequence[Item], rows: Sequence[ConversationRow]) -> None:
    """A session whose process died between storing it and its follow-up choices (nothing ran yet, none
    stored) gets them now, by its own snapshot's seed: what it would have picked, not the given config's."""
    from scsafety_tui.engine.plan import follow_up_choices

    if not rows or any(r.follow_up or r.status != "pending" for r in rows):
        return
    run = replace(config.run, seed=stored.config.run.seed)
    await store.set_follow_ups(stored.id, follow_up_choices(replace(config, run=run, attack=stored.config.attack),
                                                            items))


async def prepare(store: Store, session_id: int, emit: Callable[[Event], None], *,
                  config: Config | None = None, retry_errors: bool = False) -> SessionRun:
    """Build the runner for a new or interrupted session.

    Finished conversations are kept; unfinished ones restart from their beginning; with retry_errors,
    only errored conversations run again, as a new attempt that replaces the error only when it ends.
    """
    stored = await queries.stored_session(store, session_id)
    config = session_config(stored.config, config)
    taxonomy = stored.taxonomy
    items = await queries.items(store, session_id)
    config.check_keys()
    # Nothing below may touch the session's rows before this process holds it.
    lock = await SessionLock.acquire(store, session_id)
    try:
        return await _prepare_locked(store, stored, config, taxonomy, items, emit, lock, retry_errors)
    except BaseException:
        await lock.release()
        raise


async def _prepare_locked(store: Store, stored: queries.StoredSession, config: Config, taxonomy: Taxonomy,
                          items: list[Item], emit: Callable[[Event], None], lock: SessionLock,
                          retry_errors: bool) -> SessionRun:
    session_id = stored.id
    await store.repair_search_index()
    damaged = set(await queries.damaged_answers(store, session_id))
    todo: list[tuple[ConversationRow, int]] = []
    done = 0
    resumed = False
    await _unstored_follow_ups(store, stored, config, items, await store.conversations(session_id))
    for conv in await store.conversations(session_id):
        await store.drop_stale_attempts(conv.id)
        if retry_errors:
            # an answer stored shorter than it streamed (before schema v3) is redone like an error
            if conv.status == "error" or conv.id in damaged:
                todo.append((conv, conv.attempt + 1))
            else:
                done += 1
        elif conv.status in ("done", "error"):
            done += 1
            resumed = True
        else:
            if conv.status != "pending":
                await store.reset_conversation(conv.id)
                resumed = True
            todo.append((conv, 0))
    await store.sync()

    from scsafety_tui.providers.client import ModelClient, make_http_client
    from scsafety_tui.providers.retry import RetryPolicy

    all_targets = [*config.targets, *config.judge.targets, *([config.attacker] if config.attacker else [])]
    http = make_http_client(config.run.http_transport, allowed_hosts=[t.host() for t in all_targets])
    policy = RetryPolicy(attempts=config.run.retries, max_retry_after=config.run.max_retry_wait_s)

    def client(t: TargetConfig) -> ModelClient:
        return ModelClient(t, http, policy, t.api_key(config.source))

    session_keys = stored.keys
    clients = {k: client(config.target(k)) for k in session_keys}
    judge = Judge.for_config(taxonomy, [client(t) for t in config.judge.targets] if config.judge.mode == "model"
                             else [], config.judge)
    attacker = Attacker(client(config.attacker)) if config.attacker else None
    infos = [TargetInfo(k, t.provider, t.model, t.base_url, t.price_in, t.price_out, t.currency)
             for k in session_keys for t in (clients[k].target,)]
    rounds = conversation_rounds(config.run.rounds, config.run.follow_ups, config.attack.max_rounds)
    runner = Runner(store=store, session_id=session_id, name=stored.name, items=items, clients=clients,
                    judge=judge, rounds=rounds, emit=emit, attacker=attacker, target_infos=infos)
    runner.ctx.score_reasoning = config.judge.score_reasoning
    if config.run.max_cost:
        runner.ctx.budget = Budget(config.run.max_cost, config.targets[0].currency, runner.ctx.emit, runner.ctx.now)
    return SessionRun(session_id, runner, todo, done, resumed or retry_errors, lock, [http])

