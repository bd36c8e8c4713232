"""The HTML report on sessions a user can have but the main tests do not: thirteen targets whose names
differ only past the charts' cut, a session with no items, answers full of markup and invisible
characters. Real sessions on the demo server, exported as `export -o` does."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from chromium import Chromium, find_chromium
from engine_helpers import TAXONOMY, bank, config_for, run_session, with_target
from hostile_server import HostileServer
from test_html_report import dom

from scsafety_tui.config import TargetConfig
from scsafety_tui.engine.session import create_session
from scsafety_tui.exports import export_to
from scsafety_tui.store.db import Store

LONG = [f"model-with-a-rather-long-name-{n:02d}-qwen2.5-72b-instruct" for n in range(10)]


async def _export(db: str, sid: int, tmp_path) -> str:
    store = await Store.open(db)
    try:
        return await export_to(store, str(sid), "html", str(tmp_path / "report.html"))
    finally:
        await store.close()


def _names(svg) -> list[str]:
    return [t.parts[-1] if t.parts else "" for t in svg.all("text", class_="name")]


async def _thirteen(db_file: str, demo_url: str, tmp_path, items: int = 3) -> str:
    config = config_for(demo_url, ("demo-guardian", "demo-pushover", "demo-wobbly"), retries=1)
    for n, key in enumerate(LONG):
        config = with_target(config, key, demo_url, ("demo-guardian", "demo-pushover", "demo-wobbly")[n % 3])
    sid, status, _ = await run_session(db_file, config, bank(items))
    assert status == "done"
    return await _export(db_file, sid, tmp_path)


async def test_thirteen_targets_keep_their_own_colour_and_a_name_that_tells_them_apart(db_file, demo_url,
                                                                                       tmp_path):
    """Before: the 13th target was drawn in the 1st one's colour, and the ten long names were all cut to
    'model-with-a-rather-lon…', so neither chart said which row or bar was which."""
    root = dom(await _thirteen(db_file, demo_url, tmp_path))
    order = ["demo-guardian", "demo-pushover", "demo-wobbly", *LONG]
    legend = root.one("svg", id="chart-categories")
    fills = [r.attrs["fill"] for r in legend.all("rect") if "class" not in r.attrs]
    assert len(fills) == 13 and len(set(fills)) == 13, fills
    labels = [t.parts[-1] for t in legend.all("text", class_="lg")]
    rows = _names(root.one("svg", id="chart-rounds"))
    assert labels == rows and len(set(rows)) == 13, rows
    for key, label in zip(order, rows, strict=True):
        head, _, tail = label.partition("…")
        assert key.startswith(head) and tail.rstrip("…") in key, (key, label)
    assert rows[3] == "model-…00-qwen2.5-72b-in…"
    # the whole name is a hover away, and every bar is its target's colour
    assert [(t.all("title") or [t])[0].text() for t in root.one("svg", id="chart-rounds").all("text", class_="name")
            ] == order
    bars = legend.all("rect", class_="bar")
    assert {b.attrs["data-target"]: b.attrs["fill"] for b in bars} == dict(zip(order, fills, strict=True))


async def test_a_session_with_no_items_says_so(db_file, demo_url, tmp_path):
    """It said 'no follow-ups in this bank: Total = R1', which is about a bank of single-turn items."""
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config_for(demo_url, ("demo-guardian",)), TAXONOMY, [], name="empty")
    finally:
        await store.close()
    page = await _export(db_file, sid, tmp_path)
    notes = [n.text() for n in dom(page).one("section", id="summary").all("p", class_="note")]
    assert notes[0] == "this session has no items: nothing was asked, nothing scored"
    assert not any("no follow-ups in this bank" in n for n in notes)


EVIL = ("</script><script>window.pwned=1</script> <!-- c --> ]]> <![CDATA[ x ]]> 前\u2028后 \u202eevil\u202c "
        "\u2066iso\u2069 zero\u200bwidth \x1b[31mred <style>*{display:none}</style> <a href='javascript:x'>a</a>")


async def test_markup_and_invisible_characters_in_answers_and_names_stay_text(db_file, demo_url, tmp_path):
    server = HostileServer({"evil": EVIL})
    url = await server.start()
    try:
        config = config_for(demo_url, ("demo-guardian",), retries=1)
        config = replace(config, targets=(*config.targets,
                                          TargetConfig(key="k<script><!--", provider="openai", base_url=url,
                                                       model="evil")))
        sid, _, _ = await run_session(db_file, config, bank(2), name="</title><!-- \u202e会话 ]]>")
    finally:
        await server.stop()
    page = await _export(db_file, sid, tmp_path)
    # one script element (the page's own), one style, no comment, no CDATA, no raw bidi or ESC
    assert len(re.findall(r"<script\b", page)) == 1 and len(re.findall(r"<style\b", page)) == 1
    assert "<!--" not in page and "]]>" not in page and "<![CDATA[" not in page
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b\x1b]", page)
    root = dom(page)
    assert root.all("title")[0].text() == "</title><!-- ⟨U+202E⟩会话 ]]>"
    cells = [a.text() for a in root.all("div", class_="ans") if "window.pwned" in a.text()]
    assert len(cells) == 4  # two items, two rounds, each the answer's exact text, marks made visible
    assert all("</script><script>window.pwned=1</script> <!-- c --> ]]>" in c and "⟨U+202E⟩evil⟨U+202C⟩" in c
               and "␛[31mred" in c for c in cells)


async def test_a_guard_judge_is_named_with_its_kind_and_its_raw_output_is_in_the_report(db_file, demo_url,
                                                                                         tmp_path):
    """README: a guard's raw output is shown with its reason in the exports. The page named the judge
    without its kind and dropped the raw text, a failed guard's ("what it said instead") included."""
    from scsafety_tui.demo_profile import demo_target

    config = config_for(demo_url, ("demo-pushover",), retries=1)
    guards = (replace(demo_target("q", demo_url, "demo-qwen3guard"), kind="qwen3guard"),
              replace(demo_target("prose", demo_url, "demo-guardian"), kind="llamaguard"))  # prose, not a verdict
    config = replace(config, judge=replace(config.judge, targets=guards, retries=0))
    sid, _, _ = await run_session(db_file, config, bank(1))
    root = dom(await _export(db_file, sid, tmp_path))
    assert "judge: q (qwen3guard), prose (llamaguard)" in root.one("header").text()
    lis = [li for li in root.all("li") if li.text().startswith("judge ")]
    q = [li for li in lis if li.text().startswith("judge q (qwen3guard): ")]
    prose = [li for li in lis if li.text().startswith("judge prose (llamaguard): error — ")]
    assert len(q) == len(prose) == 2  # one item, two rounds
    assert all("Safety: " in li.one("pre").text() for li in q)
    assert all(li.one("pre").text().strip() and "Safety: " not in li.one("pre").text() for li in prose)



