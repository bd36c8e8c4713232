"""The run's HTTP client, and ModelClient: a provider with its limits and the retry policy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

import httpx
from httpx_aiohttp import HttpxAiohttpClient

from scsafety_tui.config import TargetConfig
from scsafety_tui.providers.anthropic import AnthropicProvider
from scsafety_tui.providers.base import (
    CONNECT_TIMEOUT,
    ChatProvider,
    Completion,
    DeltaCallback,
    HostNotAllowed,
    Message,
    ProviderError,
)
from scsafety_tui.providers.openai_compat import OpenAICompatProvider
from scsafety_tui.providers.retry import RateLimiter, RetryInfo, RetryPolicy
from scsafety_tui.redact import Redactor

log = logging.getLogger(__name__)

_PROVIDERS: dict[str, type[ChatProvider]] = {"openai": OpenAICompatProvider, "anthropic": AnthropicProvider}


def make_provider(target: TargetConfig, http: httpx.AsyncClient, api_key: str | None) -> ChatProvider:
    try:
        cls = _PROVIDERS[target.provider]
    except KeyError:
        raise ValueError(f"unknown provider {target.provider!r} (have: {', '.join(_PROVIDERS)})") from None
    return cls(target, http, api_key)


def _host_check(allowed_hosts: Iterable[str]) -> Callable[[httpx.Request], object]:
    """A request hook refusing any host not named: entries are "host" (any port) or "host:port"."""
    names: set[str] = set()
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        parts = urlsplit(entry if "//" in entry else f"//{entry}")
        if parts.hostname:
            names.add(f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname)

    async def check(request: httpx.Request) -> None:
        url = request.url
        host = url.host.lower()
        if host in names or f"{host}:{url.port or _default_port(url.scheme)}" in names:
            return
        raise HostNotAllowed(f"refused to contact {url.scheme}://{url.netloc.decode()}: "
                             "not a host named in the config")

    return check


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def make_http_client(transport: str = "aiohttp", *, allowed_hosts: Iterable[str], read_timeout: float = 120.0,
                     max_connections: int = 256) -> httpx.AsyncClient:
    """One client per run. Providers pass their target's timeouts per request; these are the defaults.

    trust_env is off: proxies and .netrc from the environment would reach hosts the config did not name.
    """
    classes: dict[str, type[httpx.AsyncClient]] = {"aiohttp": HttpxAiohttpClient, "httpx": httpx.AsyncClient}
    if transport not in classes:
        raise ValueError(f"unknown HTTP transport {transport!r} (expected 'aiohttp' or 'httpx')")
    return classes[transport](
        timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        event_hooks={"request": [_host_check(allowed_hosts)]},
        follow_redirects=False,
        trust_env=False,
    )


def scrub_error(e: ProviderError, redact: Redactor) -> None:
    """Known secrets out of an error's message, in place (its type and retry data stay)."""
    e.message = redact(e.message)
    e.args = (e.message,)


class ModelClient:
    """Provider + per-target concurrency semaphore + optional requests-per-minute limiter + retry policy."""

    def __init__(self, target: TargetConfig, http: httpx.AsyncClient, policy: RetryPolicy,
                 api_key: str | None) -> None:
        self.target = target
        self.policy = policy
        self.provider = make_provider(target, http, api_key)
        # errors may echo the key or a header back: scrubbed before the retry policy, the store or a UI
        self.redact = Redactor.for_target(target, api_key)
        self._slots = asyncio.Semaphore(target.concurrency)
        self._rate = (RateLimiter(target.requests_per_minute, clock=policy.clock, sleep=policy.sleep)
                      if target.requests_per_minute > 0 else None)

    async def chat(self, messages: Sequence[Message], on_delta: DeltaCallback | None = None,
                   on_retry: Callable[[RetryInfo], None] | None = None,
                   on_reasoning: DeltaCallback | None = None) -> Completion:
        """One answer, retried per the policy; raises the last ProviderError.

        The concurrency slot is held through the retry waits: a struggling target gets less traffic,
        not the same amount from other conversations. Every attempt takes its own rate slot.
        """
        async def attempt() -> Completion:
            if self._rate is not None:
                await self._rate.acquire()
            try:
                return await self.provider.stream_chat(messages, on_delta, on_reasoning)
            except ProviderError as e:
                scrub_error(e, self.redact)
                raise

        def retrying(info: RetryInfo) -> None:
            # the message is scrubbed already; %r keeps a server's text on one inert line
            log.info("retry %s: attempt %d of %d failed, next in %.2f s: %s %r", self.target.key, info.attempt,
                     self.policy.attempts, info.delay, type(info.error).__name__, info.error.message)
            if on_retry is not None:
                on_retry(info)

        async with self._slots:
            return await self.policy.run(attempt, retrying)
