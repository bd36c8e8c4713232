"""The sessions screen's search says what it found as it lists it: answers and questions counted apart
(a bank question is listed once for all targets), sessions counted, "1 answer" not "1 turns", and a capped
list says it is capped."""

from __future__ import annotations

import sqlite3

from engine_helpers import bank, config_for, run_session
from test_tui_sessions import _sessions
from test_tui_support import SIZE, app_for, wait_until
from textual.widgets import DataTable

from scsafety_tui.tui.screens.sessions import SEARCH_CAP


async def _search(pilot, text: str) -> DataTable:
    screen = await _sessions(pilot)
    await pilot.press("slash", *text)
    hits = screen.query_one("#search-hits", DataTable)
    await wait_until(pilot, lambda: hits.display and hits.row_count
                     and text in str(hits.border_title), what="search hits")
    return hits


async def test_one_answer_reads_one_answer(db_file, demo_url):
    await run_session(db_file, config_for(demo_url, ("demo-pushover",)), bank(2))
    con = sqlite3.connect(db_file)
    # one answer made unique: the search must find it alone, and say so in the singular
    turn_id = con.execute("SELECT id FROM turn WHERE role = 'assistant' ORDER BY id LIMIT 1").fetchone()[0]
    con.execute("UPDATE turn SET content = content || ' 独一无二的标记' WHERE id = ?", (turn_id,))
    con.commit()
    con.close()
    async with app_for(db_file, None).run_test(size=SIZE) as pilot:
        hits = await _search(pilot, "独一无二的标记")
        assert hits.row_count == 1
        assert str(hits.border_title).startswith("1 answer containing '独一无二的标记' in 1 session "), \
            hits.border_title


async def test_more_hits_than_listed_say_the_list_is_capped(db_file, demo_url):
    # the guardian's refusals give the same advice: most of its answers match, in two sessions
    for _ in range(2):
        await run_session(db_file, config_for(demo_url, ("demo-guardian",)), bank(0))
    con = sqlite3.connect(db_file)
    matching = con.execute("SELECT count(*) FROM turn WHERE role = 'assistant' AND content LIKE '%建议%'"
                           ).fetchone()[0]
    con.close()
    assert matching > SEARCH_CAP
    async with app_for(db_file, None).run_test(size=SIZE) as pilot:
        hits = await _search(pilot, "建议")
        assert hits.row_count == SEARCH_CAP
        assert str(hits.border_title).startswith(f"first {SEARCH_CAP} shown (more match"), hits.border_title
