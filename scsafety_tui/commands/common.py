"""Helpers shared by commands: finding the config and the database."""

from __future__ import annotations

import argparse
from pathlib import Path

from scsafety_tui.config import Config, ConfigError, load_config
from scsafety_tui.paths import default_config, default_db


def config_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "config", None) or default_config())


def load_user_config(args: argparse.Namespace, *, required: bool = True) -> Config | None:
    path = config_path(args)
    if not path.exists():
        if not required:
            return None
        raise ConfigError(f"{path}: no such config file (create one with `scsafety-tui init {path}`, "
                          "or try `scsafety-tui demo`)")
    return load_config(path)


def db_path(args: argparse.Namespace, config: Config | None = None) -> str:
    if getattr(args, "db", None):
        given: str = args.db
        return given
    if config is not None and config.storage.db:
        return str(Path(config.storage.db).expanduser())
    return str(default_db())


def split_keys(value: str | None) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]
