"""What every screen with workers shares: the one place worker errors become notifications.

Worker.StateChanged does not bubble, so the handler lives on the screens that own workers.
"""

from __future__ import annotations

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState


class WorkerScreen(Screen[None]):
    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            # the error may quote a server or a name: shown literally, never as markup
            self.notify(f"{event.worker.description} failed: {error}", severity="error", timeout=10,
                        markup=False)
