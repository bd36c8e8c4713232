"""Read-only queries over the store: what the UI, reports and scoring see.

Only the visible attempt of each conversation counts (``turn.attempt = conversation.attempt``): a retry
in progress does not hide the error it is retrying until it has finished.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scsafety_tui.config import Config, conversation_rounds, parse_config
from scsafety_tui.follow_ups import FollowUp
from scsafety_tui.questions import Item
from scsafety_tui.scoring import AnswerRow, Scope, TargetScores, asked_rounds, score_answers
from scsafety_tui.store.db import Store, StoreError, decode_timeline
from scsafety_tui.taxonomy import Taxonomy, parse_taxonomy

VISIBLE = "t.conversation_id = c.id AND t.attempt = c.attempt"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: int
    name: str
    kind: str
    created_at: float
    finished_at: float | None
    status: str
    targets: tuple[str, ...]
    items: int
    conversations: int
    done: int
    errors: int


@dataclass(slots=True)
class VerdictRow:
    judge: str
    score: int | None
    reason: str
    error: str | None
    heuristic: bool
    raw: str = ""
    part: str = "answer"
    vset: str = ""
    """The verdict set it belongs to ('' is the run's own)."""
    kind: str = "rubric"
    """'rubric', 'heuristic' or a guard model's format (qwen3guard, llamaguard, shieldlm)."""
    category: str = ""
    """A guard model's harm category, as it named it."""
    prompt_hash: str = ""
    """Hash of the judge prompt that produced the verdict."""


@dataclass(slots=True)
class TurnRow:
    id: int
    round: int
    role: str
    content: str
    status: str
    origin: str = "bank"
    error_kind: str | None = None
    error: str | None = None
    finish_reason: str | None = None
    started_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    timeline: str | None = None
    verdicts: list[VerdictRow] = field(default_factory=list)
    """Verdicts on the answer; the turn's score is their median."""
    label: tuple[int, str, str] | None = None  # (score, author, note)
    verdict_at: float | None = None
    reasoning: str = ""
    """The model's reasoning text, kept apart from its answer (never judged as the answer)."""
    reasoning_verdicts: list[VerdictRow] = field(default_factory=list)
    """Verdicts on the reasoning text ([judge] score_reasoning), never mixed into the answer's score."""
    other_verdicts: list[VerdictRow] = field(default_factory=list)
    """Answer verdicts of the session's other verdict sets (each names its set), when asked for."""
    tokens_estimated: bool = False
    """The server sent no usage: tokens_in/out were estimated from characters."""

    def chunks(self) -> list[tuple[float, str]]:
        return decode_timeline(self.timeline, self.content)


@dataclass(slots=True)
class Transcript:
    conversation_id: int
    item_id: str
    target: str
    status: str
    error: str | None
    started_at: float | None
    finished_at: float | None
    turns: list[TurnRow]
    follow_up: FollowUp | None = None
    """What the item got after its own turns (templates, the attacker's strategy); None: its bank turns."""
    stop_reason: str | None = None
    """Why an attacker stopped (follow_ups.STOP_REASONS); None when it did not attack."""


@dataclass(frozen=True, slots=True)
class StoredTarget:
    """A target as its session stored it (a secret-free copy: no API key, secret params masked)."""

    key: str
    provider: str
    base_url: str
    model: str
    params: dict[str, Any]
    """temperature, max_tokens and the target's own params, decoded."""


@dataclass(frozen=True)
class StoredSession:
    """A session as stored, its JSON columns decoded: what every reader outside the store gets."""

    id: int
    name: str
    kind: str
    status: str
    created_at: float
    finished_at: float | None
    notes: str
    bank_fingerprint: str
    snapshot: dict[str, Any]
    """The config snapshot as stored (env var names only, header values masked)."""
    taxonomy_data: dict[str, Any]
    targets: tuple[StoredTarget, ...]
    """In the session's target order."""

    @property
    def keys(self) -> list[str]:
        """The target keys, in the session's order."""
        return [t.key for t in self.targets]

    @cached_property
    def config(self) -> Config:
        """The snapshot parsed (on first use: readers that only show names never parse it)."""
        return parse_config(self.snapshot, f"session {self.id}")

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return parse_taxonomy(self.taxonomy_data, f"session {self.id}")

    @property
    def block_as_refusal(self) -> bool:
        """[run] block_as_refusal: a blocked answer scores 1 (off by default)."""
        return bool(self.snapshot.get("run", {}).get("block_as_refusal", False))

    @property
    def judge_mode(self) -> str:
        return str(self.snapshot.get("judge", {}).get("mode", ""))

    @property
    def judge_keys(self) -> list[str]:
        """The snapshot's judge target keys (whatever its mode)."""
        return [t.get("key", "") for t in self.snapshot.get("judge", {}).get("targets", [])]

    @property
    def judge_labels(self) -> list[str]:
        """The judge keys as shown: a guard judge with its kind, "g (llamaguard)"."""
        return [f"{t.get('key', '')} ({t['kind']})" if t.get("kind", "rubric") != "rubric" else t.get("key", "")
                for t in self.snapshot.get("judge", {}).get("targets", [])]


async def _all(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    return await store.fetchall(sql, params)


async def session_row(store: Store, sid: int) -> Any:
    rows = await _all(store, "SELECT * FROM session WHERE id = ?", (sid,))
    if not rows:
        raise StoreError(f"{store.path}: no session {sid}")
    return rows[0]


def _json(raw: str | None) -> dict[str, Any]:
    return json.loads(raw) if raw else {}


async def stored_session(store: Store, sid: int) -> StoredSession:
    """One session with its config snapshot, taxonomy and targets decoded."""
    row = await session_row(store, sid)
    return StoredSession(row["id"], row["name"], row["kind"], row["status"], row["created_at"],
                         row["finished_at"], row["notes"], row["bank_fingerprint"], _json(row["config"]),
                         _json(row["taxonomy"]), tuple(await stored_targets(store, sid)))


async def session_record(store: Store, sid: int) -> dict[str, Any]:
    """Every column of the session as a dict, its config snapshot decoded, its taxonomy and its run lock
    left out (a JSON export's "session": the lock is the runner's token, host name and pid, not the
    session's data, and an export is sent to others)."""
    row = await session_row(store, sid)
    out = {k: row[k] for k in row.keys() if not k.startswith("lock_")}  # noqa: SIM118 - a Row yields values
    out["config"] = _json(out["config"])
    del out["taxonomy"]
    return out


async def stored_targets(store: Store, sid: int) -> list[StoredTarget]:
    return [StoredTarget(r[0], r[1], r[2], r[3], _json(r[4])) for r in await targets(store, sid)]


async def target_keys(store: Store, sid: int) -> list[str]:
    """The session's target keys, in its order."""
    return [r[0] for r in await _all(store, "SELECT key FROM target WHERE session_id = ? ORDER BY position",
                                     (sid,))]


async def resolve_session(store: Store, ref: str) -> int:
    """A session by id, by exact name, or the newest whose name starts with ref; 'last' is the newest."""
    if ref == "last":
        rows = await _all(store, "SELECT id FROM session ORDER BY id DESC LIMIT 1")
    elif ref.isdigit():
        rows = await _all(store, "SELECT id FROM session WHERE id = ?", (int(ref),))
    else:
        rows = await _all(store, "SELECT id FROM session WHERE name = ? OR name LIKE ? ORDER BY"
                                 " name = ? DESC, id DESC LIMIT 1", (ref, ref + "%", ref))
    if not rows:
        raise StoreError(f"{store.path}: no session matches {ref!r} (see `scsafety-tui sessions`)")
    sid: int = rows[0][0]
    return sid


async def list_sessions(store: Store) -> list[SessionSummary]:
    return await _summaries(store)


async def session_summary(store: Store, sid: int) -> SessionSummary:
    """One session's summary (its progress counts), without listing the others."""
    found = await _summaries(store, sid)
    if not found:
        raise StoreError(f"{store.path}: no session {sid}")
    return found[0]


async def _summaries(store: Store, sid: int | None = None) -> list[SessionSummary]:
    where, params = ("WHERE s.id = ?", (sid,)) if sid is not None else ("", ())
    rows = await _all(store, f"""
        SELECT s.id, s.name, s.kind, s.created_at, s.finished_at, s.status,
          (SELECT group_concat(key, ',') FROM (SELECT key FROM target WHERE session_id = s.id
                                               ORDER BY position)),
          (SELECT count(*) FROM item WHERE session_id = s.id),
          count(c.id), sum(c.status = 'done'), sum(c.status = 'error')
        FROM session s LEFT JOIN conversation c ON c.session_id = s.id {where}
        GROUP BY s.id ORDER BY s.id DESC""", params)
    return [SessionSummary(r[0], r[1], r[2], r[3], r[4], r[5], tuple((r[6] or "").split(",")) if r[6]
                           else (), r[7], r[8], r[9] or 0, r[10] or 0) for r in rows]


async def status_counts(store: Store, sid: int) -> dict[str, int]:
    """Conversations of a session per status."""
    rows = await _all(store, "SELECT status, count(*) FROM conversation WHERE session_id = ? GROUP BY status",
                      (sid,))
    return {r[0]: r[1] for r in rows}


async def targets(store: Store, sid: int) -> list[Any]:
    return await _all(store, "SELECT key, provider, base_url, model, params FROM target"
                             " WHERE session_id = ? ORDER BY position", (sid,))


async def items(store: Store, sid: int) -> list[Item]:
    rows = await _all(store, "SELECT data FROM item WHERE session_id = ? ORDER BY position", (sid,))
    return [Item.from_dict(json.loads(r[0])) for r in rows]


async def answer_rows(store: Store, sid: int, vset: str = "") -> list[AnswerRow]:
    """Every assistant answer of the session with its judges' scores (of verdict set vset; '' is the run's
    own), human label and the item's rounds."""
    # Two flat queries joined in Python: a correlated verdict subquery per answer made a full-scale
    # session (64k answers) take most of the one-second leaderboard budget.
    run_rounds, attacker = await _rounds_rule(store, sid)
    rows = await _all(store, f"""
        SELECT tg.key, i.item_key, i.category, i.sub_dimension, t.round, t.status, l.score, t.id,
               json_array_length(i.data, '$.turns'),
               CASE WHEN c.stop_reason LIKE 'attacker_%' AND c.follow_up != ''
                         AND t.round = json_extract(c.follow_up, '$.stopped_round') THEN c.stop_reason END
        FROM conversation c JOIN item i ON i.id = c.item_id JOIN target tg ON tg.id = c.target_id
        JOIN turn t ON {VISIBLE} AND t.role = 'assistant'
        LEFT JOIN label l ON l.turn_id = t.id
        WHERE c.session_id = ? ORDER BY i.position, tg.position, t.round""", (sid,))
    scores: dict[int, list[int | None]] = {}
    for turn_id, score in await _all(store, """
            SELECT v.turn_id, v.score FROM verdict v JOIN turn t ON t.id = v.turn_id
            JOIN conversation c ON c.id = t.conversation_id WHERE c.session_id = ? AND v.part = 'answer' AND v.vset = ?
            ORDER BY v.id""", (sid, vset)):
        scores.setdefault(turn_id, []).append(score)
    return [AnswerRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(scores.get(r[7], ())), r[6], r[7],
                      asked_rounds(r[8] or 0, run_rounds, attacker), _ENDED.get(r[9] or "", "")) for r in rows]


_ENDED = {"attacker_refused": "attacker refused", "attacker_empty": "no follow-up", "attacker_error": "error"}
"""An attacker's stop reason → why its pair has no next round (scoring.AnswerRow.ended)."""


async def _rounds_rule(store: Store, sid: int) -> tuple[int, bool]:
    """(rounds asked, whether items get follow-ups past their turns) from the session's config snapshot: how
    many rounds each item gets (config.conversation_rounds, as the engine runs it)."""
    rows = await _all(store, "SELECT config FROM session WHERE id = ?", (sid,))
    config = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    run, attacker = config.get("run", {}), config.get("attacker")
    rounds = int(run.get("rounds") or 0)
    if "follow_ups" not in run:  # a session made before [run] follow_ups
        return rounds, bool(attacker)
    max_rounds = int(attacker.get("max_rounds", 4)) if isinstance(attacker, dict) else 4
    return conversation_rounds(rounds, run["follow_ups"], max_rounds), run["follow_ups"] != "bank"


async def scope(store: Store, sid: int) -> Scope:
    """The pairs in scope of a session's headline: every item × every target, with each item's rounds."""
    run_rounds, attacker = await _rounds_rule(store, sid)
    return Scope.of(await items(store, sid), await target_keys(store, sid),
                    run_rounds=run_rounds, attacker=attacker)


async def block_as_refusal(store: Store, sid: int) -> bool:
    """The session's [run] block_as_refusal: a blocked answer scores 1 (off by default)."""
    rows = await _all(store, "SELECT config FROM session WHERE id = ?", (sid,))
    config = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    return bool(config.get("run", {}).get("block_as_refusal", False))


async def session_scores(store: Store, sid: int, *, human: bool = False,
                         rows: list[AnswerRow] | None = None, vset: str = "") -> dict[str, TargetScores]:
    """A session's SC-Safety scores over its whole scope (pending pairs counted), by its own rules; from the
    verdicts of set vset when rows are not given."""
    if rows is None:
        rows = await answer_rows(store, sid, vset)
    return score_answers(rows, human=human, scope=await scope(store, sid),
                         block_as_refusal=await block_as_refusal(store, sid))


async def truncated_answers(store: Store, sid: int) -> set[tuple[str, str, int]]:
    """(target, item id, round) of the visible answers cut by max_tokens (finish_reason 'length')."""
    rows = await _all(store, f"""
        SELECT tg.key, i.item_key, t.round FROM conversation c JOIN item i ON i.id = c.item_id
        JOIN target tg ON tg.id = c.target_id JOIN turn t ON {VISIBLE} AND t.role = 'assistant'
        WHERE c.session_id = ? AND t.finish_reason = 'length'""", (sid,))
    return {(r[0], r[1], r[2]) for r in rows}


async def answer_flags(store: Store, sid: int) -> tuple[int, int]:
    """(truncated, empty): visible answers cut by max_tokens (judged, flagged) and answers with no
    content (never scored; --retry-errors redoes them)."""
    rows = await _all(store, f"""
        SELECT coalesce(sum(t.status = 'done' AND t.finish_reason = 'length'), 0),
               coalesce(sum(t.status = 'empty'), 0)
        FROM conversation c JOIN turn t ON {VISIBLE} AND t.role = 'assistant' WHERE c.session_id = ?""", (sid,))
    return rows[0][0], rows[0][1]


def flags_line(truncated: int, empty: int) -> str | None:
    """The line `show` prints under the tables when some answers are truncated or empty."""
    parts = []
    if truncated:
        parts.append(f"{truncated} truncated (finish_reason length: judged, but cut by max_tokens)")
    if empty:
        parts.append(f"{empty} empty (no content: not scored; `resume SESSION --retry-errors` asks again)")
    return "answers flagged: " + "; ".join(parts) if parts else None


async def transcript(store: Store, sid: int, item_id: str, target: str, vset: str = "") -> Transcript | None:
    rows = await _all(store, """
        SELECT c.id, c.status, c.error, c.started_at, c.finished_at, c.follow_up, c.stop_reason FROM conversation c
        JOIN item i ON i.id = c.item_id JOIN target tg ON tg.id = c.target_id
        WHERE c.session_id = ? AND i.item_key = ? AND tg.key = ?""", (sid, item_id, target))
    if not rows:
        return None
    cid, status, error, started, finished, follow_up, stop = rows[0]
    turns = await turns_of(store, [cid], vset)
    return Transcript(cid, item_id, target, status, error, started, finished, turns.get(cid, []),
                      FollowUp.from_json(follow_up), stop)


async def turns_of(store: Store, conv_ids: list[int], vset: str = "", *,
                   others: bool = False) -> dict[int, list[TurnRow]]:
    """Visible turns (with the verdicts of set vset, '' the run's own, and labels) of many conversations, in
    round order; with others, each turn's answer verdicts of the other sets too (other_verdicts)."""
    if not conv_ids:
        return {}
    marks = ",".join("?" * len(conv_ids))
    rows = await _all(store, f"""
        SELECT t.conversation_id, t.id, t.round, t.role, t.content, t.status, t.origin, t.error_kind,
               t.error, t.finish_reason, t.started_at, t.first_token_at, t.finished_at, t.tokens_in,
               t.tokens_out, t.timeline, l.score, l.author, l.note, t.reasoning, t.tokens_estimated
        FROM conversation c JOIN turn t ON {VISIBLE} LEFT JOIN label l ON l.turn_id = t.id
        WHERE c.id IN ({marks})
        ORDER BY t.conversation_id, t.round, t.role = 'assistant'""", tuple(conv_ids))
    out: dict[int, list[TurnRow]] = {}
    by_id: dict[int, TurnRow] = {}
    for r in rows:
        turn = TurnRow(*r[1:16])
        turn.label = (r[16], r[17], r[18]) if r[16] is not None else None
        turn.reasoning = r[19]
        turn.tokens_estimated = bool(r[20])
        out.setdefault(r[0], []).append(turn)
        by_id[turn.id] = turn
    if by_id:
        vmarks = ",".join("?" * len(by_id))
        for v in await _all(store, f"SELECT turn_id, judge, score, reason, error, heuristic, raw, created_at,"
                                   f" part, kind, category, prompt_hash FROM verdict WHERE turn_id IN ({vmarks})"
                                   " AND vset = ? ORDER BY id", (*by_id, vset)):
            turn = by_id[v[0]]
            row = VerdictRow(v[1], v[2], v[3], v[4], bool(v[5]), v[6], v[8], vset, v[9], v[10], v[11])
            (turn.verdicts if row.part == "answer" else turn.reasoning_verdicts).append(row)
            turn.verdict_at = max(turn.verdict_at or 0.0, v[7])
        if others:
            for v in await _all(store, f"SELECT turn_id, judge, score, reason, error, heuristic, raw, vset FROM"
                                       f" verdict WHERE turn_id IN ({vmarks}) AND vset != ? AND part = 'answer'"
                                       f" ORDER BY vset, id", (*by_id, vset)):
                by_id[v[0]].other_verdicts.append(VerdictRow(v[1], v[2], v[3], v[4], bool(v[5]), v[6], "answer",
                                                             v[7]))
    return out


async def transcripts(store: Store, sid: int, vset: str = "", *, others: bool = False) -> list[Transcript]:
    """Every conversation of the session with its visible turns (verdicts of set vset; with others, those of
    the other sets too), in item then target order."""
    convs = await conversation_ids(store, sid)
    turns = await turns_of(store, [c for c, _, _ in convs], vset, others=others)
    meta = {r[0]: r for r in await _all(store, "SELECT id, status, error, started_at, finished_at, follow_up,"
                                              " stop_reason FROM conversation WHERE session_id = ?", (sid,))}
    return [Transcript(cid, item, target, meta[cid][1], meta[cid][2], meta[cid][3], meta[cid][4],
                       turns.get(cid, []), FollowUp.from_json(meta[cid][5]), meta[cid][6])
            for cid, item, target in convs]


@dataclass(frozen=True, slots=True)
class ConversationText:
    """A conversation's item, its target's model and its visible turns: (role, content, status, turn id)."""

    item: Item
    model: str
    turns: list[tuple[str, str, str, int]]


def conversation_texts(db: str, sid: int) -> list[ConversationText]:
    """Every conversation of session sid in id order, read synchronously from the file (read-only): the
    stored-vs-streamed check (demo/verify.py) runs inside an event loop and after one."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        convs = con.execute("""
            SELECT c.id, i.data, tg.model FROM conversation c JOIN item i ON i.id = c.item_id
            JOIN target tg ON tg.id = c.target_id WHERE c.session_id = ? ORDER BY c.id""", (sid,)).fetchall()
        turns: dict[int, list[tuple[str, str, str, int]]] = {}
        for row in con.execute("""
                SELECT t.conversation_id, t.role, t.content, t.status, t.id FROM turn t
                JOIN conversation c ON c.id = t.conversation_id AND t.attempt = c.attempt
                WHERE c.session_id = ? ORDER BY t.conversation_id, t.round, t.role = 'assistant'""", (sid,)):
            turns.setdefault(row[0], []).append(row[1:])
    finally:
        con.close()
    return [ConversationText(Item.from_dict(json.loads(data)), model, turns.get(cid, []))
            for cid, data, model in convs]


async def conversation_ids(store: Store, sid: int) -> list[tuple[int, str, str]]:
    """(conversation id, item id, target key) in item then target order."""
    return [tuple(r) for r in await _all(store, """
        SELECT c.id, i.item_key, tg.key FROM conversation c JOIN item i ON i.id = c.item_id
        JOIN target tg ON tg.id = c.target_id WHERE c.session_id = ?
        ORDER BY i.position, tg.position""", (sid,))]


async def search(store: Store, text: str, limit: int = 200) -> list[tuple[int, str, str, int, str]]:
    """Turns containing `text` (any script): (session id, item id, target, round, content).

    A bank question is stored once per target; it is listed once, with target "" (all targets).
    FTS5's trigram index answers queries of 3+ characters; shorter ones (many Chinese words are two
    characters) fall back to a LIKE scan.
    """
    text = text.strip()
    if not text:
        return []
    base = """SELECT c.session_id, i.item_key, CASE t.role WHEN 'user' THEN '' ELSE tg.key END AS who,
                     t.round, t.content FROM turn t
              JOIN conversation c ON {vis} JOIN item i ON i.id = c.item_id
              JOIN target tg ON tg.id = c.target_id"""
    base = base.format(vis=VISIBLE)
    if len(text) >= 3:
        phrase = '"' + text.replace('"', '""') + '"'
        sql = base + " WHERE t.id IN (SELECT rowid FROM turn_fts WHERE turn_fts MATCH ?)"
        params: tuple[Any, ...] = (phrase,)
    else:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql = base + " WHERE t.content LIKE ? ESCAPE '\\'"
        params = (f"%{escaped}%",)
    sql += (" GROUP BY c.session_id, i.item_key, who, t.round, t.content"
            " ORDER BY c.session_id DESC, min(i.position), t.round LIMIT ?")
    return [tuple(r) for r in await _all(store, sql, (*params, limit))]


async def damaged_answers(store: Store, sid: int) -> list[int]:
    """Conversations with a finished answer stored shorter than what streamed (its chunk timeline).

    Builds before schema v3 could let a partial save overwrite a final one; `resume --retry-errors`
    redoes these conversations.
    """
    rows = await _all(store, f"""
        SELECT c.id, length(t.content), t.timeline FROM conversation c JOIN turn t ON {VISIBLE}
        WHERE c.session_id = ? AND t.role = 'assistant' AND t.status = 'done' AND t.timeline IS NOT NULL""",
                      (sid,))
    return sorted({cid for cid, n, timeline in rows if sum(json.loads(timeline)[1::2]) != n})


def damaged_notice(sid: int, conversations: int, db: str) -> str:
    from scsafety_tui.paths import resume_command

    return (f"session {sid}: {conversations} conversation(s) have an answer stored shorter than it streamed"
            f" (a bug of earlier builds); redo them with `{resume_command(sid, db, retry_errors=True)}`")


# ---------------------------------------------------------------- verdict sets


@dataclass(frozen=True, slots=True)
class VerdictSet:
    """A named set of verdicts on a session's answers ('' is the run's own; the others come from rejudge)."""

    name: str
    judges: tuple[str, ...]
    created_at: float | None
    note: str = ""
    verdicts: int = 0
    """Answer verdicts stored in the set."""

    @property
    def is_run(self) -> bool:
        return self.name == ""


def set_label(name: str) -> str:
    """How a set is named on screen: the run's own set has no name of its own. A rejudge set's name is user
    text, returned as given (callers show it literally)."""
    return "the run's own" if name == "" else name


async def verdict_sets(store: Store, sid: int) -> list[VerdictSet]:
    """The session's verdict sets: the run's own first, then the named ones in the order they were made."""
    counts = {r[0]: r[1] for r in await _all(store, """
        SELECT v.vset, count(*) FROM verdict v JOIN turn t ON t.id = v.turn_id
        JOIN conversation c ON c.id = t.conversation_id
        WHERE c.session_id = ? AND v.part = 'answer' GROUP BY v.vset""", (sid,))}
    stored = await stored_session(store, sid)
    run_judges = tuple(stored.judge_keys) if stored.judge_mode == "model" else ("heuristic",)
    out = [VerdictSet("", run_judges, stored.created_at, "", counts.get("", 0))]
    for name, judges, created, note in await _all(store, "SELECT name, judges, created_at, note FROM verdict_set"
                                                        " WHERE session_id = ? ORDER BY created_at, name", (sid,)):
        out.append(VerdictSet(name, tuple(json.loads(judges or "[]")), created, note, counts.get(name, 0)))
    return out


async def verdict_set(store: Store, sid: int, name: str) -> VerdictSet | None:
    """One of the session's verdict sets by its exact name, or None."""
    return next((s for s in await verdict_sets(store, sid) if s.name == name), None)


