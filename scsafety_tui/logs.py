"""Logging goes to a file in the data dir, never over the terminal UI."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from scsafety_tui.paths import log_file

log = logging.getLogger("scsafety_tui")


def setup_logging(path: Path | None = None) -> Path:
    path = path or log_file()
    if not log.handlers:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            handler = logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return path


def log_exception(e: BaseException) -> Path:
    path = setup_logging()
    log.error("unhandled %s\n%s", type(e).__name__, "".join(traceback.format_exception(e)))
    return path
