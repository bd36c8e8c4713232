"""Where things live: the shipped question bank and the platform data/config dirs."""

from __future__ import annotations

from collections.abc import Sequence
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


def is_default_db(db: str | Path) -> bool:
    return Path(db).expanduser().resolve() == default_db().resolve()


def command_line(args: Sequence[str], db: str | Path) -> str:
    """A command line that a hint prints, as a user can paste it: every argument shell-quoted (a set or
    session name may hold spaces and quotes), and `--db` named unless the database is the default one (a
    hint that omits it would act on another file, or on nothing)."""
    import shlex

    parts = ["scsafety-tui", *map(shlex.quote, args)]
    if not is_default_db(db):
        parts += ["--db", shlex.quote(str(db))]
    return " ".join(parts)


def resume_command(session_id: int, db: str | Path, *, retry_errors: bool = False) -> str:
    """The `resume` command line for a session (command_line)."""
    return command_line(["resume", str(session_id), *(["--retry-errors"] if retry_errors else [])], db)


def rejudge_command(session_id: int, db: str | Path, vset: str = "") -> str:
    """The `rejudge` command that judges a session's unscored answers again (in set vset, '' : the run's)."""
    # --set=NAME: a name that starts with "-" would be read as an option after a bare --set
    return command_line(["rejudge", str(session_id), *([f"--set={vset}"] if vset else [])], db)
