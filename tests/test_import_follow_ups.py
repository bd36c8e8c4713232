"""`questions import FORMAT … --follow-ups templates` on every format the importers read (the real CLI on
the importer fixtures): each single-turn item gets a round 2 from the library, in its language, named in
source.follow_up; an item that already has its follow-up is written exactly as without the option; the
report says what happened, also when nothing could be added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scsafety_tui.cli import main
from scsafety_tui.follow_ups import language, load_templates

FIX = Path(__file__).parent / "fixtures" / "importers"
FORMATS = {
    "safety-prompts": (["safety_prompts.json"], []),
    "xsafety": (["xsafety"], []),
    "flames": (["flames.jsonl"], []),
    "cvalues": (["cvalues.jsonl"], []),
    "jade": (["jade_benchmark_gbk.csv", "jade_alignment.csv"], ["--map", str(FIX / "mapping_jade_unlabeled.toml")]),
    "chisafetybench": (["chisafetybench_plain.json", "chisafetybench_history.json"], []),
    "safedialbench": (["safedialbench.jsonl"], []),
    "json": (["generic.json"], []),
    "csv": (["generic_bom_crlf.csv"], ["--field", "id=编号", "--field", "prompt=问题", "--field", "follow_up=追问",
                                       "--field", "category=类别"]),
    "jsonl": (["generic.jsonl"], ["--field", "id=qid", "--field", "prompt=question", "--field", "follow_up=followup",
                                  "--field", "category=label", "--field", "reference=answer"]),
}


def imported(tmp_path: Path, capsys, fmt: str, name: str, *extra: str) -> tuple[list[dict], str]:
    srcs, opts = FORMATS[fmt]
    out = tmp_path / name / "bank.jsonl"
    out.parent.mkdir()
    assert main(["questions", "import", fmt, *(str(FIX / s) for s in srcs), "-o", str(out), *opts, *extra]) == 0
    err = capsys.readouterr().err
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()], err


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_imports_with_template_follow_ups(tmp_path, capsys, fmt):
    plain, _ = imported(tmp_path, capsys, fmt, "plain")
    rows, err = imported(tmp_path, capsys, fmt, "templated", "--follow-ups", "templates", "--seed", "3")
    templates = {t.id: t for t in load_templates()}
    assert [r["id"] for r in rows] == [r["id"] for r in plain]
    added = 0
    for before, after in zip(plain, rows, strict=True):
        if len(before["turns"]) > 1:
            assert after == before  # its own follow-up: untouched
            continue
        added += 1
        chosen = after["source"]["follow_up"]
        t = templates[chosen["template"]]
        assert after["turns"][0] == before["turns"][0] and len(after["turns"]) == 2
        assert t.lang == language(before["turns"][0]) and t.render(before["turns"][0]) == after["turns"][1]
        assert chosen["seed"] == 3 and chosen["pretext"] == t.pretext
        assert {k: v for k, v in after.items() if k not in ("turns", "source")} == \
               {k: v for k, v in before.items() if k not in ("turns", "source")}
    own = sum(len(r["turns"]) > 1 for r in plain)
    line = next(x for x in err.splitlines() if x.startswith("template follow-ups (seed 3): "))
    assert f"{added} single-turn item(s) got a round 2" in line
    assert (f"{own} item(s) already had their own follow-up, left as they were" in line) == bool(own)


def test_a_multi_turn_dataset_says_nothing_was_added(tmp_path, capsys):
    """SafeDialBench is multi-turn: the old report said nothing about the option at all."""
    rows, err = imported(tmp_path, capsys, "safedialbench", "sdb", "--follow-ups", "templates")
    assert rows and all(len(r["turns"]) > 1 and "follow_up" not in r["source"] for r in rows)
    assert f"template follow-ups (seed 0): 0 single-turn item(s) got a round 2; {len(rows)} item(s) already had" \
           " their own follow-up, left as they were" in err


def test_a_bank_imported_with_templates_gets_other_templates_past_round_2():
    """[run] follow_ups = "templates", rounds = 3 on a bank `questions import --follow-ups templates` wrote:
    round 3 re-asked the very template of round 2 in about a third of the conversations."""
    from dataclasses import replace

    from engine_helpers import bank

    from scsafety_tui.follow_ups import candidates, choose_templates, load_templates, with_template_follow_up

    items = [with_template_follow_up(replace(it, turns=it.turns[:1]), seed) for seed in range(3) for it in bank()]
    assert len(items) == 300
    for it in items:
        assert len(candidates(it, load_templates())) > 1
        [(rnd, third)] = choose_templates(it, 3, it.source["follow_up"]["seed"])
        assert rnd == 3 and third.id != it.source["follow_up"]["template"]
