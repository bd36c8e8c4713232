"""The config a demo run uses: the demo server's four personas and its judge. Nothing is written to the
user's config."""

from __future__ import annotations

from scsafety_tui.config import Config, JudgeConfig, RunConfig, TargetConfig

PERSONAS = ("demo-guardian", "demo-refuser", "demo-pushover", "demo-wobbly")
SPEEDS = {"realistic": (0.3, 0.03), "fast": (0.02, 0.002), "instant": (0.0, 0.0)}


def demo_target(key: str, url: str, model: str | None = None, concurrency: int = 4) -> TargetConfig:
    return TargetConfig(key=key, provider="openai", base_url=url, model=model or key, temperature=0.0,
                        concurrency=concurrency, timeout_s=60.0)


def demo_config(url: str, *, banks: tuple[str, ...] = (), limit: int = 0, concurrency: int = 4,
                personas: tuple[str, ...] = PERSONAS) -> Config:
    return Config(
        targets=tuple(demo_target(p, url, concurrency=concurrency) for p in personas),
        judge=JudgeConfig(mode="model", targets=(demo_target("demo-judge", url, concurrency=16),)),
        run=RunConfig(banks=banks, limit=limit, retries=3, max_retry_wait_s=5.0),
        source="demo",
    )


def is_demo(config: Config) -> bool:
    """A config whose every model is a demo persona on loopback (a demo session's snapshot)."""
    from urllib.parse import urlsplit

    from scsafety_tui.demo.personas import ALL_MODELS

    targets = [*config.targets, *config.judge.targets]
    return bool(targets) and all(urlsplit(t.base_url).hostname == "127.0.0.1"
                                 and t.model.split("+")[0] in ALL_MODELS for t in targets)


def rebase(config: Config, url: str) -> Config:
    """The same demo config pointed at a demo server started anew (its port changes every time)."""
    from dataclasses import replace

    return replace(config, targets=tuple(replace(t, base_url=url) for t in config.targets),
                   judge=replace(config.judge, targets=tuple(replace(t, base_url=url)
                                                              for t in config.judge.targets)),
                   attacker=replace(config.attacker, base_url=url) if config.attacker else None)
