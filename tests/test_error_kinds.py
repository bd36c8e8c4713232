"""Every provider error names the kind a failed turn is stored with; a subclass keeps its parent's kind."""

from __future__ import annotations

import sqlite3

import pytest
from engine_helpers import TAXONOMY, bank, config_for

import scsafety_tui.providers.base as base
from scsafety_tui.engine.runner import Runner
from scsafety_tui.engine.session import create_session
from scsafety_tui.events import TurnFailed
from scsafety_tui.judge import Judge
from scsafety_tui.providers.client import ModelClient, make_http_client
from scsafety_tui.providers.retry import RetryPolicy
from scsafety_tui.store.db import Store

KINDS = {"rate_limited", "transient", "malformed", "auth", "bad_request", "blocked"}
"""The kinds TurnFailed documents for provider errors (cancelled and empty come from the engine)."""


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_the_tree_has_every_class_it_draws():
    names = {c.__name__ for c in _subclasses(base.ProviderError)}
    assert names >= {"RateLimited", "TransientError", "MalformedStream", "AuthError", "BadRequest",
                     "HostNotAllowed", "ContentFiltered"}


@pytest.mark.parametrize("cls", _subclasses(base.ProviderError), ids=lambda c: c.__name__)
def test_every_provider_error_has_a_kind(cls):
    assert cls.kind in KINDS, f"{cls.__name__}.kind is {cls.kind!r}"
    assert f"{cls.__name__}" in base.__doc__ and f" {cls.kind} " in base.__doc__  # drawn in the tree
    for parent in cls.__mro__[1:]:
        if parent is not base.ProviderError and issubclass(parent, base.ProviderError):
            assert cls.kind == parent.kind, f"{cls.__name__} is a {parent.__name__} but not of its kind"


async def test_a_refused_host_is_stored_as_bad_request(demo_url, db_file):
    """A request the allow-list refuses is a BadRequest, stored as such (it was stored as kind 'error')."""
    config = config_for(demo_url, ("demo-guardian",), heuristic=True)
    target = config.targets[0]
    items = bank(1)
    events: list[object] = []
    store = await Store.open(db_file)
    try:
        sid = await create_session(store, config, TAXONOMY, items, name="refused")
        async with make_http_client("httpx", allowed_hosts=["api.example.invalid"]) as http:
            client = ModelClient(target, http, RetryPolicy(attempts=3), None)
            runner = Runner(store=store, session_id=sid, name="refused", items=items,
                            clients={target.key: client}, judge=Judge(TAXONOMY), rounds=0, emit=events.append)
            status = await runner.run([(conv, 0) for conv in await store.conversations(sid)])
    finally:
        await store.close()
    assert status == "done"
    failed = [e for e in events if isinstance(e, TurnFailed)]
    assert [(e.kind, "refused to contact" in e.error) for e in failed] == [("bad_request", True)]
    con = sqlite3.connect(db_file)
    rows = con.execute("SELECT status, error_kind, error FROM turn WHERE role = 'assistant'").fetchall()
    con.close()
    assert [(s, k) for s, k, _ in rows] == [("error", "bad_request")]
    assert "not a host named in the config" in rows[0][2]
