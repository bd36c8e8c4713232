"""Waiting on state, never on the clock: the one poll loop for tests outside a Textual pilot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

POLL_S = 0.01


async def until(cond: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Return once cond() is true; fail after a generous timeout (a hang, not a slow machine)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(POLL_S)


async def settle(turns: int = 5) -> None:
    """Let every ready task run a few steps (no time passes): for asserting that something did not happen."""
    for _ in range(turns):
        await asyncio.sleep(0)


def wait_for(cond: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    """until() for synchronous tests (another process does the work)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        time.sleep(POLL_S)