async def set_judge_scores(store: Store, sid: int, vset: str) -> dict[int, dict[str, int | None]]:
    """turn id → judge key → score (None: that judge failed) of the answer verdicts in set vset."""
    out: dict[int, dict[str, int | None]] = {}
    for turn_id, judge, score in await _all(store, """
            SELECT v.turn_id, v.judge, v.score FROM verdict v JOIN turn t ON t.id = v.turn_id
            JOIN conversation c ON c.id = t.conversation_id
            WHERE c.session_id = ? AND v.part = 'answer' AND v.vset = ? ORDER BY v.id""", (sid, vset)):
        out.setdefault(turn_id, {})[judge] = score
    return out


async def require_set(store: Store, sid: int, name: str) -> VerdictSet:
    """The set, or one line naming the session, the set and the sets it has."""
    sets = await verdict_sets(store, sid)
    found = next((s for s in sets if s.name == name), None)
    if found is None:
        names = ", ".join(repr(s.name) for s in sets[1:]) or "none but the run's own"
        raise StoreError(f"--set: session {sid} has no verdict set named {name!r} (its sets: {names})")
    return found


# ---------------------------------------------------------------- run figures (the run screen's meters)


@dataclass(frozen=True, slots=True)
class AnswerTiming:
    """One finished answer's figures: tokens, time to first token and latency (seconds; None unknown)."""

    target: str
    tokens_in: int | None
    tokens_out: int | None
    ttft: float | None
    latency: float | None


