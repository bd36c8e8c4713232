"""What every screen with workers shares: the one place worker errors become notifications (and log lines).

Worker.StateChanged does not bubble, so the handler lives on the screens that own workers.
"""

from __future__ import annotations

import logging

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState

log = logging.getLogger(__name__)


class WorkerScreen(Screen[None]):
    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.error("%s failed on %s", event.worker.description, type(self).__name__,
                      exc_info=error if isinstance(error, BaseException) else None)
            # the error may quote a server or a name: shown literally, never as markup
            self.notify(f"{event.worker.description} failed: {error}", severity="error", timeout=10,
                        markup=False)
