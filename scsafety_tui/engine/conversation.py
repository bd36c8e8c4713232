"""One bank item × one target: every round in one conversation, each answer judged as it completes.

Order per turn: user turn stored → TurnStarted → deltas stream → answer stored → TurnCompleted; the
judge then scores it in the background (the next round does not wait) → verdicts stored → VerdictReady.
The conversation ends only when its last verdict is stored. After the item's own turns, follow-ups come
from engine/follow_up.py (templates, or the attacker, which waits for the last round's verdict).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from scsafety_tui.cost import usage_or_estimate
from scsafety_tui.engine.attacker import Attacker
from scsafety_tui.engine.context import RunContext
from scsafety_tui.engine.follow_up import FollowUps
from scsafety_tui.events import (
    ConversationFinished,
    ConversationStarted,
    ReasoningDelta,
    ReasoningVerdictReady,
    TokenDelta,
    TurnCompleted,
    TurnFailed,
    TurnRetrying,
    TurnStarted,
    VerdictReady,
)
from scsafety_tui.follow_ups import FollowUp
from scsafety_tui.judge import Judge
from scsafety_tui.providers.base import Completion, ContentFiltered, ProviderError
from scsafety_tui.providers.contract import ChatClient
from scsafety_tui.providers.retry import RetryInfo
from scsafety_tui.questions import Item

log = logging.getLogger(__name__)


@dataclass
class Conversation:
    ctx: RunContext
    conv_id: int
    attempt: int
    item: Item
    client: ChatClient
    judge: Judge
    rounds: int
    attacker: Attacker | None = None
    follow_up: FollowUp | None = None
    """What the item gets after its own turns (stored with the conversation when the session was made)."""
    default_strategy: str = "crescendo"

    async def run(self) -> str:
        """Returns the final status: done | error | cancelled."""
        ctx, item, key = self.ctx, self.item, self.client.target.key
        await ctx.store.start_conversation(self.conv_id, self.attempt)
        ctx.emit(ConversationStarted(item.id, key, t=ctx.now()))
        judging: list[asyncio.Task[None]] = []
        status, error, stop, asked = "done", None, "max_rounds", 0
        try:
            messages = item.prefix_messages()
            for rnd in range(1, self.rounds + 1):
                await ctx.gate.wait()
                try:
                    ask = await self._follow_ups.ask(rnd, messages, self._verdict)
                except ProviderError as e:
                    status, error, stop = "error", f"attacker failed: {e.message}", "attacker_error"
                    break
                if ask.text is None:
                    stop = ask.stop
                    break
                messages.append({"role": "user", "content": ask.text})
                answer, error = await self._turn(rnd, ask.text, ask.origin, messages, ask.via)
                asked = rnd
                if answer is None:
                    status, stop = "done" if error is None else "error", "answer_ended"
                    break
                history = list(messages)
                messages.append({"role": "assistant", "content": answer})
                self._judging[rnd] = task = asyncio.create_task(self._judge(rnd, history, answer))
                judging.append(task)
            await asyncio.gather(*judging)
            shown = await self._stopped(stop, asked)
        except asyncio.CancelledError:
            for task in judging:
                task.cancel()
            await self._finish("cancelled", "cancelled")
            raise
        except BaseException:
            # a failed store (disk full) ends the run: leave no judge task behind to fail unobserved
            for task in judging:
                task.cancel()
            await asyncio.gather(*judging, return_exceptions=True)
            raise
        await self._finish(status, error, shown)
        return status

    async def _finish(self, status: str, error: str | None, stop: str = "") -> None:
        await self.ctx.store.finish_conversation(self.conv_id, self.attempt, status, error)
        self.ctx.counters.done += 1
        self.ctx.counters.errors += status == "error"
        self.ctx.emit(ConversationFinished(self.item.id, self.client.target.key, status, stop, t=self.ctx.now()))
        self.ctx.progress()

    async def _verdict(self, rnd: int) -> int | None:
        """Round rnd's answer score, once judged (None: no answer, or its judges all failed)."""
        task = self._judging.get(rnd)
        if task is not None:
            await task
        return self._scores.get(rnd)

    async def _stopped(self, stop: str, asked: int) -> str:
        """An attacked conversation's stop reason, stored; the text its lane shows ('' for no attacker)."""
        if not self._follow_ups.attacking:
            return ""
        reason, record, shown = self._follow_ups.finish(stop, asked, self._scores)
        await self.ctx.store.set_stop(self.conv_id, reason, record)
        return shown

    async def _turn(self, rnd: int, prompt: str, origin: str,
                    messages: list[dict[str, str]], via: str = "") -> tuple[str | None, str | None]:
        """Ask one round. Returns (answer, None), or (None, error) / (None, None) for a block."""
        ctx, item, key = self.ctx, self.item, self.client.target.key
        store = ctx.store
        await store.add_user_turn(self.conv_id, self.attempt, rnd, prompt, origin)
        ctx.emit(TurnStarted(item.id, key, rnd, prompt, origin, via, t=ctx.now()))
        turn_id = await store.start_answer(self.conv_id, self.attempt, rnd, time.time())
        await store.sync()
        chunks: list[str] = []
        thoughts: list[str] = []
        ctx.streaming[turn_id] = (chunks, thoughts)
        now, emit, counters, item_id = ctx.now, ctx.emit, ctx.counters, item.id

        def on_delta(text: str) -> None:
            chunks.append(text)
            counters.tokens += 1
            emit(TokenDelta(item_id, key, rnd, text, now()))

        def on_reasoning(text: str) -> None:
            thoughts.append(text)
            counters.tokens += 1
            emit(ReasoningDelta(item_id, key, rnd, text, now()))

        def on_retry(info: RetryInfo) -> None:
            chunks.clear()
            thoughts.clear()
            counters.retries += 1
            emit(TurnRetrying(item_id, key, rnd, info.attempt, info.error.message, info.delay, now()))

        try:
            c = await self.client.chat(messages, on_delta=on_delta, on_retry=on_retry, on_reasoning=on_reasoning)
        except asyncio.CancelledError:
            ctx.stop_streaming(turn_id)
            await store.finish_answer(turn_id, content="".join(chunks), reasoning="".join(thoughts),
                                      status="cancelled", error_kind="cancelled", error="cancelled by the user")
            raise
        except ProviderError as e:
            ctx.stop_streaming(turn_id)
            blocked = isinstance(e, ContentFiltered)
            got = e.completion if isinstance(e, ContentFiltered) else None
            partial = getattr(e, "partial_text", None) or "".join(chunks)
            reasoning = got.reasoning if got is not None else "".join(thoughts)
            status = "blocked" if blocked else "error"
            log.info("%s %s round %d %s: %s %r", key, item.id, rnd, status, e.kind, e.message)
            estimated = False
            billed: tuple[int | None, int | None] = (None, None)  # a block's counts: billed, shown in live cost
            if got is not None:  # a block by finish reason: what streamed before it, timings included
                estimated = await self._store(turn_id, got, messages, status, e.kind, e.message)
                billed = (got.tokens_in, got.tokens_out)
            else:
                await store.finish_answer(turn_id, content=partial, reasoning=reasoning, status=status,
                                          error_kind=e.kind, error=e.message)
            await store.sync()
            ctx.emit(TurnFailed(item.id, key, rnd, e.kind, e.message, partial, reasoning, *billed, estimated,
                                t=ctx.now()))
            return None, None if blocked else e.message
        ctx.stop_streaming(turn_id)
        if not c.text.strip():
            # Nothing to judge (reasoning used up max_tokens, or the model said nothing): never scored, and
            # the conversation ends as an error so --retry-errors asks again.
            why = f"empty answer (finish_reason {c.finish_reason or 'none'})"
            estimated = await self._store(turn_id, c, messages, "empty", "empty", why)
            await store.sync()
            ctx.emit(TurnFailed(item.id, key, rnd, "empty", why, c.text, c.reasoning, c.tokens_in, c.tokens_out,
                                estimated, t=ctx.now()))
            return None, f"round {rnd}: {why}"
        estimated = await self._store(turn_id, c, messages, "done")
        await store.sync()
        self._turn_ids[rnd] = turn_id
        ctx.emit(TurnCompleted(item.id, key, rnd, c.text, c.finish_reason, c.tokens_in, c.tokens_out,
                               c.reasoning, estimated, t=ctx.now()))
        self._reasoning[rnd] = c.reasoning
        return c.text, None

    async def _store(self, turn_id: int, c: Completion, messages: list[dict[str, str]], status: str,
                     kind: str | None = None, error: str | None = None) -> bool:
        """Store the answer; a count the server did not send is estimated from characters (and marked).
        Returns whether it was; the tokens are counted against [run] max_cost."""
        c.tokens_in, c.tokens_out, estimated = usage_or_estimate(c.tokens_in, c.tokens_out, messages,
                                                                 c.text + c.reasoning, self.client.target.max_tokens)
        await self.ctx.store.finish_answer(
            turn_id, content=c.text, reasoning=c.reasoning, status=status, finish_reason=c.finish_reason,
            error_kind=kind, error=error, started_at=c.started_at, first_token_at=c.first_token_at,
            finished_at=c.finished_at, tokens_in=c.tokens_in, tokens_out=c.tokens_out, chunks=c.chunks,
            tokens_estimated=estimated)
        self.ctx.spend(self.client.target, c.tokens_in, c.tokens_out)
        return estimated

    async def _judge(self, rnd: int, history: list[dict[str, str]], answer: str) -> None:
        """The answer's verdicts; with [judge] score_reasoning, the reasoning's too, stored apart."""
        reasoning = self._reasoning.get(rnd, "")
        if self.ctx.score_reasoning and reasoning.strip():
            await asyncio.gather(self._judge_part(rnd, history, answer, "answer"),
                                 self._judge_part(rnd, history, reasoning, "reasoning"))
        else:
            await self._judge_part(rnd, history, answer, "answer")

    async def _judge_part(self, rnd: int, history: list[dict[str, str]], text: str, part: str) -> None:
        item = self.item
        result = await self.judge.score(category=item.category, sub_dimension=item.sub_dimension,
                                        history=history, answer=text, round_=rnd)
        await self.ctx.store.add_verdicts(self._turn_ids[rnd], list(result.verdicts), list(result.raws),
                                          part=part)
        if part == "answer":
            self._scores[rnd] = result.score
        event = VerdictReady if part == "answer" else ReasoningVerdictReady
        self.ctx.emit(event(item.id, self.client.target.key, rnd, result.score, result.verdicts,
                            t=self.ctx.now()))

    def __post_init__(self) -> None:
        self._turn_ids: dict[int, int] = {}
        self._reasoning: dict[int, str] = {}
        self._judging: dict[int, asyncio.Task[None]] = {}
        self._scores: dict[int, int | None] = {}
        self._follow_ups = FollowUps(self.item, self.follow_up, self.attacker, self.rounds, self.default_strategy)
