"""The runner's emit callback: token deltas are buffered per turn, every other event becomes a message.

The engine calls emit() on the app's event loop. A TokenDelta only appends to a list (no message, no
render); the run screen reads the buffers on its flush timer. Buffers hold each streaming turn's whole text
so far, so a flush that runs before the TurnStarted message is handled loses nothing. It is the Sink of
the screen's event source (tui/sources/): ended() queues RunEnded behind the source's last event.
"""

from __future__ import annotations

from collections import Counter

from textual.message_pump import MessagePump

from scsafety_tui.events import ConversationFinished, Event, ReasoningDelta, TokenDelta, TurnRetrying
from scsafety_tui.tui.messages import EngineEvent, RunEnded

ConvKey = tuple[str, str]  # (item id, target key)


class EventBridge:
    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self.reset()

    def reset(self) -> None:
        """Nothing received yet (a replay that starts again)."""
        self.streams: dict[ConvKey, dict[int, list[str]]] = {}
        self.thoughts: dict[ConvKey, dict[int, list[str]]] = {}
        """Reasoning streamed so far, per turn, apart from the answer."""
        self.tokens: Counter[str] = Counter()
        """Deltas received per target in this app session (for lane token rates)."""
        self.dirty: set[ConvKey] = set()
        """Conversations that received text since the last flush."""
        self.first_at: dict[tuple[str, str, int], float] = {}
        """(item, target, round) → event time of the turn's first delta (answer or reasoning), for TTFT."""

    def __call__(self, event: Event) -> None:
        if type(event) is TokenDelta:
            key = (event.item_id, event.target)
            turns = self.streams.get(key)
            if turns is None:
                turns = self.streams[key] = {}
            chunks = turns.get(event.round)
            if chunks is None:
                chunks = turns[event.round] = []
                self.first_at.setdefault((event.item_id, event.target, event.round), event.t)
            chunks.append(event.text)
            self.tokens[event.target] += 1
            self.dirty.add(key)
            return
        if type(event) is ReasoningDelta:
            key = (event.item_id, event.target)
            self.thoughts.setdefault(key, {}).setdefault(event.round, []).append(event.text)
            self.first_at.setdefault((event.item_id, event.target, event.round), event.t)
            self.tokens[event.target] += 1
            self.dirty.add(key)
            return
        if type(event) is TurnRetrying:  # the answer restarts: drop what streamed so far, now
            self.streams.get((event.item_id, event.target), {}).pop(event.round, None)
            self.thoughts.get((event.item_id, event.target), {}).pop(event.round, None)
            self.first_at.pop((event.item_id, event.target, event.round), None)
            self.dirty.add((event.item_id, event.target))
        self.target.post_message(EngineEvent(event))

    def ended(self, status: str) -> None:
        self.target.post_message(RunEnded(status))

    def text(self, key: ConvKey, rnd: int) -> str:
        chunks = self.streams.get(key, {}).get(rnd)
        return "".join(chunks) if chunks else ""

    def reasoning(self, key: ConvKey, rnd: int) -> str:
        chunks = self.thoughts.get(key, {}).get(rnd)
        return "".join(chunks) if chunks else ""

    def streamed(self, key: ConvKey, rnd: int) -> int:
        """Deltas the turn has streamed (answer and reasoning)."""
        return len(self.streams.get(key, {}).get(rnd, ())) + len(self.thoughts.get(key, {}).get(rnd, ()))

    def end_turn(self, key: ConvKey, rnd: int) -> None:
        self.first_at.pop((*key, rnd), None)
        self.streams.get(key, {}).pop(rnd, None)
        self.thoughts.get(key, {}).pop(rnd, None)

    def end_conversation(self, event: ConversationFinished) -> None:
        self.streams.pop((event.item_id, event.target), None)
        self.thoughts.pop((event.item_id, event.target), None)