async def answer_timings(store: Store, sid: int) -> list[AnswerTiming]:
    """Every finished answer's tokens and timings, in session order (the visible attempt only)."""
    rows = await _all(store, f"""
        SELECT tg.key, t.tokens_in, t.tokens_out, t.first_token_at - t.started_at, t.finished_at - t.started_at
        FROM conversation c JOIN target tg ON tg.id = c.target_id
        JOIN turn t ON {VISIBLE} AND t.role = 'assistant' AND t.status = 'done'
        WHERE c.session_id = ? ORDER BY t.id""", (sid,))
    return [AnswerTiming(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def active_seconds(store: Store, sid: int) -> float:
    """How long the session's runs were active, pauses left out (session.active_s, written as each run
    ends). A session run before it was recorded: the span of its answers, from first start to last end."""
    rows = await _all(store, "SELECT active_s FROM session WHERE id = ?", (sid,))
    if rows and rows[0][0] is not None:
        return float(rows[0][0])
    span = await _all(store, f"""
        SELECT max(t.finished_at) - min(t.started_at) FROM conversation c JOIN turn t ON {VISIBLE}
        WHERE c.session_id = ? AND t.role = 'assistant'""", (sid,))
    return float(span[0][0] or 0.0) if span else 0.0


# ---------------------------------------------------------------- follow-ups


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """Which follow-up one conversation got, and why an attacker stopped (None: it did not attack)."""

    item_id: str
    target: str
    follow_up: FollowUp | None
    stop_reason: str | None


async def follow_ups(store: Store, sid: int) -> list[FollowUpRow]:
    """Every conversation's follow-up record, in item then target order."""
    rows = await _all(store, """
        SELECT i.item_key, tg.key, c.follow_up, c.stop_reason FROM conversation c
        JOIN item i ON i.id = c.item_id JOIN target tg ON tg.id = c.target_id
        WHERE c.session_id = ? ORDER BY i.position, tg.position""", (sid,))
    return [FollowUpRow(r[0], r[1], FollowUp.from_json(r[2]), r[3]) for r in rows]
