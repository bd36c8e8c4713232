"""Where a run screen's engine events come from: one interface, a live run and a stored session behind it.

The run screen is written against EventSource: start / pause / resume / cancel / set_speed, and what the
source can do (can_speed, can_retry, writes). LiveSource (live.py) prepares and runs the engine;
StoredSource (stored.py) re-emits a saved session with its original timing on a ReplayClock. Either
delivers engine events, in order, to one Sink (the screen's EventBridge) and then, once, the status it
ended with. A source runs as a worker of the screen it is attached to, every worker option declared, so
its errors reach that screen's one Worker.StateChanged handler (screens/base.py). (`@work` cannot be
used here: it decorates methods of the DOM node that owns the worker, and a source is not one.)
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from scsafety_tui.events import Event


class Sink(Protocol):
    """Where a source's events go: the screen's EventBridge."""

    def __call__(self, event: Event) -> None: ...

    def ended(self, status: str) -> None:
        """The source has stopped, after its last event: done | cancelled | interrupted | failed."""


class EventSource(ABC):
    can_speed: ClassVar[bool] = False
    """set_speed() changes how fast events come (a replay); a live run goes at the models' pace."""
    can_retry: ClassVar[bool] = False
    """start(retry_errors=True) reruns the session's errored conversations (a live run)."""
    writes: ClassVar[bool] = False
    """It writes the session (a live run): the screen starts from, and ends with, what the store holds, and
    stopping it is asked first. A source that writes nothing re-emits what the store holds (a replay): the
    screen starts from nothing, the events draw everything, and it is stopped or started again freely."""

    def __init__(self, *, group: str, description: str) -> None:
        self.group = group
        self.description = description
        """What an error notification calls the source ("Replay failed: …")."""
        self._host: DOMNode | None = None
        self._sink: Sink | None = None
        self._worker: Worker[str] | None = None

    def attach(self, host: DOMNode, sink: Sink) -> None:
        """Run as host's worker (its Worker.StateChanged handler hears of errors) and deliver to sink."""
        self._host, self._sink = host, sink

    def start(self, *, retry_errors: bool = False) -> None:
        """Begin delivering events; a source that writes nothing begins at the session's first event again."""
        if self._host is None or self._sink is None:
            raise RuntimeError("attach() the source to a screen before starting it")
        if retry_errors and not self.can_retry:
            raise ValueError(f"{type(self).__name__} cannot retry errored conversations")
        self._worker = self._host.run_worker(self._run(self._sink, retry_errors), group=self.group,
                                             description=self.description, exclusive=True, exit_on_error=False)

    async def _run(self, sink: Sink, retry_errors: bool) -> str:
        status = "failed"  # an exception goes on to the host's Worker.StateChanged handler as a notification
        try:
            status = await self._deliver(sink, retry_errors)
            return status
        except asyncio.CancelledError:  # the screen or the app is closing under it, or a replay was cancelled
            status = "interrupted" if self.writes else "cancelled"
            raise
        finally:
            sink.ended(status)  # after the last event: the screen's queue keeps them in order

    @abstractmethod
    async def _deliver(self, sink: Sink, retry_errors: bool) -> str:
        """Emit every event to sink; return the status the source ended with."""

    @property
    def running(self) -> bool:
        """Started and not yet ended."""
        return self._worker is not None and self._worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    @property
    @abstractmethod
    def ready(self) -> bool:
        """pause() and resume() act now (a live run: once it is prepared)."""

    @property
    @abstractmethod
    def paused(self) -> bool: ...

    @abstractmethod
    def pause(self) -> None: ...

    @abstractmethod
    def resume(self) -> None: ...

    @abstractmethod
    def cancel(self, *, interrupt: bool = False) -> None:
        """Stop. interrupt: the user is leaving, so a live session is left interrupted, not cancelled."""

    @property
    def speed(self) -> float | None:
        """Session seconds per second (None: instant); a live run's is always 1."""
        return 1.0

    @abstractmethod
    def set_speed(self, speed: float | None) -> None:
        """Where can_speed, change the speed; elsewhere nothing happens (the screen offers no speed keys)."""

    @property
    def label(self) -> str:
        """What the status bar says about the source: "" for a live run, "replay ×2" for a replay."""
        return ""
