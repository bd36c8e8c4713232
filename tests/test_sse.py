"""The SSE decoder on raw bytes: any split of the reads must give the same events."""

from __future__ import annotations

import httpx
import pytest

from scsafety_tui.providers.sse import SSEDecoder, SSEEvent

STREAM = (
    b": keep-alive comment\n\n"
    b'data: {"a": 1}\n\n'
    b"event: content_block_delta\ndata: {\"t\": \"\xe5\xae\x89\xe5\x85\xa8\"}\n\n"
    b"data: line one\ndata: line two\n: a comment inside\ndata:no space\n\n"
    b"id: 7\nretry: 100\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent("message", '{"a": 1}'),
    SSEEvent("content_block_delta", '{"t": "安全"}'),
    SSEEvent("message", "line one\nline two\nno space"),
    SSEEvent("message", "[DONE]"),
]


def decode(reads: list[bytes]) -> list[SSEEvent]:
    d = SSEDecoder()
    events = [ev for r in reads for ev in d.feed(r)]
    return events + d.flush()


def test_whole_stream():
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_split_point_and_line_ending(ending):
    stream = STREAM.replace(b"\n", ending)
    for i in range(len(stream) + 1):
        assert decode([stream[:i], stream[i:]]) == EXPECTED, (ending, i)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_one_byte_reads(ending):
    stream = STREAM.replace(b"\n", ending)
    assert decode([stream[i:i + 1] for i in range(len(stream))]) == EXPECTED


def test_three_way_splits_of_a_crlf_stream():
    stream = b"\xef\xbb\xbfevent: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n"
    want = [SSEEvent("x", "a"), SSEEvent("message", "b")]
    for i in range(len(stream)):
        for j in range(i, len(stream)):
            assert decode([stream[:i], stream[i:j], stream[j:]]) == want, (i, j)


def test_bom_is_dropped_only_at_the_start():
    assert decode([b"\xef\xbb\xbfdata: x\n\n"]) == [SSEEvent("message", "x")]
    assert decode([b"\xef", b"\xbb", b"\xbfdata: x\n\n"]) == [SSEEvent("message", "x")]
    # a BOM later in the stream is data, not a marker
    assert decode([b"data: x\n\n\xef\xbb\xbfdata: y\n\n"])[0] == SSEEvent("message", "x")


def test_keep_alives_and_blocks_without_data_dispatch_nothing():
    assert decode([b": ping\n\n:\n\n\n\n\nevent: ping\n\nid: 3\n\n"]) == []


def test_empty_data_field_is_an_event():
    assert decode([b"data\n\n", b"data:\n\n"]) == [SSEEvent("message", ""), SSEEvent("message", "")]


def test_empty_event_name_means_message():
    assert decode([b"event:\ndata: x\n\n"]) == [SSEEvent("message", "x")]


def test_flush_keeps_a_finished_line_and_drops_a_half_one():
    assert decode([b"data: [DONE]\n"]) == [SSEEvent("message", "[DONE]")]  # server forgot the blank line
    assert decode([b"data: [DONE]\r"]) == [SSEEvent("message", "[DONE]")]
    assert decode([b'data: {"a": 1}\n\ndata: {"cho']) == [SSEEvent("message", '{"a": 1}')]


def test_multibyte_character_split_across_reads():
    raw = "data: 你好，世界\n\n".encode()
    for i in range(len(raw)):
        assert decode([raw[:i], raw[i:]]) == [SSEEvent("message", "你好，世界")]


def test_invalid_utf8_is_replaced_not_raised():
    assert decode([b"data: \xff\xfe\n\n"]) == [SSEEvent("message", "\ufffd\ufffd")]


async def test_decoder_over_an_httpx_response_stream():
    """As the providers read a stream: feed every raw read, then flush at its end."""
    pieces = [STREAM[i:i + 7] for i in range(0, len(STREAM), 7)]

    def handler(request: httpx.Request) -> httpx.Response:
        async def body():
            for p in pieces:
                yield p
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    async with (httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client,
                client.stream("GET", "http://sse.test/") as resp):
        decoder = SSEDecoder()
        events = [ev async for raw in resp.aiter_raw() for ev in decoder.feed(raw)] + decoder.flush()
    assert events == EXPECTED
