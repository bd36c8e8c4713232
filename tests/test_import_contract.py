"""The import rules of CONTRIBUTING.md "Architecture", checked module by module over the source's AST.

`lint-imports` checks the same rules in CI from pyproject's [tool.importlinter]; this test makes
`python -m pytest` alone enforce them. Every import counts: at the top, inside a function (the CLI's
lazy imports), under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

import scsafety_tui

PKG = Path(scsafety_tui.__file__).parent
ROOT = "scsafety_tui"

LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer.split()) for layer in (
    "__main__ cli commands",                                   # front end: the command line
    "tui",                                                     # front end: the Textual app
    "headless spot exports compare report html_report importers judge_eval",  # what the commands and screens call
    "engine",                                                  # the run
    "judge demo_profile demo cost guards heuristic_judge",     # cost: the bound reads the judge's prompt
    "store",
    "questions taxonomy events scoring follow_ups rounds",     # the domain, as plain data
    "providers",                                               # wire protocols, errors, retry
    "config redact textsafe errors paths atomic logs rubric",  # the base
))
"""Top to bottom: a module imports only from its own layer or the ones below."""

DOORS = {("commands", f"{ROOT}.tui.launch")}
"""Allowed exceptions: a command starts the app through tui.launch (inside the command's function)."""


def _layer(top: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if top in layer), None)


def _module_names() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        parts = (ROOT, *path.relative_to(PKG).with_suffix("").parts)
        out.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return out


MODULES = _module_names()
TOPS = sorted({name.split(".")[1] for name, _ in MODULES if "." in name})


def imports_of(name: str, source: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the source; `from a import b`
    counts as importing a.b, which is what it is when b is a module."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                head = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{head}.{base}" if base else head
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def violations(name: str, source: str, *, is_package: bool = False) -> list[str]:
    """What the module's imports break, one line each."""
    top = name.split(".")[1] if "." in name else ""
    mine = _layer(top)
    out = []
    for target, line in imports_of(name, source, is_package=is_package):
        parts = target.split(".")
        where = f"{name} line {line} imports {target}"
        if parts[0] == "textual" and top != "tui":
            out.append(f"{where}: the core never imports Textual")
        if parts[0] != ROOT or len(parts) < 2 or any(top == t and f"{target}.".startswith(f"{door}.")
                                                       for t, door in DOORS):
            continue
        other = parts[1]
        if other == "tui" and top != "tui":
            out.append(f"{where}: the core never imports the TUI")
        elif top == "tui" and other in ("commands", "cli", "__main__"):
            out.append(f"{where}: the TUI never imports the CLI")
        elif top == "store" and other == "engine":
            out.append(f"{where}: the store never imports the engine")
        theirs = _layer(other)
        if mine is not None and theirs is not None and theirs < mine:
            out.append(f"{where}: {other} is in a layer above {top}")
    return out


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_module_keeps_the_import_rules(name, path):
    assert violations(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py") == []


def test_every_top_level_module_has_a_layer():
    assert [top for top in TOPS if _layer(top) is None] == []
    assert sum(len(layer) for layer in LAYERS) == len(set().union(*LAYERS))  # no module in two layers


def test_import_linter_checks_the_same_rules():
    config = tomllib.loads((PKG.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contracts = {c["type"]: c for c in config["contracts"] if c["type"] == "layers"}
    layers = [frozenset(m.strip().removeprefix(f"{ROOT}.") for m in layer.split(":"))
              for layer in contracts["layers"]["layers"]]
    assert layers == list(LAYERS)
    core = next(c for c in config["contracts"] if "textual" in c.get("forbidden_modules", []))
    assert {m.removeprefix(f"{ROOT}.") for m in core["source_modules"]} == set(TOPS) - {"tui"}


@pytest.mark.parametrize(("name", "source", "broken"), [
    ("scsafety_tui.engine.runner", "def f():\n    from scsafety_tui.tui.app import SCSafetyApp\n",
     "never imports the TUI"),
    ("scsafety_tui.report", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import textual.app\n",
     "never imports Textual"),
    ("scsafety_tui.tui.screens.home", "from scsafety_tui.commands import runs\n", "never imports the CLI"),
    ("scsafety_tui.store.queries", "from ..engine import session\n", "never imports the engine"),
    ("scsafety_tui.providers.base", "from scsafety_tui.questions import Item\n", "in a layer above providers"),
    ("scsafety_tui.commands.runs", "from scsafety_tui.tui.app import SCSafetyApp\n", "never imports the TUI"),
])
def test_the_rules_catch_a_broken_import(name, source, broken):
    found = violations(name, source)
    assert len(found) >= 1 and broken in found[0], found


def test_the_one_door_and_the_package_itself():
    assert violations("scsafety_tui.commands.runs", "def f():\n    from scsafety_tui.tui.launch import launch\n") == []
    assert violations("scsafety_tui.engine", "from . import session\n", is_package=True) == []
