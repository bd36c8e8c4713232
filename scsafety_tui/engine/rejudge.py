"""Judging again the answers whose judges all failed, without asking the models again.

An answer is unscored when it finished (status 'done') and none of its answer verdicts has a score: every
judge errored or answered something unparseable. Rejudging rebuilds each such answer's conversation from
the store (the same history the run judged it with: system prompt, context, earlier questions and answers,
never reasoning), asks the judge from the session's stored config snapshot (or a given config's
[judge]), and stores the verdicts with Store.add_verdicts; a judge key that had failed is replaced. It
holds the session's lock, like a run, so it never races a runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from scsafety_tui.config import Config
from scsafety_tui.engine.resume import session_config
from scsafety_tui.judge import Judge
from scsafety_tui.questions import Item
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.lock import SessionLock


@dataclass(frozen=True)
class RejudgeResult:
    session_id: int
    tried: int
    """Unscored answers found and judged again."""
    scored: int
    """Of those, how many have a score now."""

    @property
    def still_unscored(self) -> int:
        return self.tried - self.scored


@dataclass(frozen=True)
class _Todo:
    turn_id: int
    item: Item
    round: int
    history: list[dict[str, str]]
    answer: str


async def unscored_todo(store: Store, sid: int) -> list[_Todo]:
    """Every unscored answer of the session's visible attempts, with the conversation before it."""
    items = {it.id: it for it in await queries.items(store, sid)}
    convs = await queries.conversation_ids(store, sid)
    turns = await queries.turns_of(store, [cid for cid, _, _ in convs])
    todo = []
    for cid, item_id, _target in convs:
        item = items[item_id]
        messages = item.prefix_messages()
        for t in turns.get(cid, []):
            if t.role == "user":
                messages.append({"role": "user", "content": t.content})
                continue
            if t.status == "done" and all(v.score is None for v in t.verdicts):
                todo.append(_Todo(t.id, item, t.round, list(messages), t.content))
            messages.append({"role": "assistant", "content": t.content})
    return todo


async def rejudge(store: Store, sid: int, *, config: Config | None = None,
                  progress: Callable[[int, int], None] | None = None) -> RejudgeResult:
    """Judge the session's unscored answers again; returns how many were tried and how many now score."""
    from scsafety_tui.providers.client import ModelClient, make_http_client
    from scsafety_tui.providers.retry import RetryPolicy

    stored = await queries.stored_session(store, sid)
    config = session_config(stored.config, config, judge_only=True)
    taxonomy = stored.taxonomy
    keys = {t.key: t.api_key(config.source) for t in config.judge.targets} if config.judge.mode == "model" else {}
    lock = await SessionLock.acquire(store, sid)
    try:
        todo = await unscored_todo(store, sid)
        if not todo:
            return RejudgeResult(sid, 0, 0)
        http = make_http_client(config.run.http_transport, allowed_hosts=[t.host() for t in config.judge.targets])
        try:
            policy = RetryPolicy(attempts=config.run.retries, max_retry_after=config.run.max_retry_wait_s)
            clients = [ModelClient(t, http, policy, keys[t.key]) for t in config.judge.targets] \
                if config.judge.mode == "model" else []
            judge = Judge(taxonomy, clients, retries=config.judge.retries)
            done = scored = 0

            async def one(job: _Todo) -> None:
                nonlocal done, scored
                result = await judge.score(category=job.item.category, sub_dimension=job.item.sub_dimension,
                                           history=job.history, answer=job.answer, round_=job.round)
                await store.add_verdicts(job.turn_id, list(result.verdicts), list(result.raws))
                done += 1
                scored += result.score is not None
                if progress is not None:
                    progress(done, len(todo))

            await asyncio.gather(*(one(job) for job in todo))
        finally:
            await http.aclose()
        return RejudgeResult(sid, len(todo), scored)
    finally:
        await lock.release()
