"""Import public Chinese safety datasets into question banks (`scsafety-tui questions import`).

Each format is a reader that turns one decoded source file into `RawItem`s (or `Skip`s for malformed rows);
`convert` maps their labels onto the taxonomy and `output` writes the bank atomically. Nothing here
imports Textual.
"""

from __future__ import annotations

from scsafety_tui.importers import chisafetybench, generic, jade, jsonl_sets, safety_prompts, xsafety
from scsafety_tui.importers.base import Reader

READERS: dict[str, Reader] = {
    "jsonl": generic.read_jsonl,
    "csv": generic.read_csv,
    "json": generic.read_json,
    "safety-prompts": safety_prompts.read,
    "xsafety": xsafety.read,
    "flames": jsonl_sets.read_flames,
    "cvalues": jsonl_sets.read_cvalues,
    "jade": jade.read,
    "chisafetybench": chisafetybench.read,
    "safedialbench": jsonl_sets.read_safedialbench,
}
"""Format name → reader, in the order `--help` lists them."""

GENERIC_FORMATS = ("jsonl", "csv", "json")

SUFFIXES: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl",), "csv": (".csv", ".tsv"), "json": (".json",), "safety-prompts": (".json",),
    "xsafety": (".csv",), "flames": (".jsonl",), "cvalues": (".jsonl",), "jade": (".csv",),
    "chisafetybench": (".json",), "safedialbench": (".jsonl",),
}
"""What a folder given as SRC expands to, per format."""
