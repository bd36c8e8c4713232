"""Config loading: one test per failure mode, each asserting the message names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scsafety_tui.cli import main
from scsafety_tui.config import ConfigError, load_config

GOOD = """
[[targets]]
key = "a"
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
api_key_env = "SCS_TEST_KEY_A"
temperature = 0.5
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def fails(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    msg = str(e.value)
    assert "\n" not in msg
    assert str(tmp_path / "c.toml") in msg
    return msg


def test_example_config_is_valid():
    c = load_config(Path(__file__).parent.parent / "config.example.toml")
    assert [t.key for t in c.targets] == ["deepseek", "claude", "local-qwen"]
    assert c.targets[1].provider == "anthropic"
    assert c.judge.mode == "model" and c.judge.targets[0].key == "judge-gpt4o"
    assert c.run.http_transport == "aiohttp"


def test_good_config_loads(tmp_path):
    c = load_config(write(tmp_path, GOOD))
    t = c.target("a")
    assert (t.model, t.temperature, t.concurrency, t.max_tokens) == ("m", 0.5, 4, 1024)
    assert c.judge.mode == "heuristic"


def test_unknown_key(tmp_path):
    assert "targets[0].colour: unknown key" in fails(tmp_path, GOOD + 'colour = "red"\n')


def test_unknown_top_level_key(tmp_path):
    assert "rnu: unknown key" in fails(tmp_path, GOOD + "[rnu]\nlimit = 3\n")


def test_wrong_type(tmp_path):
    msg = fails(tmp_path, GOOD.replace("temperature = 0.5", 'temperature = "hot"'))
    assert "targets[0].temperature: expected a number, got 'hot'" in msg


def test_wrong_type_in_run(tmp_path):
    assert "run.limit: expected an integer" in fails(tmp_path, GOOD + '[run]\nlimit = "ten"\n')


def test_duplicate_target_key(tmp_path):
    assert "targets[1].key: duplicate target key 'a'" in fails(tmp_path, GOOD + GOOD)


def test_bad_url(tmp_path):
    msg = fails(tmp_path, GOOD.replace("http://127.0.0.1:9/v1", "localhost:8000"))
    assert "targets[0].base_url: expected an http:// or https:// URL" in msg


def test_missing_required_field(tmp_path):
    assert "targets[0].model: missing" in fails(tmp_path, GOOD.replace('model = "m"\n', ""))


def test_bad_provider(tmp_path):
    msg = fails(tmp_path, GOOD.replace('provider = "openai"', 'provider = "gemini"'))
    assert "targets[0].provider: expected one of 'openai', 'anthropic'" in msg


def test_key_in_headers_is_refused(tmp_path):
    msg = fails(tmp_path, GOOD + 'headers = { Authorization = "Bearer sk-1" }\n')
    assert "targets[0].headers.Authorization" in msg and "api_key_env" in msg


def test_judge_model_mode_needs_targets(tmp_path):
    assert "judge.mode" in fails(tmp_path, GOOD + '[judge]\nmode = "model"\n')


def test_invalid_toml_names_the_line(tmp_path):
    assert "line 2" in fails(tmp_path, "[[targets]]\nkey = \n")


def test_missing_env_var_at_run_time(tmp_path):
    c = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError) as e:
        c.check_keys()
    assert "targets[a].api_key_env: environment variable SCS_TEST_KEY_A is not set" in str(e.value)


def test_env_var_present(tmp_path, monkeypatch):
    monkeypatch.setenv("SCS_TEST_KEY_A", "sk-secret")
    c = load_config(write(tmp_path, GOOD))
    assert c.target("a").api_key() == "sk-secret"


