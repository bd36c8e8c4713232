"""Loopback demo server with scripted personas, for the demo mode and for every HTTP test."""

from scsafety_tui.demo.launch import DemoServerThread, run_forever
from scsafety_tui.demo.personas import (
    ALL_MODELS,
    ATTACKER_MODEL,
    DEMO_PERSONAS,
    JUDGE_MODEL,
    MARK_EN,
    MARK_ZH,
)
from scsafety_tui.demo.server import DemoServer

__all__ = [
    "ALL_MODELS",
    "ATTACKER_MODEL",
    "DEMO_PERSONAS",
    "JUDGE_MODEL",
    "MARK_EN",
    "MARK_ZH",
    "DemoServer",
    "DemoServerThread",
    "run_forever",
]
