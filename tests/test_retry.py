"""The retry policy and rate limiter with injected time, and ModelClient against the demo server."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from conftest_providers import QUESTION_ZH, target

from scsafety_tui.demo.personas import answer
from scsafety_tui.providers import (
    AuthError,
    BadRequest,
    ContentFiltered,
    MalformedStream,
    ModelClient,
    RateLimited,
    RateLimiter,
    RetryInfo,
    RetryPolicy,
    TransientError,
)

pytest_plugins = ["demo_fixtures"]


class FakeTime:
    """A clock that only moves when someone sleeps; every sleep is recorded."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def policy(fake: FakeTime, **options) -> RetryPolicy:
    return RetryPolicy(sleep=fake.sleep, clock=fake.clock, rng=random.Random(1), **options)


# ------------------------------------------------------------ the policy alone

def test_retry_after_is_obeyed_and_capped():
    p = RetryPolicy(max_retry_after=30)
    assert p.delay_for(1, RateLimited("x", retry_after=7.5)) == 7.5
    assert p.delay_for(3, RateLimited("x", retry_after=600)) == 30


def test_retry_after_http_date_is_measured_with_the_policy_clock():
    fake = FakeTime()
    p = policy(fake, max_retry_after=60)
    assert p.delay_for(1, RateLimited("x", retry_after=99, retry_at=fake.now + 12)) == 12
    assert p.delay_for(1, RateLimited("x", retry_at=fake.now - 5)) == 0  # already past
    assert p.delay_for(1, RateLimited("x", retry_at=fake.now + 3600)) == 60


def test_backoff_doubles_within_jitter_bounds_and_is_capped():
    p = RetryPolicy(base_delay=0.5, max_delay=6.0, jitter=0.25, rng=random.Random(7))
    for attempt, nominal in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        delays = [p.delay_for(attempt, TransientError("x")) for _ in range(300)]
        assert min(delays) >= nominal * 0.75 and max(delays) <= nominal * 1.25
        assert max(delays) - min(delays) > nominal * 0.3  # there is jitter
    assert all(p.delay_for(9, TransientError("x")) <= 6.0 for _ in range(100))
    assert p.delay_for(1, RateLimited("no header")) <= 0.625  # 429 without Retry-After backs off


async def test_run_retries_retryable_errors_then_raises_the_last():
    fake, infos, calls = FakeTime(), [], []

    async def always_failing():
        calls.append(1)
        raise TransientError(f"boom {len(calls)}")

    with pytest.raises(TransientError, match="boom 3"):
        await policy(fake, attempts=3).run(always_failing, infos.append)
    assert len(calls) == 3 and [i.attempt for i in infos] == [1, 2]
    assert [i.delay for i in infos] == fake.sleeps and all(isinstance(i, RetryInfo) for i in infos)


@pytest.mark.parametrize("error", [AuthError("no"), BadRequest("no"), ContentFiltered("blocked")])
async def test_run_does_not_retry_permanent_errors(error):
    fake, calls = FakeTime(), []

    async def failing():
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        await policy(fake).run(failing)
    assert calls == [1] and fake.sleeps == []


async def test_on_retry_runs_before_the_wait():
    fake, order = FakeTime(), []

    async def sleep(s: float) -> None:
        order.append("sleep")

    async def flaky():
        if len(order) < 2:
            raise TransientError("once")
        return "ok"

    p = RetryPolicy(sleep=sleep, clock=fake.clock)
    assert await p.run(flaky, lambda info: order.append("on_retry")) == "ok"
    assert order == ["on_retry", "sleep"]


# ------------------------------------------------------------ the rate limiter

