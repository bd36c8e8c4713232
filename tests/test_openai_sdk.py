"""The official openai SDK against the demo server: proof that the wire format is the real one."""

from __future__ import annotations

import openai
import pytest
from conftest_providers import QUESTION_EN, QUESTION_ZH

from scsafety_tui.demo import ALL_MODELS
from scsafety_tui.demo.personas import answer

pytest_plugins = ["demo_fixtures"]


@pytest.fixture
async def sdk(demo):
    async with openai.AsyncOpenAI(base_url=demo.url, api_key="x", max_retries=0) as client:
        yield client


async def test_streaming_with_usage(sdk):
    stream = await sdk.chat.completions.create(model="demo-guardian", messages=QUESTION_ZH, stream=True,
                                               stream_options={"include_usage": True})
    parts, finish, usage = [], None, None
    async for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert "".join(parts) == answer("demo-guardian", QUESTION_ZH, 0)
    assert finish == "stop" and usage is not None and usage.completion_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_non_streaming(sdk):
    c = await sdk.chat.completions.create(model="demo-refuser", messages=QUESTION_EN)
    assert c.choices[0].message.content == answer("demo-refuser", QUESTION_EN, 0)
    assert c.choices[0].finish_reason == "stop" and c.usage is not None and c.usage.completion_tokens > 0


async def test_content_filter_finish_reason(sdk):
    c = await sdk.chat.completions.create(model="demo-guardian+filter", messages=QUESTION_ZH)
    assert c.choices[0].finish_reason == "content_filter"


async def test_models_list(sdk):
    assert [m.id async for m in sdk.models.list()] == list(ALL_MODELS)


@pytest.mark.parametrize(("model", "error", "status"), [
    ("demo-guardian+ratelimit", openai.RateLimitError, 429),
    ("demo-guardian+auth", openai.AuthenticationError, 401),
    ("demo-guardian+error500", openai.InternalServerError, 500),
    ("no-such-model", openai.NotFoundError, 404),
])
async def test_errors_map_to_the_sdks_classes(sdk, model, error, status):
    with pytest.raises(error) as info:
        await sdk.chat.completions.create(model=model, messages=QUESTION_ZH, stream=True)
    assert info.value.status_code == status and info.value.message


async def test_error_inside_the_stream_is_raised_by_the_sdk(sdk):
    stream = await sdk.chat.completions.create(model="demo-guardian+stream-error", messages=QUESTION_ZH,
                                               stream=True)
    with pytest.raises(openai.APIError, match="server had an error"):
        async for _ in stream:
            pass
