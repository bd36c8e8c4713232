"""`scsafety-tui --version` prints the version pyproject.toml gives the package, and nothing starts."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scsafety_tui import cli

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _declared() -> str:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"scsafety-tui {_declared()}\n"


def test_version_from_the_command_line():
    done = subprocess.run([sys.executable, "-m", "scsafety_tui", "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"scsafety-tui {_declared()}\n", "")
