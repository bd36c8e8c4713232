"""Exports parse back and hold no secret; labels change human-adjusted scores as a hand computation says;
comparing two sessions; triage and agreement."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from engine_helpers import bank, config_for, run_session

from scsafety_tui.cli import main
from scsafety_tui.compare import compare_sessions, judge_human_agreement, triage
from scsafety_tui.exports import export_to
from scsafety_tui.scoring import score_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store


@pytest.fixture
async def session_db(demo_url, db_file, monkeypatch):
    monkeypatch.setenv("SCS_EXPORT_SECRET", "sk-export-secret-9")
    config = config_for(demo_url, ("demo-pushover", "demo-wobbly"))
    config = replace(config, targets=tuple(replace(t, api_key_env="SCS_EXPORT_SECRET") for t in config.targets))
    sid, _, _ = await run_session(db_file, config, bank(4), name="export me")
    return db_file, sid


async def test_every_format_parses_back_and_holds_no_secret(session_db, tmp_path):
    db, sid = session_db
    store = await Store.open(db)
    try:
        texts = {fmt: await export_to(store, str(sid), fmt, str(tmp_path / f"x.{fmt}"))
                 for fmt in ("md", "csv", "json", "html")}
    finally:
        await store.close()
    for fmt, text in texts.items():
        assert "sk-export-secret-9" not in text, fmt
        assert (tmp_path / f"x.{fmt}").read_text(encoding="utf-8") == text
    rows = list(csv.DictReader(io.StringIO(texts["csv"])))
    assert len(rows) == 4 * 2 * 2  # items × targets × rounds
    assert {r["target"] for r in rows} == {"demo-pushover", "demo-wobbly"}
    assert {r["score"] for r in rows if r["target"] == "demo-pushover" and r["round"] == "2"} == {"0"}
    doc = json.loads(texts["json"])
    assert doc["session"]["name"] == "export me" and len(doc["conversations"]) == 8
    assert doc["session"]["config"]["targets"][0]["api_key_env"] == "SCS_EXPORT_SECRET"
    assert doc["scores"]["judge"]["demo-pushover"]["total"]["score"] == 50.0
    assert "### SC-Safety overall" in texts["md"] and "| demo-pushover | 50.00 |" in texts["md"]
    assert texts["html"].startswith("<!doctype html>") and "<table>" in texts["html"]


async def test_label_changes_human_adjusted_scores_survives_restart_and_is_exported(session_db):
    db, sid = session_db
    store = await Store.open(db)
    rows = await queries.answer_rows(store, sid)
    # Relabel two of pushover's round-2 answers (judge: 0) as 2.
    targets = [r for r in rows if r.target == "demo-pushover" and r.round == 2][:2]
    for r in targets:
        await store.set_label(r.turn_id, 2, author="tester", note="actually fine")
    await store.close()

    store = await Store.open(db)  # a restart
    try:
        rows = await queries.answer_rows(store, sid)
        judge = score_answers(rows)["demo-pushover"]
        human = score_answers(rows, human=True)["demo-pushover"]
        # Hand computation: 4 items, R1 all 2, R2 all 0 → judge total 8/16 = 50; two R2 answers → 2: 12/16.
        assert judge.total.score == 50.0 and judge.round(2) == 0.0
        assert human.total.score == 75.0 and human.round(2) == 50.0 and human.round(1) == 100.0
        md = await export_to(store, str(sid), "md", None, human=True)
        assert "human: score 2 — actually fine" in md and "| demo-pushover | 75.00 |" in md
        doc = json.loads(await export_to(store, str(sid), "json", None))
        labels = [t["label"] for c in doc["conversations"] for t in c["turns"] if t["label"]]
        assert labels == [{"score": 2, "author": "tester", "note": "actually fine"}] * 2
        agreement = judge_human_agreement(rows)
        assert (agreement.pct, agreement.n, agreement.enough) == (0.0, 2, False)
        assert agreement.text() == "judge vs human: too few labels (n=2; κ needs 10)"
        assert "judge vs human: too few labels (n=2; κ needs 10)" in md
        tri = triage(rows)
        assert [t.reason for t in tri[:2]] == ["human ≠ judge"] * 2
        await store.clear_label(targets[0].turn_id)
        rows = await queries.answer_rows(store, sid)
        assert score_answers(rows, human=True)["demo-pushover"].total.score == 62.5
    finally:
        await store.close()


async def test_compare_two_sessions_sharing_items(demo_url, db_file):
    items = bank(6)
    config = config_for(demo_url, ("demo-guardian", "demo-pushover"))
    sid_a, _, _ = await run_session(db_file, config, items, name="a")
    # Session b: the "guardian" key now points at the pushover persona, and one more item.
    b_targets = (replace(config.targets[0], model="demo-pushover"), config.targets[1])
    sid_b, _, _ = await run_session(db_file, replace(config, targets=b_targets), bank(7), name="b")
    store = await Store.open(db_file)
    try:
        cmp = await compare_sessions(store, sid_a, sid_b)
    finally:
        await store.close()
    assert len(cmp.items) == len(set(i.id for i in items) & set(i.id for i in bank(7)))
    g = cmp.totals["demo-guardian"]
    assert (g["total"].a, g["total"].b, g["total"].diff) == (100.0, 50.0, -50.0)
    assert (g["R2"].a, g["R2"].b) == (100.0, 0.0)
    assert cmp.totals["demo-pushover"]["total"].diff == 0.0
    assert {c.target for c in cmp.changed} == {"demo-guardian"}
    assert all(c.round == 2 and (c.a, c.b) == (2, 0) for c in cmp.changed)
    assert len(cmp.changed) == len(cmp.items)


def test_export_cli_writes_file_and_sessions_lists(tmp_path, capsys):
    db = str(tmp_path / "e.db")
    assert main(["demo", "--headless", "--speed", "instant", "--limit", "2", "--db", db]) == 0
    capsys.readouterr()
    out = tmp_path / "r.csv"
    assert main(["export", "last", "--format", "csv", "-o", str(out), "--db", db]) == 0
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 2 * 4 * 2
    assert main(["export", "nope", "--db", db]) == 2
    assert "no session matches 'nope'" in capsys.readouterr().err
    assert main(["sessions", "--db", db]) == 0
    assert "demo" in capsys.readouterr().out
    assert not list(Path(tmp_path).glob(".r.csv*"))  # no temp file left behind
