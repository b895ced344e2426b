"""The cost figures a person reads, derived from a ledger's usage (pure; never divides by zero).

$/1M tokens and $/1k requests need a price for every GPU-hour in the period and some traffic;
otherwise they are None and ``reason`` says which is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slmfleet.economics.ledger import Usage

PRICED = "Priced"
NO_PRICE = "NoPrice"
NO_TRAFFIC = "NoTraffic"
NO_METRICS = "NoMetrics"


def sig(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits (status figures do not churn)."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.{digits}g}")


@dataclass(frozen=True)
class Figures:
    """Usage over a period and what follows from it."""

    seconds: float
    usage: Usage
    tokens_per_second: float | None
    cost_per_1m_tokens: float | None
    cost_per_1k_requests: float | None


def figures(usage: Usage, seconds: float) -> Figures:
    priced = usage.unpriced_gpu_hours == 0
    tokens, requests = usage.tokens, usage.requests
    return Figures(
        seconds=seconds,
        usage=usage,
        tokens_per_second=tokens / seconds if seconds > 0 else None,
        cost_per_1m_tokens=usage.cost / tokens * 1e6 if priced and tokens > 0 else None,
        cost_per_1k_requests=usage.cost / requests * 1e3 if priced and requests > 0 else None,
    )


def verdict(period: Figures, price: float | None, metrics: bool) -> tuple[str, str]:
    """The reason and message status gives for the period's figures."""
    if price is None or period.usage.unpriced_gpu_hours > 0:
        unpriced = period.usage.unpriced_gpu_hours
        return NO_PRICE, (
            f"{unpriced:.3g} GPU-hours without a price: set pricePerGPUHour on the GPUClass"
            if unpriced
            else "the GPUClass has no pricePerGPUHour"
        )
    if not metrics:
        return NO_METRICS, "no token counters: the operator has no Prometheus (prometheusUrl)"
    if period.usage.tokens <= 0:
        return NO_TRAFFIC, "no tokens served in the window: no cost per token"
    return PRICED, (
        f"${period.usage.cost:.4g} for {period.usage.tokens:.0f} tokens "
        f"over {period.seconds / 3600:.2g} h"
    )


def utilization(tokens_per_second: float | None, capacity: float | None) -> float | None:
    """Tokens/s served against the tokens/s the running replicas could serve."""
    if tokens_per_second is None or not capacity or capacity <= 0:
        return None
    return tokens_per_second / capacity


def usage_fields(usage: Usage) -> dict[str, float]:
    return {
        "gpuHours": sig(usage.gpu_hours, 6),
        "cost": sig(usage.cost, 6),
        "promptTokens": round(usage.prompt_tokens),
        "generationTokens": round(usage.generation_tokens),
        "requests": round(usage.requests),
    }


def period_fields(period: Figures) -> dict[str, float | None]:
    """A period's figures in status's camelCase, rounded; None where unknown."""

    def maybe(value: float | None) -> float | None:
        return None if value is None else sig(value)

    return {
        "seconds": round(period.seconds),
        **usage_fields(period.usage),
        "tokensPerSecond": maybe(period.tokens_per_second),
        "costPer1MTokens": maybe(period.cost_per_1m_tokens),
        "costPer1kRequests": maybe(period.cost_per_1k_requests),
    }
