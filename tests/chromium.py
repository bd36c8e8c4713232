"""A real headless Chromium driven over the Chrome DevTools Protocol on --remote-debugging-pipe.

No websocket and no port: Chromium reads commands from its fd 3 and writes replies and events to its fd 4,
each message one JSON object ended by a NUL byte. Enough of CDP for the browser tests: open a page, watch
every request it makes (Network domain), evaluate JavaScript, click, take a PNG screenshot.

    with Chromium.start(tmp_path) as browser:
        page = browser.new_page(1400, 900)
        page.navigate(url)
        assert page.evaluate("document.title") == ...

`find_chromium()` is None when no binary is installed (Debian's package `chromium`; .ci/run installs it).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from waiting import wait_for

BINARIES = ("chromium", "chromium-browser", "google-chrome", "chrome")
TIMEOUT = 60.0
"""Generous: nine people share two cores; a wait returns as soon as its condition holds."""
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-pipe")


def find_chromium() -> str | None:
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


def _high(fd: int) -> int:
    """The fd moved to 10 or above, so dup2 onto 3 and 4 in the child never hits itself."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Chromium:
    def __init__(self, pid: int, to_browser: int, from_browser: int, log: Path) -> None:
        self.pid, self.log = pid, log
        self._out, self._in = to_browser, from_browser
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    @contextlib.contextmanager
    def start(cls, workdir: Path, binary: str | None = None) -> Iterator[Chromium]:
        binary = binary or find_chromium()
        assert binary, "no chromium binary"
        cmd_r, cmd_w = (_high(fd) for fd in os.pipe())
        ev_r, ev_w = (_high(fd) for fd in os.pipe())
        log = workdir / "chromium.log"
        profile = workdir / "chromium-profile"
        profile.mkdir(exist_ok=True)
        actions = [(os.POSIX_SPAWN_DUP2, cmd_r, 3), (os.POSIX_SPAWN_DUP2, ev_w, 4),
                   (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        pid = os.posix_spawn(binary, [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                             os.environ, file_actions=actions, setsid=True)
        os.close(cmd_r)
        os.close(ev_w)
        browser = cls(pid, cmd_w, ev_r, log)
        try:
            browser.send("Browser.getVersion")
            yield browser
        finally:
            browser.close()

    # ------------------------------------------------------------ the pipe

    def _read(self) -> None:
        buf = b""
        while chunk := os.read(self._in, 1 << 16):
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for raw in messages:
                msg = json.loads(raw)
                with self._lock:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        with self._lock:
            self._next += 1
            mid = self._next
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        wait_for(lambda: mid in self._replies or not self._reader.is_alive(), TIMEOUT, f"CDP reply to {method}")
        reply = self._replies.pop(mid, None)
        assert reply is not None, f"chromium closed the pipe during {method}; see {self.log}"
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None,
                   where: Callable[[dict[str, Any]], bool] = lambda p: True) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            with self._lock:
                return next((e["params"] for e in self.events if e["method"] == method
                             and e.get("sessionId") == session and where(e["params"])), None)

        wait_for(lambda: found() is not None, TIMEOUT, f"CDP event {method}")
        event = found()
        assert event is not None
        return event

    def new_page(self, width: int = 1400, height: int = 900) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False})
        return page

    def _reaped(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) != (0, 0)
        except ChildProcessError:
            return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            wait_for(self._reaped, TIMEOUT, "chromium to exit")
        except AssertionError:  # it did not close: end its whole process group (it started one: setsid)
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        os.close(self._out)
        os.close(self._in)


class Page:
    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def events(self, method: str) -> list[dict[str, Any]]:
        with self.browser._lock:
            return [e["params"] for e in self.browser.events
                    if e["method"] == method and e.get("sessionId") == self.session]

    def requests(self) -> list[str]:
        """Every URL the page asked for (the document itself included), as the Network domain saw them."""
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def navigate(self, url: str) -> None:
        frame = self.send("Page.navigate", {"url": url})
        assert not frame.get("errorText"), frame
        self.browser.wait_event("Page.loadEventFired", self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> None:
        wait_for(lambda: self.evaluate(expression), TIMEOUT, what)

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000),
                                "scale": 1}}
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path
