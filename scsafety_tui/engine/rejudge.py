"""Judging a saved session's answers again, without asking the models again.

Two modes, both under the session's lock (like a run, so a rejudge never races a runner):

- The run's own set (no judges named): the answers whose judges all failed (status 'done', no answer
  verdict with a score) are judged again with the session's stored judge (or a given config's [judge]);
  a judge key that had failed is replaced (Store.add_verdicts).
- A named verdict set (judges named: [[judge.targets]] keys or 'heuristic'): every finished answer is
  judged by those judges into the set `vset` on the same session, the run's verdicts untouched. A set
  made again is continued: only the judges that failed in it, or never got to an answer (an interrupted
  rejudge), run again.

Each answer's conversation is rebuilt from the store, as the run judged it: system prompt, context,
earlier questions and answers, never reasoning. Verdict sets hold answer verdicts only (a session's
reasoning verdicts stay in the run's set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scsafety_tui.config import Config, ConfigError
from scsafety_tui.engine.resume import session_config
from scsafety_tui.judge import Judge, JudgeResult
from scsafety_tui.questions import Item
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.store.lock import SessionLock
from scsafety_tui.taxonomy import Taxonomy

HEURISTIC = "heuristic"


@dataclass(frozen=True)
class RejudgeResult:
    session_id: int
    tried: int
    """Answers judged (again) by at least one judge."""
    scored: int
    """Of those, how many have a score now (in the set)."""
    vset: str = ""
    """The verdict set written ('' is the run's own)."""
    judges: tuple[str, ...] = ()

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
    judges: tuple[str, ...]
    """Judge keys to ask ('' : every judge of the run's config)."""
    kept: tuple[int, ...] = ()
    """Scores already in the set from judges not asked again."""


Pick = Callable[[queries.TurnRow], tuple[tuple[str, ...], tuple[int, ...]] | None]


async def _todo(store: Store, sid: int, vset: str, pick: Pick) -> list[_Todo]:
    """The session's finished answers (visible attempts) that pick() selects, with the conversation before
    each; pick sees the turn with its verdicts of set vset and returns (judges to ask, scores kept)."""
    items = {it.id: it for it in await queries.items(store, sid)}
    convs = await queries.conversation_ids(store, sid)
    turns = await queries.turns_of(store, [cid for cid, _, _ in convs], vset)
    todo = []
    for cid, item_id, _target in convs:
        item = items[item_id]
        messages = item.prefix_messages()
        for t in turns.get(cid, []):
            if t.role == "user":
                messages.append({"role": "user", "content": t.content})
                continue
            chosen = pick(t) if t.status == "done" else None
            if chosen is not None:
                todo.append(_Todo(t.id, item, t.round, list(messages), t.content, *chosen))
            messages.append({"role": "assistant", "content": t.content})
    return todo


async def unscored_todo(store: Store, sid: int) -> list[_Todo]:
    """Every unscored answer of the run's set (every judge failed), with the conversation before it."""
    return await _todo(store, sid, "", lambda t: ((), ()) if all(v.score is None for v in t.verdicts) else None)


def _refresh(keys: Sequence[str]) -> Pick:
    """A set's answers that lack a score from one of keys (the judge failed, or never ran on it)."""
    def pick(t: queries.TurnRow) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
        have = {v.judge: v.score for v in t.verdicts}
        missing = tuple(k for k in keys if have.get(k) is None)
        kept = tuple(s for k, s in have.items() if s is not None and k not in missing)
        return (missing, kept) if missing else None
    return pick


def default_set_name(keys: Sequence[str]) -> str:
    """The name of a set nobody named: its judges' keys, joined by '+'."""
    return "+".join(keys)


def judge_keys(value: Sequence[str], config: Config) -> tuple[str, ...]:
    """The judges asked for, checked against the config's [[judge.targets]] (and 'heuristic'): one line
    naming the config and the key for an unknown one."""
    keys = tuple(dict.fromkeys(k for k in value if k))
    if not keys:
        raise ConfigError("--judge: no judge key given (a [[judge.targets]] key, or 'heuristic')")
    known = [t.key for t in config.judge.targets]
    for key in keys:
        if key != HEURISTIC and key not in known:
            raise ConfigError(f"{config.source}: judge.targets: no judge target named {key!r} (judges there: "
                              f"{', '.join([*map(repr, known), repr(HEURISTIC)])})")
    return keys


async def rejudge(store: Store, sid: int, *, config: Config | None = None, judges: Sequence[str] = (),
                  vset: str | None = None, progress: Callable[[int, int], None] | None = None) -> RejudgeResult:
    """Judge the session's answers again (module docstring): with judges (or an existing vset), into the
    named set vset (default: named after the judges); without, the run's unscored answers."""
    stored = await queries.stored_session(store, sid)
    config = session_config(stored.config, config, judge_only=True)
    named = bool(judges) or bool(vset)
    keys: tuple[str, ...] = ()
    if named:
        existing = await queries.verdict_set(store, sid, vset) if vset else None
        if judges:
            keys = judge_keys(judges, config)
        elif existing is not None:
            keys = judge_keys(existing.judges, config)
        else:
            raise ConfigError(f"--set: session {sid} has no verdict set named {vset!r}; name its judges with"
                              " --judge to make it")
        vset = vset or default_set_name(keys)
        if existing is not None and judges and tuple(existing.judges) != keys:
            raise ConfigError(f"--set: verdict set {vset!r} of session {sid} was made with judges "
                              f"{', '.join(existing.judges)}; give those again, or another --set")
    else:
        vset = ""
    lock = await SessionLock.acquire(store, sid)
    try:
        if named:
            await store.save_verdict_set(sid, vset, list(keys))
            todo = await _todo(store, sid, vset, _refresh(keys))
        else:
            todo = await unscored_todo(store, sid)
        scored = await _judge_all(store, stored.taxonomy, config, keys, vset, todo, progress) if todo else 0
        return RejudgeResult(sid, len(todo), scored, vset, keys)
    finally:
        await lock.release()


async def _judge_all(store: Store, taxonomy: Taxonomy, config: Config, keys: tuple[str, ...], vset: str,
                     todo: list[_Todo], progress: Callable[[int, int], None] | None) -> int:
    """Ask each answer's judges, store the verdicts in vset; returns how many answers now score."""
    from scsafety_tui.providers.client import ModelClient, make_http_client
    from scsafety_tui.providers.retry import RetryPolicy

    targets = [t for t in config.judge.targets if t.key in keys] if keys else \
        (list(config.judge.targets) if config.judge.mode == "model" else [])
    http = make_http_client(config.run.http_transport, allowed_hosts=[t.host() for t in targets])
    try:
        policy = RetryPolicy(attempts=config.run.retries, max_retry_after=config.run.max_retry_wait_s)
        clients = {t.key: ModelClient(t, http, policy, t.api_key(config.source)) for t in targets}
        # as the run builds its judge: the config's rubric prompt file, guard kinds and their mapping
        run_judge = Judge.for_config(taxonomy, list(clients.values()), config.judge)
        # one Judge per key, so a continued set asks only the judges that failed in it ('heuristic': none)
        one_judge = {k: Judge.for_config(taxonomy, [clients[k]] if k in clients else [], config.judge)
                     for k in keys}
        done = scored = 0

        async def one(job: _Todo) -> None:
            nonlocal done, scored
            judges = [one_judge[k] for k in job.judges] if job.judges else [run_judge]
            results: list[JudgeResult] = await asyncio.gather(*(
                j.score(category=job.item.category, sub_dimension=job.item.sub_dimension, history=job.history,
                        answer=job.answer, round_=job.round) for j in judges))
            verdicts = [v for r in results for v in r.verdicts]
            raws = [raw for r in results for raw in r.raws]
            await store.add_verdicts(job.turn_id, verdicts, raws, vset=vset)
            done += 1
            scored += bool(job.kept) or any(v.score is not None for v in verdicts)
            if progress is not None:
                progress(done, len(todo))

        await asyncio.gather(*(one(job) for job in todo))
        return scored
    finally:
        await http.aclose()
