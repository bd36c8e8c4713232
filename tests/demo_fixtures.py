"""Fixtures for the provider and demo-server tests. Load with ``pytest_plugins = ["demo_fixtures"]``;
don't import it (plain helpers are in conftest_providers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from scsafety_tui.demo.server import DemoServer
from scsafety_tui.providers.client import make_http_client


@pytest.fixture
async def demo() -> AsyncIterator[DemoServer]:
    """A demo server with zero delays on an ephemeral loopback port, in the test's loop."""
    server = DemoServer(first_token_delay=0.0, token_delay=0.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(params=["aiohttp", "httpx"])
async def http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The run's HTTP client, once per transport, allowed to reach loopback only."""
    async with make_http_client(request.param, allowed_hosts=["127.0.0.1"]) as client:
        yield client
