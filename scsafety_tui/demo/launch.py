"""Running the demo server outside a caller's event loop: in a background thread, or in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from scsafety_tui.demo.personas import ALL_MODELS
from scsafety_tui.demo.server import DemoServer


class DemoServerThread:
    """A DemoServer on its own event loop in a daemon thread; `with DemoServerThread() as s: s.url`."""

    def __init__(self, port: int = 0, **options: Any) -> None:
        self.server = DemoServer(port, **options)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="scsafety-demo-server", daemon=True)
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.server.start(), loop).result(timeout=10)
        return self.url

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> DemoServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_forever(port: int = 8765, *, first_token_delay: float = 0.3, token_delay: float = 0.03, seed: int = 0,
                announce: Callable[[str], None] = print) -> None:
    """Serve until Ctrl+C. The first line announced is the base URL alone, for scripts to read."""

    async def serve() -> None:
        server = DemoServer(port, first_token_delay=first_token_delay, token_delay=token_delay, seed=seed)
        url = await server.start()
        announce(url)
        announce(f"models: {', '.join(ALL_MODELS)}  (Ctrl+C to stop)")
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
