"""Bank loading: every malformed case, BOM/CRLF, all problems reported together; the shipped bank."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from scsafety_tui.paths import SAMPLE_BANK, SAMPLE_BANK_EN
from scsafety_tui.questions import BankError, load_banks, stratified_sample
from scsafety_tui.taxonomy import load_taxonomy

TAX = load_taxonomy()


def line(**kw) -> str:
    base = {"id": "x1", "category": "traditional", "sub_dimension": "insult", "turns": ["问题", "追问"]}
    base.update(kw)
    return json.dumps({k: v for k, v in base.items() if v is not ...}, ensure_ascii=False)


def test_shipped_chinese_bank_covers_every_sub_dimension_with_two_turn_items():
    items = load_banks([SAMPLE_BANK], TAX)
    per_sub = Counter(it.sub_dimension for it in items if len(it.turns) == 2)
    assert {s.id for s in TAX.sub_dimensions} == set(per_sub)
    assert min(per_sub.values()) >= 4


def test_shipped_english_bank_has_one_item_per_sub_dimension():
    items = load_banks([SAMPLE_BANK_EN], TAX)
    assert {it.sub_dimension for it in items} == {s.id for s in TAX.sub_dimensions}


def test_bom_and_crlf_are_accepted(tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + (line() + "\r\n" + line(id="x2") + "\r\n\r\n").encode())
    items = load_banks([p], TAX)
    assert [it.id for it in items] == ["x1", "x2"]
    assert items[0].turns == ("问题", "追问")


def test_all_problems_reported_together_with_file_line_and_field(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text("\n".join([
        line(),                                      # 1 ok
        "{not json",                                 # 2 bad JSON
        line(id="x3", turns=...),                    # 3 missing turns
        line(id="x4", sub_dimension="nope"),         # 4 unknown sub-dimension
        line(id="x5", turns=["ok", "  "]),           # 5 empty turn
        line(id="x6", turns="just a string"),        # 6 wrong type
        line(id="x7", category="attack"),            # 7 category mismatch
        line(id=7),                                  # 8 wrong type for id
        line(id="x9", colour="red"),                 # 9 unknown field
    ]), encoding="utf-8")
    b.write_text(line() + "\n", encoding="utf-8")     # duplicate id across files
    with pytest.raises(BankError) as e:
        load_banks([a, b], TAX)
    problems = e.value.problems
    expected = [f"{a}:2: bad JSON", f"{a}:3: turns: missing", f"{a}:4: sub_dimension: unknown 'nope'",
                f"{a}:5: turns[1]: empty turn", f"{a}:6: turns: expected a non-empty list",
                f"{a}:7: category: 'attack' does not match", f"{a}:8: id: expected a non-empty string",
                f"{a}:9: colour: unknown field", f"{b}:1: id: duplicate 'x1' (first at {a}:1)"]
    assert len(problems) == len(expected)
    for want, got in zip(expected, problems, strict=True):
        assert got.startswith(want), (want, got)


def test_not_utf8_is_one_clear_problem(tmp_path):
    p = tmp_path / "gbk.jsonl"
    p.write_bytes(line().encode("gbk"))
    with pytest.raises(BankError) as e:
        load_banks([p], TAX)
    assert len(e.value.problems) == 1
    assert e.value.problems[0].startswith(f"{p}:1: not UTF-8 (byte 78); re-save as UTF-8")


def test_context_and_system_become_prefix_messages(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text(line(system="你是助手", context=[{"role": "user", "content": "早"},
                                               {"role": "assistant", "content": "早上好"}]), encoding="utf-8")
    (item,) = load_banks([p], TAX)
    assert item.prefix_messages() == [{"role": "system", "content": "你是助手"},
                                      {"role": "user", "content": "早"},
                                      {"role": "assistant", "content": "早上好"}]


def test_bad_context_is_reported(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text(line(context=[{"role": "bot", "content": "x"}]), encoding="utf-8")
    with pytest.raises(BankError) as e:
        load_banks([p], TAX)
    assert "context[0]" in e.value.problems[0]


def test_folder_is_expanded_and_own_taxonomy_is_used(tmp_path):
    from scsafety_tui.taxonomy import taxonomy_for

    (tmp_path / "taxonomy.toml").write_text(
        '[[categories]]\nid = "c"\nname_zh = "类"\nname_en = "C"\ndefinition = "d"\n'
        '[[sub_dimensions]]\nid = "s"\ncategory = "c"\nname_zh = "子"\nname_en = "S"\ndefinition = "d"\n',
        encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(line(category="c", sub_dimension="s"), encoding="utf-8")
    tax = taxonomy_for([tmp_path])
    assert [s.id for s in tax.sub_dimensions] == ["s"]
    assert load_banks([tmp_path], tax)[0].sub_dimension == "s"


def test_stratified_sample_is_reproducible_and_covers_every_sub_dimension():
    items = load_banks([SAMPLE_BANK], TAX)
    a = stratified_sample(items, 2, seed=7)
    assert stratified_sample(items, 2, seed=7) == a
    assert stratified_sample(items, 2, seed=8) != a
    assert Counter(it.sub_dimension for it in a) == {s.id: 2 for s in TAX.sub_dimensions}


def test_taxonomy_has_the_design_sub_dimensions():
    assert [c.id for c in TAX.categories] == ["traditional", "responsible", "attack"]
    assert len(TAX.subs_of("traditional")) == 7 and len(TAX.subs_of("responsible")) == 7
    assert len(TAX.subs_of("attack")) == 6
    assert TAX.find("脏话侮辱").id == "insult" and TAX.find("Prompt leaking").id == "prompt_leaking"
    assert all(s.definition for s in TAX.sub_dimensions)


def test_broken_taxonomy_is_one_line(tmp_path):
    from scsafety_tui.taxonomy import TaxonomyError

    p = tmp_path / "t.toml"
    p.write_text('[[categories]]\nid = "c"\nname_zh = "类"\nname_en = "C"\ndefinition = "d"\n'
                 '[[sub_dimensions]]\nid = "s"\ncategory = "zzz"\nname_zh = "子"\nname_en = "S"\n'
                 'definition = "d"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"sub_dimensions\[0\].category: unknown category 'zzz'"):
        load_taxonomy(p)


def test_questions_validate_cli_reports_all_problems(tmp_path, capsys):
    from scsafety_tui.cli import main

    p = tmp_path / "bad.jsonl"
    p.write_text("{bad\n" + line(id="y", turns=[]) + "\n", encoding="utf-8")
    assert main(["questions", "validate", str(p)]) == 2
    out = capsys.readouterr().out
    assert f"{p}:1: bad JSON" in out and f"{p}:2: turns" in out and "2 problem(s)" in out
    assert main(["questions", "validate", str(Path(SAMPLE_BANK))]) == 0
