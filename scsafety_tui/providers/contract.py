"""What the engine and the judge need of a model client: the one seam between them and providers/.

`client.ModelClient` (provider + limits + retry policy) is the implementation; the conversation, runner,
attacker, judge and rejudge are written against this protocol, so a type checker holds them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers.base import Completion, DeltaCallback, Message
from scsafety_tui.providers.retry import RetryInfo

RetryCallback = Callable[[RetryInfo], None]


class ChatClient(Protocol):
    """One target's chat: one answer per call, retried per the client's policy."""

    target: TargetConfig

    async def chat(self, messages: Sequence[Message], on_delta: DeltaCallback | None = None,
                   on_retry: RetryCallback | None = None,
                   on_reasoning: DeltaCallback | None = None) -> Completion:
        """One answer; raises the last ProviderError once retries are spent.

        on_delta gets answer text as it arrives, on_reasoning the reasoning text, on_retry each retry
        before its wait (the deltas so far belong to the failed attempt).
        """
        ...
