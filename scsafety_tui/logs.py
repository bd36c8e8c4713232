"""Logging goes to a file in the data dir, never over the terminal UI and never into the CLI's output.

Every module logs to its own logger (``logging.getLogger(__name__)``, children of ``scsafety_tui``); the
CLI calls setup_logging() once at start, which gives the package logger its one file handler. Before that
(or in library use) records are dropped: the package logger never propagates to the root logger, so
Python's last-resort handler never prints them on stderr.

What is logged, so "why did this run take an hour" has an answer: run start and finish with counts,
every retry (target, attempt, error, delay), judge failures (judge, error, an excerpt of unparseable
output), exceptions the code swallows on purpose (partial saves, lock heartbeats and releases, a demo
client that left), store write failures, TUI worker errors, and unhandled exceptions with traceback.
"""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path

from scsafety_tui.paths import log_file

log = logging.getLogger("scsafety_tui")  # set up in scsafety_tui/__init__.py: INFO, no propagation

class _FileHandler(logging.FileHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        """A log file that cannot be written loses the record; it never prints over the UI."""


def _file_handler() -> _FileHandler | None:
    return next((h for h in log.handlers if isinstance(h, _FileHandler)), None)


def log_path() -> Path | None:
    """Where records go now (None before setup_logging)."""
    handler = _file_handler()
    return Path(handler.baseFilename) if handler else None


def setup_logging(path: Path | None = None) -> Path:
    """Send the package's records to `path` (the data dir's log file by default); again with the same
    path does nothing. The file is created at the first record, so a command that logs nothing leaves none."""
    path = path or log_file()
    current = _file_handler()
    if current is not None:
        if current.baseFilename == os.path.abspath(path):
            return path
        log.removeHandler(current)
        current.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return path  # no data dir: records are dropped
    handler = _FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    return path


def log_exception(e: BaseException) -> Path:
    path = log_path() or setup_logging()
    log.error("unhandled %s\n%s", type(e).__name__, "".join(traceback.format_exception(e)))
    return path