def test_init_writes_valid_config_and_refuses_overwrite(tmp_path, capsys):
    path = tmp_path / "new.toml"
    assert main(["init", str(path)]) == 0
    assert load_config(path).targets
    assert main(["init", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0


def test_config_check_masks_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCS_TEST_KEY_A", "sk-verysecret-123")
    assert main(["config", "check", str(write(tmp_path, GOOD))]) == 0
    out = capsys.readouterr().out
    assert "SCS_TEST_KEY_A set" in out and "sk-verysecret" not in out
    assert 'model = "m"' in out


def test_config_check_bad_file_exit_2(tmp_path, capsys):
    assert main(["config", "check", str(write(tmp_path, GOOD + "oops = 1\n"))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "oops: unknown key" in err


# ---------------------------------------------------------------- what a run would fail on, or leak

def target_with(**fields: str) -> str:
    values = {"key": '"a"', "base_url": '"http://127.0.0.1:9/v1"', "model": '"m"', **fields}
    return "[[targets]]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:70000/v1", "port out of range"),
    ("http://127.0.0.1:0/v1", "port out of range"),
    ("http://127.0.0.1:http/v1", "port out of range"),
    ("https://user:s3cret-pass@api.example.com/v1", "credentials in the URL"),
    ("https://token@api.example.com/v1", "credentials in the URL"),
    ("https://api.example.com/v1?key=abc", "no query string or fragment"),
    ("https://api.example.com/v1#frag", "no query string or fragment"),
    ("https://api.example.com/v1?", "no query string or fragment"),
])
def test_base_url_problems_are_refused_at_load(tmp_path, url, expected):
    msg = fails(tmp_path, target_with(base_url=f'"{url}"'))
    assert "targets[0].base_url: " in msg and expected in msg
    assert "s3cret-pass" not in msg  # an error never repeats the credentials


def test_base_url_problems_in_judge_and_attacker_name_their_table(tmp_path):
    judge = ('[judge]\nmode = "model"\n[[judge.targets]]\nkey = "j"\nbase_url = "http://127.0.0.1:99999/v1"\n'
             'model = "m"\n')
    assert "judge.targets[0].base_url: port out of range" in fails(tmp_path, GOOD + judge)
    attacker = '[attacker]\nkey = "x"\nbase_url = "http://u:p@127.0.0.1/v1"\nmodel = "m"\n'
    assert "attacker.base_url: credentials in the URL" in fails(tmp_path, GOOD + attacker)


@pytest.mark.parametrize("key", ["a\\u001b]52;c;aGk=\\u0007", "a\\tb", "a\\u202eb", "a\\u200bb", "a\\u009bb"])
def test_keys_with_control_characters_are_refused(tmp_path, key):
    msg = fails(tmp_path, target_with(key=f'"{key}"'))
    assert "targets[0].key: " in msg and "control characters" in msg
    assert "\x1b" not in msg and "\u202e" not in msg  # the message itself shows them escaped


def test_control_characters_in_model_and_headers_are_refused(tmp_path):
    assert "targets[0].model: " in fails(tmp_path, target_with(model='"m\\u001b[2J"'))
    msg = fails(tmp_path, target_with(headers='{ X-Title = "a\\r\\nX-Injected: 1" }'))
    assert "targets[0].headers.X-Title: " in msg and "control characters" in msg


def test_config_check_rejects_what_the_run_would_fail_on(tmp_path, capsys):
    assert main(["config", "check", str(write(tmp_path, target_with(base_url='"http://127.0.0.1:65536/v1"')))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "c.toml: targets[0].base_url: port out of range" in err


def test_config_check_masks_every_header_value_and_secret_params(tmp_path, capsys):
    text = target_with(headers='{ X-Org-Token = "org-token-abcdef123", HTTP-Referer = "https://me.example" }',
                       params='{ top_p = 0.9, api_token = "param-token-987654", extra = { secret = "nested-s3cr3t" } }')
    assert main(["config", "check", str(write(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    for secret in ("org-token-abcdef123", "https://me.example", "param-token-987654", "nested-s3cr3t"):
        assert secret not in out
    assert out.count('"***"') == 4 and "top_p = 0.9" in out and "X-Org-Token" in out


def test_judge_score_reasoning_is_off_by_default_and_checked(tmp_path):
    assert load_config(write(tmp_path, GOOD)).judge.score_reasoning is False
    on = load_config(write(tmp_path, GOOD + '[judge]\nmode = "heuristic"\nscore_reasoning = true\n'))
    assert on.judge.score_reasoning is True
    assert "judge.score_reasoning" in fails(tmp_path, GOOD + '[judge]\nmode = "heuristic"\nscore_reasoning = "yes"\n')
