"""One long-lived aiosqlite connection: open/migrate, and every write the engine makes.

Writes run in an open transaction that is committed in groups: ``sync()`` commits everything written so
far, and concurrent callers share one commit. Partial answers are written at most about once a second
per turn, never per token.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiosqlite

from scsafety_tui.errors import InputError
from scsafety_tui.questions import Item
from scsafety_tui.store.schema import MIGRATIONS, SCHEMA_VERSION

T = TypeVar("T")
log = logging.getLogger(__name__)


class StoreError(InputError):
    """The database file cannot be used (corrupt, not SQLite, from a newer version)."""


class StoreWriteError(StoreError):
    """A write failed (disk full, file made read-only, I/O error). The store refuses every later write,
    so a run stops at once; what was committed before stays, and the session can be resumed."""


def _fatal(e: sqlite3.Error) -> bool:
    # IntegrityError and ProgrammingError are bugs in our SQL, not the disk's fault
    return isinstance(e, sqlite3.DatabaseError) and not isinstance(
        e, sqlite3.IntegrityError | sqlite3.ProgrammingError)


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: int
    item_key: str
    target_key: str
    status: str
    attempt: int
    follow_up: str = ""
    """conversation.follow_up: the follow-up it gets (follow_ups.FollowUp as JSON; '' = its bank turns)."""


def encode_timeline(chunks: list[tuple[float, str]]) -> str:
    """[offset ms, length] per chunk, flattened: the text itself is the turn's content."""
    flat: list[int] = []
    for offset, text in chunks:
        flat.append(round(offset * 1000))
        flat.append(len(text))
    return json.dumps(flat, separators=(",", ":"))


def decode_timeline(raw: str | None, content: str) -> list[tuple[float, str]]:
    if not raw:
        return [(0.0, content)] if content else []
    flat = json.loads(raw)
    out, pos = [], 0
    for i in range(0, len(flat), 2):
        n = flat[i + 1]
        out.append((flat[i] / 1000, content[pos:pos + n]))
        pos += n
    if pos < len(content):  # content longer than the timeline (never expected): keep every character
        out.append((out[-1][0] if out else 0.0, content[pos:]))
    return out


