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
