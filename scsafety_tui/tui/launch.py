"""Entry points the CLI calls: the app on a database, or a live demo against the loopback personas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from scsafety_tui.config import Config
from scsafety_tui.store.db import Store


async def _create(db: str, create: Callable[[Store], Awaitable[int]]) -> int:
    store = await Store.open(db)
    try:
        return await create(store)
    finally:
        await store.close()


def launch(*, db: str, config: Config | None, create: Callable[[Store], Awaitable[int]] | None) -> int:
    """Open the app. With `create`, make the session first (errors surface before the UI starts) and
    open its run screen; without, open on the home screen."""
    from scsafety_tui.tui.app import ScSafetyApp

    session_id = asyncio.run(_create(db, create)) if create is not None else None
    app = ScSafetyApp(db=db, config=config, session_id=session_id, start=True, run_config=config)
    result = app.run()
    return result if isinstance(result, int) else app.return_code or 0


def launch_resume(*, db: str, session_id: int, config: Config | None, retry_errors: bool) -> int:
    """`resume` in the app: the session's run screen, running. Which config it runs with is the app's one
    rule (run_config_for: the snapshot, the given config's targets by key, a demo session against a demo
    server the app starts)."""
    from scsafety_tui.tui.app import ScSafetyApp

    app = ScSafetyApp(db=db, config=config, session_id=session_id, start=True, retry_errors=retry_errors)
    result = app.run()
    return result if isinstance(result, int) else app.return_code or 0


def launch_demo(*, db: str, limit: int, first_token_delay: float, token_delay: float,
                name: str | None) -> int:
    """A live run of the shipped bank against the four demo personas, judged by the demo judge. The
    server runs on a free loopback port in a background thread; nothing is written to the user's config."""
    from scsafety_tui.demo.launch import DemoServerThread
    from scsafety_tui.engine.plan import demo_plan, session_creator
    from scsafety_tui.tui.app import ScSafetyApp

    with DemoServerThread(first_token_delay=first_token_delay, token_delay=token_delay) as server:
        plan = demo_plan(server.url, limit, name, concurrency=4)
        session_id = asyncio.run(_create(db, session_creator(plan)))
        app = ScSafetyApp(db=db, config=None, session_id=session_id, start=True, run_config=plan.config,
                          demo=server)
        result = app.run()
    return result if isinstance(result, int) else app.return_code or 0


def serve(command: str, *, host: str, port: int, public_url: str | None) -> None:
    """`scsafety-tui serve`: textual-serve runs `command` (the app) once per browser connection; it is a
    Textual package, so it is reached from the CLI through this module, like the app itself."""
    from textual_serve.server import Server

    Server(command, host=host, port=port, title="scsafety-tui", public_url=public_url).serve()
