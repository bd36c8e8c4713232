"""`scsafety-tui serve`: the real app through textual-serve, in a real headless Chromium.

The page's terminal (xterm.js) draws on a canvas, so the test reads what the app sent: a script added
before the page's own wraps its WebSocket and keeps every byte received (the app's terminal output) and
every message sent (the keys). The home screen must arrive, a key typed into the page must reach the app
(`o` opens the sessions screen), and the screen must change.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from chromium import Chromium, find_chromium
from waiting import wait_for

from scsafety_tui.cli import main
from scsafety_tui.commands.serve import exposure_warning, is_loopback

CHROMIUM = find_chromium()
TIMEOUT = 120.0
"""Generous: the served app is a second Python process starting Textual on a loaded machine."""

CAPTURE = r"""
(() => {
  const Native = window.WebSocket, decoder = new TextDecoder();
  window.__screen = ""; window.__sent = [];
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") window.__screen += decoder.decode(new Uint8Array(e.data), {stream: true});
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => { window.__sent.push(data); return send(data); };
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|[=>78])")
FONTS = ["*://fonts.googleapis.com/*", "*://fonts.gstatic.com/*"]
"""textual-serve's page links a Google font; the test blocks it (no request leaves the machine)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def _serve(tmp_path, port: int) -> Iterator[subprocess.Popen]:
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "scsafety_tui", "serve", "--port", str(port),
                             "--db", str(tmp_path / "served.db")], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _listening(port) or proc.poll() is not None, TIMEOUT, "serve to listen")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        yield proc
    finally:
        proc.terminate()  # textual-serve stops its app processes as it shuts down
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
        log.close()


def _text(page) -> str:
    return _ESCAPES.sub("", page.evaluate("window.__screen") or "")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian package `chromium`; .ci/run installs it)")
def test_the_app_in_a_browser_renders_home_and_takes_keys(tmp_path):
    port = _free_port()
    with _serve(tmp_path, port), Chromium.start(tmp_path) as browser:
        page = browser.new_page(1400, 900)
        page.send("Network.setBlockedURLs", {"urls": FONTS})
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE})
        page.navigate(f"http://127.0.0.1:{port}/")
        wait_for(lambda: "SuperCLUE-Safety" in _text(page) and "sessions" in _text(page), TIMEOUT,
                 "the home screen in the browser")
        assert "sorted by" not in _text(page)
        page.screenshot(tmp_path / "serve-home.png", full_page=False)

        page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "o", "code": "KeyO", "text": "o",
                                             "windowsVirtualKeyCode": 79})
        page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "o", "code": "KeyO",
                                             "windowsVirtualKeyCode": 79})
        wait_for(lambda: '["stdin","o"]' in (page.evaluate("window.__sent.join('\\n')") or ""), TIMEOUT,
                 "the key to go out on the websocket")
        # the sessions screen's table title: drawn by the app only after the key reached it
        wait_for(lambda: "sorted by" in _text(page), TIMEOUT, "the sessions screen after the key")
        page.screenshot(tmp_path / "serve-sessions.png", full_page=False)
        local = [u for u in page.requests() if not re.match(r"(https?|wss?)://127\.0\.0\.1:", u)]
        assert all(any(host in u for host in ("fonts.googleapis.com", "fonts.gstatic.com")) for u in local), local


def test_loopback_is_the_default_and_any_other_host_is_warned_about(capsys):
    from scsafety_tui.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))
    warning = exposure_warning("0.0.0.0", 8000)
    assert warning.startswith("WARNING: serving on 0.0.0.0:8000, not loopback")
    assert "model output" in warning and "start runs" in warning and "no login" in warning


@pytest.mark.parametrize(("argv", "message"), [
    (["serve", "--port", "0"], "scsafety-tui: --port: expected 1-65535, got 0"),
    (["serve", "--port", "70000"], "scsafety-tui: --port: expected 1-65535, got 70000"),
    (["serve", "--host", "bad host"], "scsafety-tui: --host: expected a host name or address"),
])
def test_bad_serve_options_are_one_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_a_taken_port_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "scsafety_tui", "serve", "--port", str(port), "--db",
                               str(tmp_path / "x.db")], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2
    assert f"scsafety-tui: --host/--port: cannot listen on 127.0.0.1:{port}: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_another_host_is_warned_about_before_anything_listens(tmp_path):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning comes, then the bind fails
    proc = subprocess.run([sys.executable, "-m", "scsafety_tui", "serve", "--host", "192.0.2.1", "--port",
                           str(_free_port()), "--db", str(tmp_path / "x.db")], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.stderr.startswith("WARNING: serving on 192.0.2.1:")
    assert "model output" in proc.stderr and "no login" in proc.stderr
    assert proc.returncode == 2 and "cannot listen on 192.0.2.1:" in proc.stderr
