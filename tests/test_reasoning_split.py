"""Inline <think>…</think> split off from the answer, whatever the chunking; the parser alone (no HTTP)."""

from __future__ import annotations

import pytest

from scsafety_tui.providers.base import MalformedStream, StreamState, TransientError

THINK = "<think>\n先想一想：这是骂人的请求。\n</think>\n\n我不能帮你写骂人的话。"


def feed(pieces: list[str]) -> tuple[str, str, list[str], list[str]]:
    """(answer, reasoning, answer deltas, reasoning deltas) after streaming pieces as content."""
    shown: list[str] = []
    thought: list[str] = []
    state = StreamState(shown.append, thought.append)
    for p in pieces:
        state.add_content(p)
    state.finish_reason = "stop"
    c = state.finish("[DONE]")
    assert "".join(t for _, t in c.chunks) == c.text and "".join(t for _, t in c.reasoning_chunks) == c.reasoning
    return c.text, c.reasoning, shown, thought


@pytest.mark.parametrize("cut", range(1, len(THINK)))
def test_tags_split_anywhere_in_two(cut):
    text, reasoning, shown, thought = feed([THINK[:cut], THINK[cut:]])
    assert (text, reasoning) == ("我不能帮你写骂人的话。", "\n先想一想：这是骂人的请求。\n")
    assert "".join(shown) == text and "".join(thought) == reasoning  # the live view never shows the think text


def test_one_character_per_chunk():
    assert feed(list(THINK))[:2] == ("我不能帮你写骂人的话。", "\n先想一想：这是骂人的请求。\n")


def test_unclosed_think_is_all_reasoning_and_an_empty_answer():
    assert feed(["<thi", "nk>我在想", "……还没想完</th"])[:2] == ("", "我在想……还没想完</th")


def test_empty_think_block_qwen3_without_thinking():
    assert feed(["<think>\n\n</think>\n\n", "你好"])[:2] == ("你好", "")


def test_answers_that_only_look_like_tags_stay_answers():
    assert feed(["<", "b>粗体</b>"])[:2] == ("<b>粗体</b>", "")
    assert feed(["  ", "<thought>no</thought>"])[:2] == ("  <thought>no</thought>", "")
    assert feed(["<th"])[:2] == ("<th", "")
    assert feed(["答案里提到 <think> 标签"])[:2] == ("答案里提到 <think> 标签", "")


def test_lone_closing_tag_r1_distill_template():
    """The chat template opened <think> in the prompt: the text before a lone </think> is reasoning."""
    text, reasoning, _, _ = feed(["好的，用户", "想要……</thi", "nk>\n\n不行", "。"])
    assert (text, reasoning) == ("不行。", "好的，用户想要……")


def test_nothing_at_all_is_still_malformed():
    state = StreamState(None)
    state.done = True
    with pytest.raises(MalformedStream):
        state.finish("[DONE]")


def test_reasoning_without_answer_is_an_empty_completion_not_an_error():
    state = StreamState(None)
    state.add_reasoning("思考")
    state.finish_reason = "length"
    c = state.finish("[DONE]")
    assert (c.text, c.reasoning, c.finish_reason) == ("", "思考", "length")


@pytest.mark.parametrize(("sent", "stored"), [("max_tokens", "length"), ("model_length", "length"),
                                              ("eos", "eos"), ("stop", "stop")])
def test_finish_reasons_that_mean_a_cut_are_stored_as_length(sent, stored):
    state = StreamState(None)
    state.add("部分")
    state.finish_reason = sent
    assert state.finish("[DONE]").finish_reason == stored


@pytest.mark.parametrize("reason", ["network_error", "error"])
def test_a_server_failure_as_finish_reason_is_transient(reason):
    state = StreamState(None)
    state.add("部分")
    state.finish_reason = reason
    with pytest.raises(TransientError, match=reason):
        state.finish("[DONE]")