class Store:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._dirty = False
        self.failed: StoreWriteError | None = None
        """Set by the first failed write; every later write raises it instead of trying."""

    # ------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, path: str | Path, *, readonly: bool = False) -> Store:
        """The store at path. readonly: never writes (no WAL switch, no migration on disk, no new file);
        what the read commands use, so a read-only file can be shown and exported."""
        p = str(path)
        if readonly:
            return await cls._open_readonly(p)
        if p != ":memory:":
            Path(p).parent.mkdir(parents=True, exist_ok=True)
        conn = await cls._connect(p, p)
        store = cls(conn, p)
        try:
            await store._check_ours()
            await store._setup()
        except sqlite3.DatabaseError as e:
            await conn.close()
            raise StoreError(f"{p}: not a usable scsafety-tui database ({e})") from None
        except BaseException:
            await conn.close()
            raise
        return store

    @classmethod
    async def _open_readonly(cls, p: str) -> Store:
        if p != ":memory:" and not Path(p).is_file():
            raise StoreError(f"{p}: no such database (see `scsafety-tui paths`, or pass --db)")
        # With no -wal file no writer is active: read the file as immutable, which creates no -wal/-shm
        # beside it. With one, a run is going on: read-only mode sees its commits as they land.
        live = Path(p + "-wal").exists()
        uri = f"file:{quote(str(Path(p).resolve()))}?{'mode=ro' if live else 'immutable=1'}"
        conn = await cls._connect(uri, p, uri=True)
        store = cls(conn, p)
        try:
            try:
                await store._check_ours()
            except sqlite3.OperationalError:
                # a WAL file on a read-only disk cannot get its -shm: read it as an immutable file
                await conn.close()
                conn = store.conn = await cls._connect(uri.replace("mode=ro", "immutable=1"), p, uri=True)
                await store._check_ours()
            conn.row_factory = aiosqlite.Row
            check = (await store.fetchall("PRAGMA quick_check"))[0][0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            version = (await store.fetchall("PRAGMA user_version"))[0][0]
            if version < SCHEMA_VERSION:
                # an older file is read through an upgraded copy in memory; the file stays as it is
                mem = await aiosqlite.connect(":memory:")
                await conn.backup(mem)
                await conn.close()
                store.conn = conn = mem
                conn.row_factory = aiosqlite.Row
                await store.migrate()
        except sqlite3.DatabaseError as e:
            await store.conn.close()
            raise StoreError(f"{p}: not a usable scsafety-tui database ({e})") from None
        except BaseException:
            await store.conn.close()
            raise
        return store

    @staticmethod
    async def _connect(target: str, shown: str, uri: bool = False) -> aiosqlite.Connection:
        try:
            return await aiosqlite.connect(target, uri=uri)
        except sqlite3.Error as e:
            raise StoreError(f"{shown}: cannot open database: {e}") from None

    async def _check_ours(self) -> None:
        """Refuse a foreign SQLite file before anything is written to it (tables, WAL mode)."""
        rows = list(await self.conn.execute_fetchall("PRAGMA user_version"))
        version: int = rows[0][0]
        names = {r[0] for r in await self.conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: database schema v{version} is newer than this build "
                             f"(v{SCHEMA_VERSION}); upgrade scsafety-tui")
        if (version == 0 and names) or (version > 0 and "session" not in names):
            shown = ", ".join(sorted(names)[:4]) + ("…" if len(names) > 4 else "")
            raise StoreError(f"{self.path}: not a scsafety-tui database (it holds other tables: {shown});"
                             " pass another --db")

    async def _setup(self) -> None:
        self.conn.row_factory = aiosqlite.Row
        await self.conn.execute("PRAGMA journal_mode=WAL")
        await self.conn.execute("PRAGMA synchronous=NORMAL")
        await self.conn.execute("PRAGMA foreign_keys=ON")
        await self.conn.execute("PRAGMA busy_timeout=5000")
        check = (await self.fetchall("PRAGMA quick_check"))[0][0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {check}")
        await self.migrate()

    async def migrate(self, target: int = SCHEMA_VERSION) -> None:
        version = (await self.fetchall("PRAGMA user_version"))[0][0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: database schema v{version} is newer than this build "
                             f"(v{SCHEMA_VERSION}); upgrade scsafety-tui")
        for step in range(version, target):
            await self.conn.executescript(
                f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;")

    async def close(self) -> None:
        try:
            if self.failed is None:
                await self.sync()
        finally:
            await self.conn.close()

    async def sync(self) -> None:
        """Commit everything written so far."""
        if self._dirty:
            self._dirty = False
            await self._guard(self.conn.commit())

    async def _guard(self, op: Awaitable[T]) -> T:
        """Run one write; the first failure the disk causes fails the store for good (see StoreWriteError)."""
        if self.failed is not None:
            close = getattr(op, "close", None)
            if close is not None:
                close()  # the coroutine never runs
            raise self.failed
        try:
            return await op
        except sqlite3.Error as e:
            if not _fatal(e):
                raise
            self.failed = StoreWriteError(f"{self.path}: cannot save to the database: {e}")
            log.error("store write failed, every later write refused: %s", self.failed)
            raise self.failed from None

    async def _write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._dirty = True
        await (await self._guard(self.conn.execute(sql, params))).close()

    async def _write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._dirty = True
        await (await self._guard(self.conn.executemany(sql, rows))).close()

    async def _insert(self, sql: str, params: tuple[Any, ...]) -> int:
        # One thread call that finishes the statement: a cursor left open on this shared connection
        # would make another task's commit fail ("SQL statements in progress").
        self._dirty = True
        row = await self._guard(self.conn.execute_insert(sql, params))
        assert row is not None
        rowid: int = row[0]
        return rowid

    async def swap(self, sql: str, params: tuple[Any, ...] = ()) -> bool:
        """One UPDATE, committed at once; True when it changed a row (a compare-and-swap that other
        processes see)."""
        cursor = await self._guard(self.conn.execute(sql, params))
        changed = cursor.rowcount > 0
        await cursor.close()
        self._dirty = True
        await self.sync()
        return changed

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of a query, fetched in one thread call (same reason as _insert)."""
        return list(await self.conn.execute_fetchall(sql, params))

    async def repair_search_index(self) -> bool:
        """Rebuild the search index when it disagrees with the turns; True when it had to.

        Its triggers keep it in step with every write, but a file written by an older build, or a
        failure part-way through a write, may leave it otherwise; a stale index must never block a
        resume (deleting a turn the index disagrees with corrupts it further).
        """
        try:
            await self.conn.execute("INSERT INTO turn_fts(turn_fts, rank) VALUES ('integrity-check', 1)")
            return False
        except sqlite3.DatabaseError:  # "database disk image is malformed": the index alone
            await self._write("INSERT INTO turn_fts(turn_fts) VALUES ('rebuild')")
            await self.sync()
            return True

    # ------------------------------------------------------------ sessions

    async def create_session(self, *, name: str, kind: str, config: dict[str, Any],
                             taxonomy: dict[str, Any], fingerprint: str, targets: list[Any],
                             items: list[Item]) -> int:
        """A new session with its targets, frozen items and one pending conversation per pair."""
        sid = await self._insert(
            "INSERT INTO session (name, kind, status, created_at, config, taxonomy, bank_fingerprint)"
            " VALUES (?, ?, 'pending', ?, ?, ?, ?)",
            (name, kind, time.time(), json.dumps(config, ensure_ascii=False),
             json.dumps(taxonomy, ensure_ascii=False), fingerprint))
        target_ids = []
        for pos, t in enumerate(targets):
            params = {"temperature": t.temperature, "max_tokens": t.max_tokens, **t.params}
            target_ids.append(await self._insert(
                "INSERT INTO target (session_id, position, key, provider, base_url, model, params)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, pos, t.key, t.provider, t.base_url, t.model, json.dumps(params))))
        await self._write_many(
            "INSERT INTO item (session_id, position, item_key, category, sub_dimension, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(sid, pos, it.id, it.category, it.sub_dimension, json.dumps(it.to_dict(), ensure_ascii=False))
             for pos, it in enumerate(items)])
        await self._write(
            "INSERT INTO conversation (session_id, item_id, target_id)"
            " SELECT ?, item.id, target.id FROM item, target"
            " WHERE item.session_id = ? AND target.session_id = ?"
            " ORDER BY item.position, target.position", (sid, sid, sid))
        await self.sync()
        return sid

    async def set_session_status(self, sid: int, status: str, finished: bool = False) -> None:
        await self._write("UPDATE session SET status = ?, finished_at = ? WHERE id = ?",
                          (status, time.time() if finished else None, sid))
        await self.sync()

    async def add_active_time(self, sid: int, seconds: float) -> None:
        """A run's active time (pauses left out), added to the session's: what `elapsed` shows later."""
        await self._write("UPDATE session SET active_s = coalesce(active_s, 0) + ? WHERE id = ?",
                          (max(0.0, seconds), sid))
        await self.sync()

    async def rename_session(self, sid: int, name: str) -> None:
        await self._write("UPDATE session SET name = ? WHERE id = ?", (name, sid))
        await self.sync()

    async def delete_session(self, sid: int) -> None:
        await self._write("DELETE FROM session WHERE id = ?", (sid,))
        await self.sync()

    # ------------------------------------------------------------ conversations and turns

    async def conversations(self, sid: int) -> list[ConversationRow]:
        sql = ("SELECT c.id, i.item_key, t.key, c.status, c.attempt, c.follow_up FROM conversation c"
               " JOIN item i ON i.id = c.item_id JOIN target t ON t.id = c.target_id"
               " WHERE c.session_id = ? ORDER BY i.position, t.position")
        return [ConversationRow(*row) for row in await self.fetchall(sql, (sid,))]

    async def reset_conversation(self, conv_id: int) -> None:
        """Forget an unfinished conversation's turns so it is redone from its start."""
        await self._write("DELETE FROM turn WHERE conversation_id = ?", (conv_id,))
        await self._write("UPDATE conversation SET status = 'pending', attempt = 0, error = NULL,"
                          " started_at = NULL, finished_at = NULL, stop_reason = NULL WHERE id = ?", (conv_id,))

    async def set_follow_ups(self, sid: int, choices: list[tuple[str, str]]) -> None:
        """(item key, follow-up JSON): what each item's conversations get after its bank turns, chosen
        when the session is made (the same for every target)."""
        for item_key, raw in choices:
            await self._write("UPDATE conversation SET follow_up = ? WHERE session_id = ? AND item_id ="
                              " (SELECT id FROM item WHERE session_id = ? AND item_key = ?)",
                              (raw, sid, sid, item_key))
        await self.sync()

    async def set_stop(self, conv_id: int, stop_reason: str, follow_up: str) -> None:
        """Why an attacked conversation stopped, and its follow-up record with what happened (the round it
        stopped at, an attacker's refusal)."""
        await self._write("UPDATE conversation SET stop_reason = ?, follow_up = ? WHERE id = ?",
                          (stop_reason, follow_up, conv_id))

    async def drop_stale_attempts(self, conv_id: int) -> None:
        """Remove turns of a retry that never finished (a crash mid-retry)."""
        await self._write("DELETE FROM turn WHERE conversation_id = ? AND attempt >"
                          " (SELECT attempt FROM conversation WHERE id = ?)", (conv_id, conv_id))

    async def start_conversation(self, conv_id: int, attempt: int) -> None:
        """Mark running. A retry (attempt > stored) leaves the old attempt visible until it ends."""
        await self._write("UPDATE conversation SET status = CASE WHEN attempt = ? THEN 'running'"
                          " ELSE status END, started_at = coalesce(started_at, ?) WHERE id = ?",
                          (attempt, time.time(), conv_id))

    async def finish_conversation(self, conv_id: int, attempt: int, status: str,
                                  error: str | None = None) -> None:
        """Make `attempt` the visible one, drop older attempts, commit.

        A turn still 'streaming' here was cut off between its insert and its final write (a cancel landing
        while the insert was in flight): it is stored as cancelled, so no ended conversation shows a live
        answer.
        """
        await self._write("DELETE FROM turn WHERE conversation_id = ? AND attempt != ?", (conv_id, attempt))
        await self._write("UPDATE turn SET status = 'cancelled', error_kind = 'cancelled', error ="
                          " coalesce(error, 'stopped before the answer finished') WHERE conversation_id = ?"
                          " AND attempt = ? AND status = 'streaming'", (conv_id, attempt))
        await self._write("UPDATE conversation SET status = ?, attempt = ?, error = ?, finished_at = ?"
                          " WHERE id = ?", (status, attempt, error, time.time(), conv_id))
        await self.sync()

    async def add_user_turn(self, conv_id: int, attempt: int, rnd: int, content: str,
                            origin: str = "bank") -> int:
        return await self._insert(
            "INSERT INTO turn (conversation_id, attempt, round, role, content, origin, status, started_at,"
            " finished_at) VALUES (?, ?, ?, 'user', ?, ?, 'done', ?, ?)",
            (conv_id, attempt, rnd, content, origin, time.time(), time.time()))

    async def start_answer(self, conv_id: int, attempt: int, rnd: int, started_at: float) -> int:
        return await self._insert(
            "INSERT INTO turn (conversation_id, attempt, round, role, status, started_at)"
            " VALUES (?, ?, ?, 'assistant', 'streaming', ?)", (conv_id, attempt, rnd, started_at))

    async def save_partials(self, rows: list[tuple[str, str, int]]) -> None:
        """(content so far, reasoning so far, turn id) of streaming turns, in one transaction.

        Only a turn still 'streaming' takes a partial: the final write sets another status in the same
        statement as the full text, so a partial save that lost the race to it changes nothing.
        """
        for row in rows:
            await self._write("UPDATE turn SET content = ?, reasoning = ? WHERE id = ? AND status = 'streaming'",
                              row)
        await self.sync()

    async def finish_answer(self, turn_id: int, *, content: str, status: str, reasoning: str = "",
                            finish_reason: str | None = None, error_kind: str | None = None,
                            error: str | None = None, started_at: float | None = None,
                            first_token_at: float | None = None,
                            finished_at: float | None = None, tokens_in: int | None = None,
                            tokens_out: int | None = None,
                            chunks: list[tuple[float, str]] | None = None,
                            tokens_estimated: bool = False) -> None:
        """tokens_estimated: the server sent no usage and the counts were estimated from characters."""
        await self._write(
            "UPDATE turn SET content = ?, reasoning = ?, status = ?, finish_reason = ?, error_kind = ?,"
            " error = ?, started_at = coalesce(?, started_at), first_token_at = ?, finished_at = ?,"
            " tokens_in = ?, tokens_out = ?, timeline = ?, tokens_estimated = ? WHERE id = ?",
            (content, reasoning, status, finish_reason, error_kind, error, started_at, first_token_at,
             finished_at or time.time(), tokens_in, tokens_out,
             encode_timeline(chunks) if chunks else None, int(tokens_estimated), turn_id))

    async def add_verdicts(self, turn_id: int, verdicts: list[Any], raws: list[str],
                           part: str = "answer", vset: str = "") -> None:
        """A turn's verdicts; part 'reasoning' marks verdicts on the reasoning text, kept apart; vset names
        the verdict set ('' is the run's own; a rejudge with other judges writes its own set)."""
        now = time.time()
        # One statement per call: executemany's open cursor on this shared connection raced with other
        # tasks' statements ("bad parameter or other API misuse").
        for v, raw in zip(verdicts, raws, strict=True):
            await self._write(
                "INSERT OR REPLACE INTO verdict (turn_id, vset, judge, part, kind, heuristic, score, reason,"
                " raw, category, prompt_hash, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (turn_id, vset, v.judge, part, "heuristic" if v.heuristic else v.kind, int(v.heuristic),
                 v.score, v.reason, raw, v.category, v.prompt_hash, v.error, now))
        await self.sync()

    async def save_verdict_set(self, session_id: int, name: str, judges: list[str], note: str = "") -> None:
        """Record a named verdict set (a rejudge's) with its judges; made again, its judges and note are
        updated and its first creation time is kept. The name is stored exactly as given."""
        await self._write(
            "INSERT INTO verdict_set (session_id, name, judges, created_at, note) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(session_id, name) DO UPDATE SET judges = excluded.judges, note = excluded.note",
            (session_id, name, json.dumps(judges, ensure_ascii=False), time.time(), note))
        await self.sync()

    # ------------------------------------------------------------ judge evaluations

    async def add_judge_eval(self, *, gold_path: str, gold_sha: str, judge: str, kind: str, prompt_hash: str,
                             figures: dict[str, Any], items: list[tuple[Any, ...]]) -> int:
        """One judge's evaluation against a gold file, with every item's verdict: items are (gold_id, gold,
        score, reason, raw, category, error, data JSON). Returns the evaluation's id."""
        eval_id = await self._insert(
            "INSERT INTO judge_eval (created_at, gold_path, gold_sha, judge, kind, prompt_hash, figures)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), gold_path, gold_sha, judge, kind, prompt_hash, json.dumps(figures, ensure_ascii=False)))
        for row in items:  # one statement per call, as add_verdicts (a shared connection)
            await self._write(
                "INSERT INTO judge_eval_item (eval_id, gold_id, gold, score, reason, raw, category, error, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (eval_id, *row))
        await self.sync()
        return eval_id

    # ------------------------------------------------------------ labels

    async def set_label(self, turn_id: int, score: int, author: str = "", note: str = "") -> None:
        await self._write(
            "INSERT INTO label (turn_id, score, author, note, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(turn_id) DO UPDATE SET score = excluded.score, author = excluded.author,"
            " note = excluded.note, created_at = excluded.created_at",
            (turn_id, score, author, note, time.time()))
        await self.sync()

    async def clear_label(self, turn_id: int) -> None:
        await self._write("DELETE FROM label WHERE turn_id = ?", (turn_id,))
        await self.sync()
