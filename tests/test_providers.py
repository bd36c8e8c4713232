"""Both protocols over real loopback HTTP against the demo server, on both transports."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time

import pytest
from conftest_providers import QUESTION_EN, QUESTION_ZH, target

from scsafety_tui.demo.personas import answer, is_chinese
from scsafety_tui.providers import (
    AuthError,
    BadRequest,
    ContentFiltered,
    HostNotAllowed,
    MalformedStream,
    RateLimited,
    TransientError,
    make_http_client,
    make_provider,
)
from scsafety_tui.providers.base import error_from_response, error_from_stream, parse_retry_after

pytest_plugins = ["demo_fixtures"]
PROTOCOLS = ("openai", "anthropic")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_streams_text_usage_and_timeline(demo, http, protocol):
    deltas: list[str] = []
    provider = make_provider(target(demo.url, provider=protocol), http, None)
    before = time.time()
    c = await provider.stream_chat(QUESTION_ZH, deltas.append)
    assert c.text == answer("demo-guardian", QUESTION_ZH, 0) and is_chinese(c.text)
    assert "".join(deltas) == c.text and [t for _, t in c.chunks] == deltas
    assert c.finish_reason == "stop"
    assert c.tokens_out == len(c.chunks) > 10
    assert c.tokens_in == len(QUESTION_ZH[0]["content"]) // 2
    assert before <= c.started_at <= c.first_token_at <= c.finished_at <= time.time()
    offsets = [t for t, _ in c.chunks]
    assert offsets == sorted(offsets) and offsets[0] >= 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_english_question_gets_an_english_answer(demo, http, protocol):
    c = await make_provider(target(demo.url, provider=protocol), http, None).stream_chat(QUESTION_EN)
    assert c.text and not is_chinese(c.text)


async def test_openai_request_shape(demo, http):
    t = target(demo.url, temperature=0.2, max_tokens=77, headers={"x-team": "red"}, params={"seed": 5})
    await make_provider(t, http, "sk-test").stream_chat(QUESTION_ZH)
    req = demo.last_request
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test" and req["headers"]["x-team"] == "red"
    body = req["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 77, 5)
    assert body["messages"] == QUESTION_ZH


async def test_anthropic_request_shape_joins_system_messages(demo, http):
    messages = [{"role": "system", "content": "be safe"}, {"role": "system", "content": "be kind"},
                *QUESTION_ZH]
    c = await make_provider(target(demo.url, provider="anthropic"), http, "ak-test").stream_chat(messages)
    req = demo.last_request
    assert req["path"] == "/v1/messages"
    assert req["headers"]["x-api-key"] == "ak-test" and req["headers"]["anthropic-version"] == "2023-06-01"
    assert req["body"]["system"] == "be safe\n\nbe kind" and req["body"]["messages"] == QUESTION_ZH
    assert c.tokens_in == (len("be safe\n\nbe kind") + len(QUESTION_ZH[0]["content"])) // 2


async def test_server_ignoring_include_usage_leaves_tokens_unknown(demo, http):
    c = await make_provider(target(demo.url, "demo-guardian+no-usage"), http, None).stream_chat(QUESTION_ZH)
    assert c.text and c.tokens_in is None and c.tokens_out is None


async def test_stream_options_rejected_once_then_left_out(demo, http):
    provider = make_provider(target(demo.url, "demo-refuser+no-stream-options"), http, None)
    c = await provider.stream_chat(QUESTION_ZH)
    assert c.text and demo.requests == 2 and provider.send_stream_options is False
    await provider.stream_chat(QUESTION_EN)
    assert demo.requests == 3 and "stream_options" not in demo.last_request["body"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reasoning_deltas_are_not_part_of_the_answer(demo, http, protocol):
    c = await make_provider(target(demo.url, "demo-guardian+reasoning", protocol), http, None
                            ).stream_chat(QUESTION_ZH)
    assert c.text == answer("demo-guardian", QUESTION_ZH, 0)


ERRORS = [
    ("ratelimit", RateLimited, 429),
    ("error500", TransientError, 500),
    ("cut", TransientError, None),
    ("eof", TransientError, None),
    ("stream-error", TransientError, None),
    ("malformed", MalformedStream, None),
    ("empty", MalformedStream, None),
    ("filter", ContentFiltered, None),
    ("filter-error", ContentFiltered, 400),
    ("auth", AuthError, 401),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("knob", "error", "status"), ERRORS)
async def test_failures_are_classified(demo, http, protocol, knob, error, status):
    provider = make_provider(target(demo.url, f"demo-guardian+{knob}", protocol, api_key_env="DEMO_KEY"),
                             http, None)
    with pytest.raises(error) as info:
        await provider.stream_chat(QUESTION_ZH)
    e = info.value
    assert type(e) is error and e.status == status and e.retryable == error.retryable
    assert e.message and "\n" not in e.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_error_messages_carry_the_servers_words(demo, http, protocol):
    async def fail(model: str) -> Exception:
        with pytest.raises(Exception) as info:
            await make_provider(target(demo.url, model, protocol, api_key_env="DEMO_KEY"), http, None
                                ).stream_chat(QUESTION_ZH)
        return info.value

    rate = await fail("demo-guardian+ratelimit")
    assert rate.retry_after == 1.0 and "Rate limit reached" in rate.message
    auth = await fail("demo-guardian+auth")
    assert "Incorrect API key" in auth.message and "$DEMO_KEY" in auth.message
    missing = await fail("no-such-model")
    assert type(missing) is BadRequest and missing.status == 404 and "no-such-model" in missing.message
    cut = await fail("demo-guardian+eof")
    assert "stream cut" in cut.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_content_filter_keeps_the_partial_answer(demo, http, protocol):
    provider = make_provider(target(demo.url, "demo-guardian+filter", protocol), http, None)
    with pytest.raises(ContentFiltered) as info:
        await provider.stream_chat(QUESTION_ZH)
    e = info.value
    full = answer("demo-guardian", QUESTION_ZH, 0)
    assert e.partial_text and full.startswith(e.partial_text) and e.partial_text != full
    assert e.completion is not None and e.completion.text == e.partial_text


async def test_retry_after_as_http_date(demo, http):
    before = time.time()
    with pytest.raises(RateLimited) as info:
        await make_provider(target(demo.url, "demo-guardian+ratelimit-date"), http, None).stream_chat(QUESTION_ZH)
    e = info.value
    # the server's date is a whole second, a second after it answered (between before and now)
    assert e.retry_at is not None and before - 1 <= e.retry_at <= time.time() + 2
    assert 0 <= e.retry_after <= 3


@pytest.mark.parametrize("knob", ["hang", "slow"])
async def test_timeout_is_transient(demo, http, knob):
    provider = make_provider(target(demo.url, f"demo-guardian+{knob}", timeout_s=0.3), http, None)
    with pytest.raises(TransientError, match="timed out"):  # "slow" would answer after 5 s, "hang" never
        await asyncio.wait_for(provider.stream_chat(QUESTION_ZH), 30)  # a hang guard, not a speed check
    await asyncio.wait_for(demo.client_gone.wait(), 30)  # the abandoned response was closed


async def test_cancellation_mid_stream_closes_the_connection(demo, http):
    provider = make_provider(target(demo.url, headers={"x-demo-token-delay": "0.05"}), http, None)
    first = asyncio.Event()
    task = asyncio.create_task(provider.stream_chat(QUESTION_ZH, lambda _: first.set()))
    await asyncio.wait_for(first.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(demo.client_gone.wait(), 30)
    assert demo.disconnects == 1


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_host_not_named_is_refused_before_any_request(demo, transport):
    t = target(demo.url)
    async with make_http_client(transport, allowed_hosts=["api.deepseek.com", "127.0.0.1:1"]) as http:
        with pytest.raises(HostNotAllowed) as info:
            await make_provider(t, http, None).stream_chat(QUESTION_ZH)
    assert demo.requests == 0 and not info.value.retryable and "127.0.0.1" in info.value.message
    async with make_http_client(transport, allowed_hosts=[t.host()]) as http:  # host:port as configured
        assert (await make_provider(t, http, None).stream_chat(QUESTION_ZH)).text


async def test_connection_refused_is_transient(http):
    t = target("http://127.0.0.1:1/v1")
    with pytest.raises(TransientError, match="could not connect"):
        await make_provider(t, http, None).stream_chat(QUESTION_ZH)


async def test_unknown_provider_and_transport_are_rejected(http):
    with pytest.raises(ValueError, match="provider"):
        make_provider(target("http://127.0.0.1/v1", provider="gemini"), http, None)
    with pytest.raises(ValueError, match="transport"):
        make_http_client("curl", allowed_hosts=[])


# ------------------------------------------------------------ vendor error shapes (no HTTP needed)

VENDOR_ERRORS = [
    # Azure OpenAI prompt filter
    (400, {"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                                "management policy.", "code": "content_filter", "status": 400,
                     "innererror": {"code": "ResponsibleAIPolicyViolation"}}}, ContentFiltered),
    # Qwen (DashScope compatible mode)
    (400, {"error": {"code": "data_inspection_failed", "message": "Input data may contain inappropriate content.",
                     "type": "data_inspection_failed"}}, ContentFiltered),
    # GLM (Zhipu)
    (400, {"error": {"code": "1301", "message": "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语。"}},
     ContentFiltered),
    # Moonshot
    (400, {"error": {"message": "The request was rejected because it was considered high risk",
                     "type": "content_filter"}}, ContentFiltered),
    # DeepSeek
    (400, {"error": {"message": "Content Exists Risk", "type": "invalid_request_error"}}, ContentFiltered),
    # OpenAI quota: waiting will not help
    (429, {"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota",
                     "code": "insufficient_quota"}}, BadRequest),
    # Anthropic overloaded
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, TransientError),
    (403, {"type": "error", "error": {"type": "permission_error", "message": "no access"}}, AuthError),
    (413, {"type": "error", "error": {"type": "request_too_large", "message": "too big"}}, BadRequest),
    (408, {"detail": "timeout"}, TransientError),
    (422, {"detail": "field required"}, BadRequest),
]


@pytest.mark.parametrize(("status", "body", "error"), VENDOR_ERRORS)
def test_vendor_error_bodies_are_classified(status, body, error):
    e = error_from_response(status, {}, json.dumps(body, ensure_ascii=False).encode())
    assert type(e) is error and e.status == status


def test_in_stream_error_objects_are_classified():
    assert type(error_from_stream({"error": {"code": "data_inspection_failed", "message": "Output data may "
                                                                                          "contain inappropriate "
                                                                                          "content."}}, "部分")
                ) is ContentFiltered
    assert type(error_from_stream({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}, "")
                ) is RateLimited
    assert type(error_from_stream({"object": "error", "message": "bad", "code": 400}, "")) is BadRequest
    assert type(error_from_stream({"error": "upstream died"}, "")) is TransientError


def test_retry_after_forms():
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": "3"}, now) == (3.0, None)
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}, now) == (1.5, None)
    date = email.utils.formatdate(now + 20, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now) == (20.0, now + 20)
    assert parse_retry_after({"retry-after": "soon"}, now) == (None, None)
    assert parse_retry_after({}, now) == (None, None)
    assert error_from_response(502, {}, b"<html>Bad gateway</html>").message == "HTTP 502: <html>Bad gateway</html>"
