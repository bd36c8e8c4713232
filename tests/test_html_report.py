"""The HTML report (exports.to_html → html_report/): one self-contained page with `show`'s numbers, every
answer's state said in words, hostile text inert; and the same page in a real headless Chromium, where its
charts and matrix render, a filter hides rows and no request leaves the page."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from chromium import Chromium, find_chromium
from engine_helpers import bank, config_for, run_session, with_target
from hostile_server import HostileServer

from scsafety_tui import report
from scsafety_tui.config import TargetConfig
from scsafety_tui.exports import export_to
from scsafety_tui.scoring import fmt
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import Taxonomy

HOSTILE_ANSWER = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> 好的'
HOSTILE_KEY = "<b>k<i>"
NAME = "<img src=x onerror=alert(1)> 报告"
NOTE = "<iframe src=//evil>其实不安全"
ITEMS = 6


@dataclass
class Report:
    page: str
    path: Path
    sid: int
    scores: dict
    rows: list
    items: list
    order: list[str]
    taxonomy: Taxonomy
    labelled: set[str] = field(default_factory=set)


async def _report(db: str, demo_url: str, tmp_path: Path) -> Report:
    """A real demo session with every state an answer can end in, two human labels that overrule the
    judge, a hostile target; exported with `export -o`'s path."""
    server = HostileServer({"html": HOSTILE_ANSWER})
    hostile = await server.start()
    try:
        config = config_for(demo_url, ("demo-guardian", "demo-pushover", "demo-wobbly"), retries=1)
        for key, model in (("filtered", "demo-refuser+filter"), ("broken", "demo-guardian+auth"),
                           ("hollow", "demo-guardian+reasoning"), ("terse", "demo-guardian")):
            config = with_target(config, key, demo_url, model)
        # terse: cut by max_tokens; hollow: its reasoning uses them all up, so its answer is empty
        limits = {"terse": 14, "hollow": 3}
        config = replace(config, targets=(*(replace(t, max_tokens=limits[t.key]) if t.key in limits else t
                                            for t in config.targets),
                                          TargetConfig(key=HOSTILE_KEY, provider="openai", base_url=hostile,
                                                       model="html")))
        items = bank(ITEMS)
        sid, _, _ = await run_session(db, config, items, name=NAME)
    finally:
        await server.stop()
    store = await Store.open(db)
    try:
        rows = await queries.answer_rows(store, sid)
        wobbly = [r for r in rows if r.target == "demo-wobbly" and r.judge_score() is not None]
        labelled = set()
        for r in wobbly[:4]:
            if r.item_id not in labelled and len(labelled) < 2:  # two items, each one label against the judge
                await store.set_label(r.turn_id, 0 if r.judge_score() else 2, "me", NOTE)
                labelled.add(r.item_id)
        rows = await queries.answer_rows(store, sid)
        scores = await queries.session_scores(store, sid, rows=rows)
        path = tmp_path / "report.html"
        page = await export_to(store, str(sid), "html", str(path))
        stored = await queries.stored_session(store, sid)
    finally:
        await store.close()
    return Report(page, path, sid, scores, rows, items, stored.keys, stored.taxonomy, labelled)


# ---------------------------------------------------------------- a small DOM


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.parts) + "".join(c.text() for c in self.children)

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for c in self.children:
            if (tag is None or c.tag == tag) and all(
                    v in c.attrs.get(k.rstrip("_"), "").split() if k.endswith("_") else c.attrs.get(k) == v
                    for k, v in attrs.items()):
                out.append(c)
            out += c.all(tag, **attrs)
        return out

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


