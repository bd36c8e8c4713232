"""Where things live: the shipped question bank and the platform data/config dirs."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
QUESTIONS_DIR = PACKAGE_DIR.parent / "questions"
SAMPLE_BANK = QUESTIONS_DIR / "sc_safety_sample.jsonl"
SAMPLE_BANK_EN = QUESTIONS_DIR / "sc_safety_sample_en.jsonl"
DEFAULT_TAXONOMY = QUESTIONS_DIR / "taxonomy.toml"


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("scsafety-tui", appauthor=False)


def config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path("scsafety-tui", appauthor=False)


def default_db() -> Path:
    return data_dir() / "sessions.db"


def default_config() -> Path:
    return config_dir() / "config.toml"


def log_file() -> Path:
    return data_dir() / "scsafety-tui.log"


def resume_command(session_id: int, db: str | Path, *, retry_errors: bool = False) -> str:
    """The `resume` command line for a session, as a user can paste it: `--db` is named unless the
    database is the default one (a printed hint that omits it would resume nothing, or another file)."""
    import shlex

    parts = ["scsafety-tui", "resume", str(session_id)]
    if retry_errors:
        parts.append("--retry-errors")
    if Path(db).expanduser().resolve() != default_db().resolve():
        parts += ["--db", shlex.quote(str(db))]
    return " ".join(parts)