async def test_rate_limiter_sliding_window():
    fake = FakeTime(start=0.0)
    limiter = RateLimiter(3, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for _ in range(7):
        await limiter.acquire()
        starts.append(fake.now)
    assert starts == [0, 0, 0, 60, 60, 60, 120]


async def test_rate_limiter_is_fair_under_concurrency():
    fake = FakeTime(start=0.0)
    limiter = RateLimiter(2, clock=fake.clock, sleep=fake.sleep)
    starts: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        starts.append((i, fake.now))

    await asyncio.gather(*(one(i) for i in range(5)))
    assert [i for i, _ in starts] == [0, 1, 2, 3, 4]
    assert [t for _, t in starts] == [0, 0, 60, 60, 120]


# ------------------------------------------------------------ ModelClient over loopback

async def test_rate_limited_then_succeeds_after_retry_after(demo, http):
    fake, infos = FakeTime(), []
    client = ModelClient(target(demo.url, "demo-guardian+ratelimit:2"), http, policy(fake), None)
    c = await client.chat(QUESTION_ZH, on_retry=infos.append)
    assert c.text == answer("demo-guardian", QUESTION_ZH, 0)
    assert fake.sleeps == [1.0, 1.0] and demo.requests == 3
    assert [(i.attempt, type(i.error), i.delay) for i in infos] == [(1, RateLimited, 1.0), (2, RateLimited, 1.0)]


async def test_http_date_retry_after_uses_the_injected_clock(demo, http):
    fake = FakeTime()
    fake.now = time.time() - 10  # the policy's clock runs 10 s behind the server's date
    client = ModelClient(target(demo.url, "demo-guardian+ratelimit-date:1"), http, policy(fake), None)
    await client.chat(QUESTION_ZH)
    assert len(fake.sleeps) == 1 and 10.5 < fake.sleeps[0] <= 12.5


async def test_server_errors_back_off_with_jitter(demo, http):
    fake = FakeTime()
    client = ModelClient(target(demo.url, "demo-guardian+error500:3"), http, policy(fake, base_delay=0.5), None)
    await client.chat(QUESTION_ZH)
    assert len(fake.sleeps) == 3
    for delay, nominal in zip(fake.sleeps, (0.5, 1.0, 2.0), strict=True):
        assert nominal * 0.75 <= delay <= nominal * 1.25


async def test_auth_fails_at_once(demo, http):
    fake = FakeTime()
    client = ModelClient(target(demo.url, "demo-guardian+auth"), http, policy(fake), None)
    with pytest.raises(AuthError):
        await client.chat(QUESTION_ZH)
    assert demo.requests == 1 and fake.sleeps == []


async def test_malformed_stream_is_retried_at_most_the_policy_attempts(demo, http):
    fake = FakeTime()
    client = ModelClient(target(demo.url, "demo-guardian+malformed"), http, policy(fake, attempts=3), None)
    with pytest.raises(MalformedStream):
        await client.chat(QUESTION_ZH)
    assert demo.requests == 3


async def test_a_retried_turn_restarts_its_answer(demo, http):
    fake, shown = FakeTime(), []

    def on_retry(info: RetryInfo) -> None:
        assert shown  # the cut attempt had streamed some text
        shown.clear()

    client = ModelClient(target(demo.url, "demo-guardian+cut:1"), http, policy(fake), None)
    c = await client.chat(QUESTION_ZH, on_delta=shown.append, on_retry=on_retry)
    assert "".join(shown) == c.text == answer("demo-guardian", QUESTION_ZH, 0)
    assert len(c.chunks) == c.tokens_out


async def test_concurrency_cap_per_target(demo, http):
    t = target(demo.url, concurrency=2, headers={"x-demo-token-delay": "0.01", "x-demo-chunks": "8"})
    client = ModelClient(t, http, RetryPolicy(), None)
    await asyncio.gather(*(client.chat(QUESTION_ZH) for _ in range(6)))
    assert demo.requests == 6 and demo.max_in_flight == 2


async def test_requests_per_minute_through_model_client(demo, http):
    fake = FakeTime()
    client = ModelClient(target(demo.url, requests_per_minute=2, concurrency=8), http, policy(fake), None)
    await asyncio.gather(*(client.chat(QUESTION_ZH) for _ in range(5)))
    assert demo.requests == 5 and fake.sleeps == [60.0, 60.0]
