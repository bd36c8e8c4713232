"""`scsafety-tui serve`: the app in a browser, through textual-serve.

Each browser that connects gets its own app process (`python -m scsafety_tui` on the same database and
config) drawn in an xterm.js terminal. Bound to loopback by default: the app shows model output (unsafe
answers included) and whoever connects can start runs that spend the config's API keys. There is no login
and no TLS, so any other host gets a loud warning; a tunnel (`ssh -L`) is the safer way to share it.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys

from scsafety_tui.commands.common import config_path, db_path, load_user_config
from scsafety_tui.errors import InputError
from scsafety_tui.textsafe import visible

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str:
    return (f"WARNING: serving on {host}:{port}, not loopback. Anyone who can reach this port sees every "
            "session's model output (unsafe answers included) and can start runs that spend the API keys in "
            "your environment. There is no login and no TLS. Prefer the default 127.0.0.1 with an SSH tunnel "
            f"(ssh -L {port}:127.0.0.1:{port} this-host).")


def app_command(args: argparse.Namespace) -> str:
    """The command textual-serve starts for each browser: this app on the same database and config."""
    config = load_user_config(args, required=False)
    cmd = [sys.executable, "-m", "scsafety_tui", "--db", db_path(args, config)]
    if config is not None:
        cmd += ["--config", str(config_path(args))]
    return shlex.join(cmd)


def _check_listen(host: str, port: int) -> None:
    """Bind the address as the server will (SO_REUSEADDR, as asyncio's server does) and let go: a port
    another process listens on, or a host that is no address of this machine, fails here."""
    import socket

    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, addr in infos:
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(addr)
    except OSError as e:
        raise InputError(f"--host/--port: cannot listen on {host}:{port}: {e.strerror or e}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    host, port = args.host, args.port
    if not 1 <= port <= 65535:
        raise InputError(f"--port: expected 1-65535, got {port}")
    if not host or any(c.isspace() for c in host):
        raise InputError(f"--host: expected a host name or address, got {host!r}")
    command = app_command(args)
    if not is_loopback(host):  # loud: bold red on a terminal, and before anything else is printed
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True).print(Text(visible(exposure_warning(host, port)), style="bold red"))
    _check_listen(host, port)  # before saying it serves: a taken port is one line, not a banner then an error
    from scsafety_tui.tui.launch import serve  # the one door from a command into the app's side

    url = args.public_url or f"http://{host}:{port}"
    print(f"scsafety-tui: serving the app on {visible(url)} (Ctrl+C stops)", flush=True)
    try:
        serve(command, host=host, port=port, public_url=args.public_url)
    except OSError as e:  # the port is taken, or the host is not an address of this machine
        raise InputError(f"--host/--port: cannot listen on {host}:{port}: {e.strerror or e}") from None
    return 0
