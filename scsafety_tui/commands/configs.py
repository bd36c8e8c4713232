"""init, config check, paths."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from scsafety_tui.commands.common import config_path
from scsafety_tui.config import config_to_dict, load_config
from scsafety_tui.errors import InputError
from scsafety_tui.paths import default_config, default_db, log_file
from scsafety_tui.textsafe import visible

STARTER = {
    "targets": [
        {"key": "deepseek", "provider": "openai", "base_url": "https://api.deepseek.com/v1",
         "model": "deepseek-chat", "api_key_env": "DEEPSEEK_API_KEY", "temperature": 0.0, "concurrency": 4},
        {"key": "qwen", "provider": "openai", "base_url": "https://dashscope.aliyuncs.com/compatible-mode/v1",
         "model": "qwen-plus", "api_key_env": "DASHSCOPE_API_KEY", "temperature": 0.0, "concurrency": 4},
        {"key": "local", "provider": "openai", "base_url": "http://127.0.0.1:11434/v1",
         "model": "qwen2.5:7b", "concurrency": 2},
    ],
    "judge": {"mode": "model", "retries": 2, "targets": [
        {"key": "judge", "provider": "openai", "base_url": "https://api.openai.com/v1", "model": "gpt-4o",
         "api_key_env": "OPENAI_API_KEY", "temperature": 0.0, "concurrency": 8}]},
    "run": {"banks": [], "rounds": 0, "sub_dimensions": [], "limit": 0, "seed": 0, "retries": 4},
    "ui": {"theme": "textual-dark", "markdown": False},
}


def cmd_init(args: argparse.Namespace) -> int:
    import tomli_w

    path = Path(args.path or default_config())
    if path.exists() and not args.force:
        raise InputError(f"{path}: already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ("# scsafety-tui config. Every key is documented in config.example.toml.\n"
              "# API keys are read from the environment variables named by api_key_env.\n\n")
    path.write_text(header + tomli_w.dumps(STARTER), encoding="utf-8")
    print(f"wrote {path}; check it with: scsafety-tui config check {path}")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    import os

    import tomli_w

    path = Path(args.path) if args.path else config_path(args)
    config = load_config(path)
    if config.attacker is not None:  # its strategy files, read as a run reads them (a broken one is named)
        from scsafety_tui.follow_ups import load_strategies

        load_strategies()
    print(visible(f"# {path}: OK"))
    print(visible(tomli_w.dumps(masked(config_to_dict(config)))), end="")
    missing = []
    for t in (*config.targets, *config.judge.targets, *([config.attacker] if config.attacker else [])):
        if t.api_key_env:
            value = os.environ.get(t.api_key_env)
            state = "set (value hidden)" if value else "NOT SET"
            print(visible(f"# {t.key}: {t.api_key_env} {state}"))
            if not value:
                missing.append(t.api_key_env)
    if missing:
        print(f"# missing environment variables: {', '.join(missing)} (needed at run time)")
    return 0


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """The config as printed: every header value and every secret-named param shown as "***"."""
    from scsafety_tui.redact import MASK, mask_params

    targets = [*data.get("targets", []), *data.get("judge", {}).get("targets", []),
               *([data["attacker"]] if "attacker" in data else [])]
    for t in targets:
        if "headers" in t:
            t["headers"] = {k: MASK for k in t["headers"]}
        if "params" in t:
            t["params"] = mask_params(t["params"])
    return data


def cmd_paths(args: argparse.Namespace) -> int:
    print(json.dumps({"config": str(default_config()), "database": str(default_db()),
                      "log": str(log_file())}, indent=2))
    return 0
