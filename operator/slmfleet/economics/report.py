"""SmallModel status.cost from a ledger (pure), and when it is worth writing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmfleet.economics.figures import figures, period_fields, sig, utilization, verdict
from slmfleet.economics.ledger import Ledger, window
from slmfleet.economics.ledger_status import ledger_body


def cost_status(
    ledger: Ledger,
    window_seconds: int,
    gpus_per_replica: int,
    replica_capacity: float | None,
    metrics: bool,
) -> dict[str, Any]:
    """status.cost: the window's and the lifetime's figures, the reason, and the ledger."""
    usage, seconds = window(ledger, ledger.observed, window_seconds)
    period = figures(usage, seconds)
    lifetime = figures(ledger.total, ledger.observed - ledger.started)
    reason, message = verdict(period, ledger.price, metrics)
    capacity = None
    if replica_capacity is not None and seconds > 0 and gpus_per_replica > 0:
        mean_replicas = usage.gpu_hours * 3600.0 / seconds / gpus_per_replica
        capacity = replica_capacity * mean_replicas if mean_replicas > 0 else None
    used = utilization(period.tokens_per_second, capacity) if metrics else None
    return {
        "reason": reason,
        "message": message,
        "windowSeconds": window_seconds,
        "pricePerGPUHour": ledger.price,
        "gpus": ledger.gpus,
        "window": period_fields(period),
        "sinceCreation": period_fields(lifetime),
        "capacityTokensPerSecond": None if capacity is None else sig(capacity),
        "utilization": None if used is None else sig(used, 3),
        "ledger": ledger_body(ledger),
    }


ACCRUING = frozenset({"seconds", "gpuHours", "cost"})
"""Period fields that grow at every pass while GPUs run; the GPUs and price that make them grow
are compared instead."""


def _figures_only(cost: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader compares: the figures to 2 significant digits, without the ledger, the
    message (it quotes the accruing figures and says what the reason says) and what only
    accrues (GPU-hours, cost, and the capacity of the window's mean replicas, which moves for a
    window after each replica change); a period without tokens has no tokens/s (nor the window
    a utilization) to compare: unset while the period has no seconds yet, then 0."""

    def rough(value: Any) -> Any:
        return sig(value, 2) if isinstance(value, float) else value

    def idle(period: Mapping[str, Any]) -> bool:
        return not (period.get("promptTokens") or period.get("generationTokens"))

    skipped = {"ledger", "message", "capacityTokensPerSecond"}
    if idle(cost.get("window") or {}):
        skipped.add("utilization")
    out = {k: rough(v) for k, v in cost.items() if k not in skipped and v is not None}
    for key in ("window", "sinceCreation"):
        period = cost.get(key) or {}
        out[key] = {
            k: rough(v)
            for k, v in period.items()
            if k not in ACCRUING and v is not None and not (idle(period) and k == "tokensPerSecond")
        }
    return out


def reportable(cost: Mapping[str, Any]) -> bool:
    """Whether status.cost has anything to say: GPUs run now, or the ledger counted GPU time,
    tokens or requests. A model that never ran a replica has nothing: its ledger (kept in
    memory from the first pass that saw it) is first written when it first has GPUs."""
    ledger = cost["ledger"]
    return bool(ledger["gpus"]) or any(ledger["total"].values())


def worth_writing(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], every_seconds: float
) -> bool:
    """Write status.cost when there is none and it has something to say (``reportable``), when
    the GPUs or the price changed (the ledger integrates from them after a restart), or when a
    figure moved (tokens, $/1M, tokens/s, utilization, the reason: not the GPU-hours that accrue
    between changes) and the last write is at least ``every_seconds`` old. A model without
    traffic at a steady replica count is written rarely: a new model once, when its first
    replica runs."""
    if not before or not before.get("ledger"):
        return reportable(after)
    old, new = before.get("ledger") or {}, after["ledger"]
    if (old.get("gpus"), old.get("pricePerGPUHour")) != (new["gpus"], new["pricePerGPUHour"]):
        return True
    if _figures_only(before) == _figures_only(after):
        return False
    return float(new["observed"]) - float(old.get("observed") or 0.0) >= every_seconds
