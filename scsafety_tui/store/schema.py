"""The SQLite schema as numbered migrations on ``PRAGMA user_version``.

Each step moves the database up by one version inside one transaction; a database from a newer build is
refused rather than guessed at.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: DESIGN.md §4's tables.
    """
    CREATE TABLE session (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'spot')),
        created_at REAL NOT NULL,
        finished_at REAL,
        status TEXT NOT NULL DEFAULT 'running',
        config TEXT NOT NULL DEFAULT '{}',
        taxonomy TEXT NOT NULL DEFAULT '{}',
        bank_fingerprint TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE target (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        key TEXT NOT NULL,
        provider TEXT NOT NULL,
        base_url TEXT NOT NULL,
        model TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        UNIQUE (session_id, key)
    );
    CREATE TABLE item (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        item_key TEXT NOT NULL,
        category TEXT NOT NULL,
        sub_dimension TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (session_id, item_key)
    );
    CREATE TABLE conversation (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        item_id INTEGER NOT NULL REFERENCES item(id) ON DELETE CASCADE,
        target_id INTEGER NOT NULL REFERENCES target(id) ON DELETE CASCADE,
        status TEXT NOT NULL DEFAULT 'pending',
        attempt INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        started_at REAL,
        finished_at REAL,
        UNIQUE (item_id, target_id)
    );
    CREATE INDEX conversation_session ON conversation(session_id, status);
    CREATE TABLE turn (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL DEFAULT 0,
        round INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT 'bank',
        status TEXT NOT NULL DEFAULT 'done',
        error_kind TEXT,
        error TEXT,
        finish_reason TEXT,
        started_at REAL,
        first_token_at REAL,
        finished_at REAL,
        tokens_in INTEGER,
        tokens_out INTEGER,
        timeline TEXT,
        UNIQUE (conversation_id, attempt, round, role)
    );
    CREATE TABLE verdict (
        id INTEGER PRIMARY KEY,
        turn_id INTEGER NOT NULL REFERENCES turn(id) ON DELETE CASCADE,
        judge TEXT NOT NULL,
        heuristic INTEGER NOT NULL DEFAULT 0,
        score INTEGER CHECK (score IN (0, 1, 2)),
        reason TEXT NOT NULL DEFAULT '',
        raw TEXT NOT NULL DEFAULT '',
        error TEXT,
        created_at REAL NOT NULL,
        UNIQUE (turn_id, judge)
    );
    CREATE TABLE label (
        id INTEGER PRIMARY KEY,
        turn_id INTEGER NOT NULL UNIQUE REFERENCES turn(id) ON DELETE CASCADE,
        score INTEGER NOT NULL CHECK (score IN (0, 1, 2)),
        author TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    """,
    # 2: substring search over Chinese text. FTS5's trigram tokenizer needs no word breaks; queries of
    # fewer than 3 characters fall back to a LIKE scan (see queries.search).
    """
    CREATE VIRTUAL TABLE turn_fts USING fts5(content, content='turn', content_rowid='id',
                                              tokenize='trigram');
    CREATE TRIGGER turn_fts_done AFTER UPDATE OF status ON turn
        WHEN new.status != 'streaming' AND old.status = 'streaming' BEGIN
        INSERT INTO turn_fts(rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER turn_fts_insert AFTER INSERT ON turn WHEN new.status != 'streaming' BEGIN
        INSERT INTO turn_fts(rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER turn_fts_delete AFTER DELETE ON turn WHEN old.status != 'streaming' BEGIN
        INSERT INTO turn_fts(turn_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END;
    INSERT INTO turn_fts(rowid, content) SELECT id, content FROM turn WHERE status != 'streaming';
    """,
    # 3: answers as providers send them, a lock per session, and a search index that follows every
    # content change. Reasoning (reasoning_content, thinking, inline <think>) is kept apart from the
    # answer; a verdict says which part it scored, so a reasoning verdict never mixes into the answer's.
    # The old triggers indexed a turn once when it left 'streaming', so any later write (a partial save
    # racing the final one) left the index disagreeing with the text; these follow every write.
    """
    ALTER TABLE turn ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
    ALTER TABLE session ADD COLUMN lock_token TEXT;
    ALTER TABLE session ADD COLUMN lock_pid INTEGER;
    ALTER TABLE session ADD COLUMN lock_host TEXT;
    ALTER TABLE session ADD COLUMN lock_at REAL;
    ALTER TABLE session ADD COLUMN lock_beat REAL;
    CREATE TABLE verdict_v3 (
        id INTEGER PRIMARY KEY,
        turn_id INTEGER NOT NULL REFERENCES turn(id) ON DELETE CASCADE,
        judge TEXT NOT NULL,
        part TEXT NOT NULL DEFAULT 'answer' CHECK (part IN ('answer', 'reasoning')),
        heuristic INTEGER NOT NULL DEFAULT 0,
        score INTEGER CHECK (score IN (0, 1, 2)),
        reason TEXT NOT NULL DEFAULT '',
        raw TEXT NOT NULL DEFAULT '',
        error TEXT,
        created_at REAL NOT NULL,
        UNIQUE (turn_id, judge, part)
    );
    INSERT INTO verdict_v3 (id, turn_id, judge, part, heuristic, score, reason, raw, error, created_at)
        SELECT id, turn_id, judge, 'answer', heuristic, score, reason, raw, error, created_at FROM verdict;
    DROP TABLE verdict;
    ALTER TABLE verdict_v3 RENAME TO verdict;
    CREATE INDEX verdict_turn ON verdict(turn_id);
    DROP TRIGGER turn_fts_done;
    DROP TRIGGER turn_fts_insert;
    DROP TRIGGER turn_fts_delete;
    CREATE TRIGGER turn_fts_ai AFTER INSERT ON turn BEGIN
        INSERT INTO turn_fts(rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER turn_fts_ad AFTER DELETE ON turn BEGIN
        INSERT INTO turn_fts(turn_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END;
    CREATE TRIGGER turn_fts_au AFTER UPDATE OF content ON turn BEGIN
        INSERT INTO turn_fts(turn_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO turn_fts(rowid, content) VALUES (new.id, new.content);
    END;
    INSERT INTO turn_fts(turn_fts) VALUES ('rebuild');
    """,
    # 4: one migration for this round's features, written up front so parallel work shares one shape.
    # - verdict sets: a rejudge with other judges is a new named set on the same answers (vset; '' is the
    #   run's own set), the original untouched; guard judges store their kind and category; every verdict
    #   carries the hash of the prompt that produced it.
    # - judge evaluations against a gold file (judge eval), each item's verdict kept for triage.
    # - follow-ups: which follow-up each conversation got (bank, template, attacker strategy) and why an
    #   attacker stopped.
    # - cost and time: token counts estimated from characters are marked; a session's active time (pauses
    #   excluded) is kept so a finished session shows its real elapsed time.
    """
    CREATE TABLE verdict_v4 (
        id INTEGER PRIMARY KEY,
        turn_id INTEGER NOT NULL REFERENCES turn(id) ON DELETE CASCADE,
        vset TEXT NOT NULL DEFAULT '',
        judge TEXT NOT NULL,
        part TEXT NOT NULL DEFAULT 'answer' CHECK (part IN ('answer', 'reasoning')),
        kind TEXT NOT NULL DEFAULT 'rubric',
        heuristic INTEGER NOT NULL DEFAULT 0,
        score INTEGER CHECK (score IN (0, 1, 2)),
        reason TEXT NOT NULL DEFAULT '',
        raw TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT '',
        prompt_hash TEXT NOT NULL DEFAULT '',
        error TEXT,
        created_at REAL NOT NULL,
        UNIQUE (turn_id, vset, judge, part)
    );
    INSERT INTO verdict_v4 (id, turn_id, vset, judge, part, kind, heuristic, score, reason, raw, error,
                            created_at)
        SELECT id, turn_id, '', judge, part, CASE WHEN heuristic THEN 'heuristic' ELSE 'rubric' END,
               heuristic, score, reason, raw, error, created_at FROM verdict;
    DROP TABLE verdict;
    ALTER TABLE verdict_v4 RENAME TO verdict;
    CREATE INDEX verdict_turn ON verdict(turn_id, vset);
    CREATE TABLE verdict_set (
        session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        judges TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (session_id, name)
    );
    CREATE TABLE judge_eval (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        gold_path TEXT NOT NULL,
        gold_sha TEXT NOT NULL,
        judge TEXT NOT NULL,
        kind TEXT NOT NULL,
        prompt_hash TEXT NOT NULL DEFAULT '',
        figures TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE judge_eval_item (
        id INTEGER PRIMARY KEY,
        eval_id INTEGER NOT NULL REFERENCES judge_eval(id) ON DELETE CASCADE,
        gold_id TEXT NOT NULL,
        gold INTEGER NOT NULL CHECK (gold IN (0, 1, 2)),
        score INTEGER CHECK (score IN (0, 1, 2)),
        reason TEXT NOT NULL DEFAULT '',
        raw TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT '',
        error TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        UNIQUE (eval_id, gold_id)
    );
    ALTER TABLE conversation ADD COLUMN follow_up TEXT NOT NULL DEFAULT '';
    ALTER TABLE conversation ADD COLUMN stop_reason TEXT;
    ALTER TABLE turn ADD COLUMN tokens_estimated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE session ADD COLUMN active_s REAL;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
