"""Shared fixtures. No test reaches the network: an audit hook refuses any non-loopback connection."""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

_ALLOWED_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and socketpair
    if host in _ALLOWED_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _no_network(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    elif event == "socket.getaddrinfo" and not _is_loopback(args[0]):
        raise ConnectionRefusedError(f"tests may not resolve {args[0]!r}")


sys.addaudithook(_no_network)

# Logs and default paths of the code under test go to directories of this test run, never the developer's
# data dir (even when XDG_DATA_HOME is set) nor another test run's.
for _var, _prefix in (("XDG_DATA_HOME", "scsafety-tests-data-"), ("XDG_CONFIG_HOME", "scsafety-tests-config-")):
    os.environ[_var] = tempfile.mkdtemp(prefix=_prefix)
    atexit.register(shutil.rmtree, os.environ[_var], ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_terminal_size_in_env():
    """Each test starts without COLUMNS/LINES in the environment: something in a Textual test leaves them
    set in the process, and the CLI rightly honours an exported COLUMNS, so piped output read by a later
    test in the same process (capsys) would be laid out for 80 columns depending on test order."""
    saved = {k: os.environ.pop(k) for k in ("COLUMNS", "LINES") if k in os.environ}
    yield
    for k in ("COLUMNS", "LINES"):
        os.environ.pop(k, None)
    os.environ.update(saved)


@pytest.fixture
def db_file(tmp_path):
    return str(tmp_path / "sessions.db")


async def _demo_server(token_delay: float):
    from scsafety_tui.demo.server import DemoServer

    server = DemoServer(first_token_delay=0.0, token_delay=token_delay)
    url = await server.start()
    try:
        yield url
    finally:
        await server.stop()


@pytest.fixture
async def demo_url():
    """A demo server on an ephemeral loopback port, zero delays, in the test's event loop."""
    async for url in _demo_server(0.0):
        yield url


@pytest.fixture
async def slow_url():
    """The demo server with small token delays, so streaming and pausing can be observed."""
    async for url in _demo_server(0.004):
        yield url


@pytest.fixture
def demo_thread_url():
    """A demo server in a background thread, for synchronous tests that call the CLI (its own loop)."""
    from scsafety_tui.demo import DemoServerThread

    with DemoServerThread(first_token_delay=0.0, token_delay=0.0) as server:
        yield server.url


@contextlib.contextmanager
def demo_server_in_process(speed: str) -> Iterator[str]:
    """The demo server in its own process (so a client process can be killed beside it); yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "scsafety_tui", "demo-server", "--speed", speed],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip() if proc.stdout else ""
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def demo_server_process():
    """A fast demo server process."""
    with demo_server_in_process("fast") as url:
        yield url


@pytest.fixture
def slow_demo_server():
    """A demo server process slow enough that a run lasts while another process tries it."""
    with demo_server_in_process("realistic") as url:
        yield url