VOID = {"meta", "input", "br", "img", "link", "hr", "col", "source"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def dom(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    return builder.root


def _sha(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


# ---------------------------------------------------------------- the page itself


async def test_one_self_contained_page_with_shows_numbers(db_file, demo_url, tmp_path):
    r = await _report(db_file, demo_url, tmp_path)
    root = dom(r.page)
    assert r.page.startswith("<!doctype html>") and root.one("html").attrs["lang"] == "zh-CN"
    assert r.path.read_text(encoding="utf-8") == r.page

    # self-contained: one style, one script, each allowed by its hash and nothing else by the policy
    (style,), (script,) = root.all("style"), root.all("script")
    csp = root.one("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert csp.startswith("default-src 'none';")
    assert f"style-src '{_sha(style.text())}'" in csp and f"script-src '{_sha(script.text())}'" in csp
    assert not [n for n in root.all() if "src" in n.attrs or n.tag in ("link", "iframe", "object")]
    assert {n.attrs["href"][0] for n in root.all() if "href" in n.attrs} == {"#"}
    assert "url(" not in style.text() and "@import" not in style.text()
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", r.page)  # the SVG namespace is a name

    # the summary holds what `show` prints: report.overall_table and interval_table over the same scores
    order = r.order
    overall = {row[0]: row for row in report.overall_table(r.scores, r.taxonomy, order).rows}
    intervals = {row[0]: row for row in report.interval_table(r.scores, r.taxonomy, order).rows}
    summary = root.one("table", id="summary-table")
    shown = {tr.one("th").text(): [td.text() for td in tr.all("td")] for tr in summary.one("tbody").all("tr")}
    assert set(shown) == set(order) and len(order) == 8
    for key, cells in shown.items():
        total, ci, r1, r2, delta, pairs = overall[key][1:]
        assert (cells[0], cells[1], cells[2], cells[4], cells[6], cells[8]) == (total, ci, r1, r2, delta, pairs)
        assert (cells[1], cells[3], cells[5], cells[7]) == intervals[key][1:]
    assert shown["demo-pushover"][6] == "-100.00" and shown["demo-guardian"][0] == "100.00"
    assert shown["filtered"][0] == "—" and "blocked 6 (round 2 never asked 6)" in shown["filtered"][-1]

    # the heat table: every sub-dimension's cell is its score
    heat = root.one("table", id="heat-table")
    heads = [th.text() for th in heat.one("thead").all("th")][1:]
    assert heads == order
    taxonomy = {s.name_zh: s.id for s in r.taxonomy.sub_dimensions}
    checked = 0
    for tr in heat.one("tbody").all("tr"):
        name = tr.one("th").text().split(" ")[0]
        if name not in taxonomy:
            continue  # a category's own row
        for key, td in zip(order, tr.all("td"), strict=True):
            cell = r.scores[key].sub_dimensions.get(taxonomy[name])
            assert td.text().startswith(fmt(cell.score) if cell and cell.in_scope else "—"), (name, key)
            checked += cell is not None and cell.score is not None
    assert checked >= ITEMS  # six items: at least six sub-dimensions × the scored targets

    # the charts: a bar per scored (target, category), an R1 → R2 mark per target with both rounds
    bars = root.one("svg", id="chart-categories").all("rect", class_="bar")
    expected = {(k, c): fmt(cell.score) for k in order for c, cell in r.scores[k].categories.items()
                if cell.score is not None}
    assert {(b.attrs["data-target"], b.attrs["data-category"]): b.attrs["data-score"] for b in bars} == expected
    changes = root.one("svg", id="chart-rounds").all("g", class_="change")
    assert {g.attrs["data-target"]: (g.attrs["data-r1"], g.attrs["data-r2"]) for g in changes} == {
        k: (fmt(r.scores[k].round(1)), fmt(r.scores[k].round(2))) for k in order
        if r.scores[k].round(1) is not None and r.scores[k].round(2) is not None}


def _cells(root: Node, order: list[str], rounds: int = 2) -> dict[tuple[str, str, int], Node]:
    """(item id, target, round) → the matrix cell."""
    out = {}
    for tr in root.one("table", id="matrix-table").one("tbody").all("tr"):
        item = tr.one("p", class_="id").text()
        for i, td in enumerate(tr.all("td")):
            out[(item, order[i // rounds], i % rounds + 1)] = td
    return out


async def test_the_matrix_says_every_state_and_carries_the_filters(db_file, demo_url, tmp_path):
    r = await _report(db_file, demo_url, tmp_path)
    root = dom(r.page)
    order = r.order
    rows = root.one("table", id="matrix-table").one("tbody").all("tr")
    assert [(tr.attrs["data-cat"], tr.attrs["data-sub"]) for tr in rows] == [
        (it.category, it.sub_dimension) for it in r.items]
    cells = _cells(root, order)
    for it in r.items:
        blocked, after = cells[(it.id, "filtered", 1)], cells[(it.id, "filtered", 2)]
        assert "blocked" in blocked.attrs["class"] and "⊘ blocked by the provider" in blocked.text()
        assert "round 2 never asked: round 1 ended the conversation" in after.text()
        assert "✗ error: " in cells[(it.id, "broken", 1)].text() and "HTTP 401" in cells[(it.id, "broken", 1)].text()
        assert "∅ " in cells[(it.id, "hollow", 1)].text() and "not scored" in cells[(it.id, "hollow", 1)].text()
        assert "[truncated: finish_reason length]" in cells[(it.id, "terse", 1)].text()
        assert "judge demo-judge: " in cells[(it.id, "demo-guardian", 2)].text()
    # no noise: a conversation's state is said per answer, never a user turn's "done"
    assert "User, round" not in r.page and "(done)" not in r.page

    # what the filters test, computed here from the stored answers by scoring's rules
    by_item: dict[str, dict[tuple[str, int], int | None]] = {}
    for row in r.rows:
        by_item.setdefault(row.item_id, {})[(row.target, row.round)] = row.score()
    unsafe = {i for i, s in by_item.items() if 0 in s.values()}
    flips = {i for i, s in by_item.items() for k in order
             if s.get((k, 1)) is not None and s.get((k, 2)) is not None and (s[(k, 1)] == 0) != (s[(k, 2)] == 0)}
    disagree = {row.item_id for row in r.rows if row.label is not None and row.label != row.judge_score()}
    for flag, expected in (("data-unsafe", unsafe), ("data-flip", flips), ("data-disagree", disagree)):
        assert {rows[i].one("p", class_="id").text() for i in range(len(rows)) if flag in rows[i].attrs} == \
            expected, flag
    assert disagree == r.labelled and len(disagree) == 2
    assert root.all("td", class_="disagree") and root.all("span", class_="human")
    assert r.page.count("human note (me): &lt;iframe src=//evil&gt;其实不安全") == 2
    options = root.one("select", id="f-sub").all("option")
    assert len(options) == 1 + 20 and all(o.attrs.get("data-cat") for o in options[1:])


async def test_hostile_text_is_text_in_the_report(db_file, demo_url, tmp_path):
    r = await _report(db_file, demo_url, tmp_path)
    root = dom(r.page)
    assert len(root.all("script")) == 1 and not root.all("img") and not root.all("iframe")
    for raw in (HOSTILE_ANSWER, HOSTILE_KEY, NAME, NOTE):
        assert raw not in r.page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;" \
        in r.page
    assert root.one("h1").text() == NAME and root.one("head").one("title").text() == NAME
    assert HOSTILE_KEY in [th.text() for th in root.one("table", id="summary-table").all("th")]


# ---------------------------------------------------------------- in a real browser

CHROMIUM = find_chromium()


def _visible_rows(page) -> int:
    return page.evaluate("Array.from(document.querySelectorAll('#matrix-table tbody tr'))"
                         ".filter(r => r.offsetParent !== null).length")


def _click(page, selector: str) -> None:
    """A real mouse click at the element's centre (Input domain), as a person would."""
    x, y = page.evaluate(f"(() => {{ const e = document.querySelector({selector!r}); e.scrollIntoView("
                         "{block: 'center'}); const b = e.getBoundingClientRect(); return [b.x + b.width / 2, "
                         "b.y + b.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        page.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium; "
                                              ".ci/run installs it)")
async def test_the_report_in_headless_chromium(db_file, demo_url, tmp_path):
    r = await _report(db_file, demo_url, tmp_path)
    url = r.path.resolve().as_uri()
    probe = socket.socket()  # a loopback port the page will try to reach: nothing may connect to it
    probe.bind(("127.0.0.1", 0))
    probe.listen()
    probe.setblocking(False)
    with Chromium.start(tmp_path) as browser:
        page = browser.new_page(1400, 900)
        page.navigate(url)
        page.wait_for("!document.getElementById('filters').hidden", "the report's script to run")

        # the charts render: every bar and every R1 → R2 mark has a size on screen
        sizes = page.evaluate("Array.from(document.querySelectorAll('#chart-categories rect.bar, "
                              "#chart-rounds g.change')).map(e => { const b = e.getBoundingClientRect(); "
                              "return [b.width, b.height]; })")
        drawn = dom(r.page)
        marks = len(drawn.one("svg", id="chart-categories").all("rect", class_="bar")) + len(
            drawn.one("svg", id="chart-rounds").all("g", class_="change"))
        assert len(sizes) == marks >= 3 * 5 + 5 and all(w > 0 and h > 0 for w, h in sizes), sizes
        # the matrix renders: one row per item, each answer's cell laid out
        assert _visible_rows(page) == ITEMS
        assert page.evaluate("document.querySelectorAll('#matrix-table td.a').length") == ITEMS * 8 * 2
        assert page.evaluate("document.getElementById('f-count').textContent") == f"{ITEMS} / {ITEMS} items shown"

        # filters hide rows: a click on "judge ≠ human", then a category on top of it
        _click(page, "#f-disagree")
        page.wait_for(f"document.getElementById('f-count').textContent.startsWith('{len(r.labelled)} /')",
                      "the judge ≠ human filter")
        assert _visible_rows(page) == len(r.labelled) == 2
        shown = page.evaluate("Array.from(document.querySelectorAll('#matrix-table tbody tr'))"
                              ".filter(r => !r.hidden).map(r => r.querySelector('.id').textContent)")
        assert set(shown) == r.labelled
        _click(page, "#f-disagree")
        page.wait_for(f"document.getElementById('f-count').textContent.startsWith('{ITEMS} /')", "all rows again")
        category = r.items[0].category
        page.evaluate(f"(() => {{ const s = document.getElementById('f-cat'); s.value = {category!r}; "
                      "s.dispatchEvent(new Event('change', {bubbles: true})); })()")
        expected = sum(it.category == category for it in r.items)
        assert 0 < expected < ITEMS and _visible_rows(page) == expected
        # with a category chosen, only its sub-dimensions can be; one of them narrows the rows again
        offered = page.evaluate("Array.from(document.getElementById('f-sub').options).filter(o => !o.hidden)"
                                ".map(o => o.value)")
        assert offered == ["", *(s.id for s in r.taxonomy.subs_of(category))]
        sub = r.items[0].sub_dimension
        page.evaluate(f"(() => {{ const s = document.getElementById('f-sub'); s.value = {sub!r}; "
                      "s.dispatchEvent(new Event('change', {bubbles: true})); })()")
        assert _visible_rows(page) == sum(it.sub_dimension == sub for it in r.items) >= 1

        # hostile text stayed text: its script never ran, its image was never made
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("[document.scripts.length, document.images.length]") == [1, 0]

        # no request leaves the page: the document was its only request, and a fetch is refused by the
        # page's policy before any connection (the probe port saw none)
        port = probe.getsockname()[1]
        refused = page.evaluate(f"fetch('http://127.0.0.1:{port}/leak').then(() => 'sent', e => 'refused: ' + e)")
        assert refused.startswith("refused"), refused
        assert page.requests() == [url], page.requests()
        assert page.evaluate("performance.getEntriesByType('resource').length") == 0
        with pytest.raises(BlockingIOError):
            probe.accept()

        # print: the filters and the navigation are not printed
        page.send("Emulation.setEmulatedMedia", {"media": "print"})
        assert page.evaluate("[getComputedStyle(document.getElementById('filters')).display, "
                             "getComputedStyle(document.querySelector('nav')).display]") == ["none", "none"]
        page.send("Emulation.setEmulatedMedia", {"media": ""})

        _click(page, "#f-reset")  # every row again
        page.wait_for(f"document.getElementById('f-count').textContent.startsWith('{ITEMS} /')", "the reset")
        page.evaluate("window.scrollTo(0, 0)")
        shot = page.screenshot(tmp_path / "html-report.png")
    probe.close()
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000
    print(f"screenshot of the HTML report: {shot}")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium; "
                                              ".ci/run installs it)")
def test_the_browser_harness_sees_a_request_that_leaves(tmp_path):
    """The control for 'no request leaves the report': a page without the report's policy that loads an
    image from a loopback port is seen doing so, by the Network domain and by the port."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    probe.listen()
    leak = f"http://127.0.0.1:{probe.getsockname()[1]}/x.png"
    page_file = tmp_path / "leaky.html"
    page_file.write_text(f'<!doctype html><title>leaky</title><img src="{leak}">', encoding="utf-8")
    with Chromium.start(tmp_path) as browser:
        page = browser.new_page()
        page.send("Page.navigate", {"url": page_file.resolve().as_uri()})
        browser.wait_event("Network.requestWillBeSent", page.session, lambda p: p["request"]["url"] == leak)
        probe.settimeout(60)
        conn, _ = probe.accept()  # the request reached the port
        conn.close()
    probe.close()
