"""One runner per session: a lock in the session row that other processes respect.

The holder writes a random token, its pid and host, and a heartbeat every few seconds. Another process
may take the lock over only when it is stale: the holder's pid is gone (same host), or its heartbeat is
older than STALE_S (any host, e.g. a database on a shared disk). Taking over is a compare-and-swap on the
old token, so two processes that both see a stale lock cannot both win. A holder whose heartbeat finds
its token gone (it was suspended so long that another process took over) stops its run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from scsafety_tui.errors import InputError
from scsafety_tui.store.db import Store

log = logging.getLogger(__name__)

BEAT_S = 5.0
STALE_S = 60.0
_HELD: set[str] = set()
"""Tokens of the locks this process holds now."""


class SessionLocked(InputError):
    """Another live process is running this session."""


@dataclass(frozen=True, slots=True)
class LockInfo:
    token: str | None
    pid: int | None
    host: str | None
    since: float | None
    beat: float | None

    def stale(self, now: float, host: str) -> bool:
        if self.token is None:
            return True
        if self.host == host and self.pid == os.getpid():
            return self.token not in _HELD  # this process's own lock that a failed disk kept from release
        if self.host == host and self.pid is not None and not _alive(self.pid):
            return True
        return self.beat is None or now - self.beat > STALE_S


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, but alive
        return True
    return True


def _host() -> str:
    return socket.gethostname()


async def read_lock(store: Store, sid: int) -> LockInfo:
    rows = await store.fetchall("SELECT lock_token, lock_pid, lock_host, lock_at, lock_beat FROM session"
                                " WHERE id = ?", (sid,))
    return LockInfo(*rows[0]) if rows else LockInfo(None, None, None, None, None)


def describe(sid: int, info: LockInfo, now: float) -> str:
    since = time.strftime("%H:%M:%S", time.localtime(info.since)) if info.since else "?"
    seen = f"{now - info.beat:.0f} s ago" if info.beat else "never"
    who = "this process" if info.pid == os.getpid() and info.host == _host() else f"pid {info.pid}"
    return (f"session {sid} is being run by {who} on {info.host} (since {since}, last heartbeat {seen});"
            " wait for it to finish or stop it first")


class SessionLock:
    """A held lock; `beating()` keeps it fresh for the length of a run, `release()` lets it go."""

    def __init__(self, store: Store, sid: int, token: str) -> None:
        self.store = store
        self.sid = sid
        self.token = token
        self.lost = False

    @classmethod
    async def acquire(cls, store: Store, sid: int) -> SessionLock:
        """Take the lock, or raise SessionLocked naming its live holder."""
        host, token = _host(), secrets.token_hex(8)
        info = await read_lock(store, sid)
        now = time.time()
        if not info.stale(now, host):
            raise SessionLocked(describe(sid, info, now))
        await store.sync()  # the swap below commits on its own
        taken = await store.swap(
            "UPDATE session SET lock_token = ?, lock_pid = ?, lock_host = ?, lock_at = ?, lock_beat = ?"
            " WHERE id = ? AND lock_token IS ?", (token, os.getpid(), host, now, now, sid, info.token))
        if not taken:  # another process swapped first
            info = await read_lock(store, sid)
            raise SessionLocked(describe(sid, info, time.time()))
        _HELD.add(token)
        return cls(store, sid, token)

    async def beat(self) -> bool:
        """Refresh the heartbeat; False when the lock was taken over."""
        ok = await self.store.swap("UPDATE session SET lock_beat = ? WHERE id = ? AND lock_token = ?",
                                   (time.time(), self.sid, self.token))
        self.lost = self.lost or not ok
        return ok

    @contextlib.asynccontextmanager
    async def beating(self, on_lost: Callable[[], None]) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(BEAT_S)
                try:
                    ok = await self.beat()
                except Exception as e:  # a failing disk is the run's problem to report, not the heartbeat's
                    log.warning("session %d: lock heartbeat failed: %s: %s", self.sid, type(e).__name__, e)
                    continue
                if not ok:
                    log.warning("session %d: the lock was taken over by another process; stopping", self.sid)
                    on_lost()
                    return

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def release(self) -> None:
        """Let go; a failure here (disk full) leaves a lock that is stale once this process no longer
        holds it (and once the process is gone)."""
        _HELD.discard(self.token)
        try:
            await self.store.swap("UPDATE session SET lock_token = NULL, lock_pid = NULL, lock_host = NULL,"
                                  " lock_at = NULL, lock_beat = NULL WHERE id = ? AND lock_token = ?",
                                  (self.sid, self.token))
        except Exception as e:
            log.warning("session %d: lock release failed (stale once this process ends): %s: %s", self.sid,
                        type(e).__name__, e)