@pytest.mark.skipif(find_chromium() is None, reason="no chromium binary (Debian: apt-get install chromium; "
                                                    ".ci/run installs it)")
async def test_the_matrix_header_stays_on_screen_while_a_reader_scrolls_the_answers(db_file, demo_url, tmp_path):
    """With thirteen targets, scrolled down into the answers, nothing said which column was which: the
    header was sticky inside a box that only scrolled sideways, so it left with the page. Now the matrix
    scrolls in its own box: a wheel over it moves the rows under a header that stays, and the item column
    stays at the left of a header it does not cover."""
    await _thirteen(db_file, demo_url, tmp_path, items=12)
    with Chromium.start(tmp_path) as browser:
        page = browser.new_page(1400, 900)
        page.navigate((tmp_path / "report.html").resolve().as_uri())
        page.wait_for("!document.getElementById('filters').hidden", "the report's script to run")
        page.evaluate("document.getElementById('matrix').scrollIntoView()")
        start = page.evaluate("window.scrollY")
        x, y = page.evaluate("(() => { const b = document.querySelector('#matrix-table tbody').getBoundingClientRect();"
                             " return [700, Math.min(b.top + 300, innerHeight - 50)]; })()")
        # a reader's wheel down the answers: whatever it scrolls (the page, before; the matrix's box, now)
        page.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": 2500})
        page.wait_for(f"window.scrollY > {start} + 100 || document.querySelector('.scroll').scrollTop > 100",
                      "the wheel to scroll the answers")
        page.evaluate("document.querySelector('.scroll').scrollLeft = 2500")  # and across the targets
        seen = page.evaluate("""(() => {
          const heads = Array.from(document.querySelectorAll('#matrix-table thead tr:first-child th')).slice(1);
          const head = heads.find(h => { const b = h.getBoundingClientRect(); return b.left > 300 && b.right < 1300; });
          const b = head.getBoundingClientRect(), corner = document.querySelector('#matrix-table thead th');
          const c = corner.getBoundingClientRect();
          const body = document.querySelector('#matrix-table tbody tr:first-child').getBoundingClientRect();
          return {name: head.textContent, top: b.top, bottom: b.bottom, hit: document.elementFromPoint(
            (b.left + b.right) / 2, (b.top + b.bottom) / 2) === head, corner: [c.left, c.top],
            rowsUnder: body.top < b.top, vh: innerHeight}; })()""")
        assert seen["rowsUnder"], seen  # the answers did scroll
        assert seen["top"] >= 0 and seen["bottom"] < seen["vh"] / 3 and seen["hit"], seen
        assert seen["name"] in LONG and seen["corner"][0] < 30, seen
        shot = page.screenshot(tmp_path / "matrix-scrolled.png", full_page=False)
    assert shot.read_bytes().startswith(b"\x89PNG")
    print(f"screenshot of the scrolled matrix: {shot}")
