"""Operator settings, read once from the environment (the chart sets them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

DEFAULT_ENGINE_IMAGE = "vllm/vllm-openai:v0.33.0"


@dataclass(frozen=True)
class Settings:
    default_engine_image: str
    gpuclass_resync_seconds: float
    resync_seconds: float


@cache
def settings() -> Settings:
    return Settings(
        default_engine_image=os.environ.get("SLMFLEET_ENGINE_IMAGE", DEFAULT_ENGINE_IMAGE),
        gpuclass_resync_seconds=float(os.environ.get("SLMFLEET_GPUCLASS_RESYNC_SECONDS", "60")),
        resync_seconds=float(os.environ.get("SLMFLEET_RESYNC_SECONDS", "30")),
    )
