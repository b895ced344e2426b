"""A ledger to and from SmallModel status.cost.ledger (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from slmfleet.api.cost_status import CostLedger, LedgerUsage
from slmfleet.economics.figures import sig
from slmfleet.economics.ledger import Bucket, Counters, Ledger, Usage


def _usage(raw: LedgerUsage) -> Usage:
    return Usage(
        raw.gpu_hours,
        raw.unpriced_gpu_hours,
        raw.cost,
        raw.prompt_tokens,
        raw.generation_tokens,
        raw.requests,
    )


def _usage_body(usage: Usage) -> dict[str, float]:
    return {
        "gpuHours": sig(usage.gpu_hours, 9),
        "unpricedGpuHours": sig(usage.unpriced_gpu_hours, 9),
        "cost": sig(usage.cost, 9),
        "promptTokens": usage.prompt_tokens,
        "generationTokens": usage.generation_tokens,
        "requests": usage.requests,
    }


def ledger_from_status(status: Mapping[str, Any] | None) -> Ledger | None:
    """The ledger status keeps; None when there is none or it cannot be read."""
    raw = ((status or {}).get("cost") or {}).get("ledger")
    if not raw:
        return None
    try:
        parsed = CostLedger.model_validate(dict(raw))
    except ValidationError:
        return None
    return Ledger(
        started=parsed.started,
        observed=parsed.observed,
        gpus=parsed.gpus,
        price=parsed.price_per_gpu_hour,
        total=_usage(parsed.total),
        bucket_seconds=parsed.bucket_seconds,
        buckets=tuple(Bucket(b.start, _usage(b)) for b in parsed.buckets),
        counters={c.pod: Counters(c.prompt, c.generation, c.requests) for c in parsed.counters},
    )


def ledger_body(ledger: Ledger) -> dict[str, Any]:
    """status.cost.ledger of ``ledger``."""
    return {
        "started": round(ledger.started, 3),
        "observed": round(ledger.observed, 3),
        "gpus": ledger.gpus,
        "pricePerGPUHour": ledger.price,
        "bucketSeconds": ledger.bucket_seconds,
        "total": _usage_body(ledger.total),
        "buckets": [{"start": b.start, **_usage_body(b.usage)} for b in ledger.buckets],
        "counters": [
            {"pod": pod, "prompt": c.prompt, "generation": c.generation, "requests": c.requests}
            for pod, c in sorted(ledger.counters.items())
        ],
    }
