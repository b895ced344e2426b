"""What a ModelRoute's cascade costs per tier, and what it saved against its last tier (pure).

The router counts each answered request and its tokens once, under the tier that answered it
(``slmfleet_router_requests_total`` / ``slmfleet_router_tokens_total`` by route and upstream
model), and each escalation by reason. A local tier costs what its SmallModel costs per token over
the window; an external tier its backend's ``pricePer1MTokens``. The saving is the route's tokens
at the last (biggest) tier's price minus what the tiers cost; the tokens a lower tier spent on
answers that were escalated are in the SmallModel's cost, not in the route's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slmfleet.economics.figures import NO_PRICE, NO_TRAFFIC, PRICED, sig


@dataclass(frozen=True)
class Tier:
    """One tier: its backend name, the model name the router counts it under, its $/1M."""

    name: str
    model: str
    cost_per_1m_tokens: float | None


@dataclass(frozen=True)
class RouteCounts:
    """The router's counts for one route over the window."""

    requests: Mapping[str, float]  # by upstream model
    tokens: Mapping[str, float]  # by upstream model
    escalations: Mapping[str, float]  # by reason


def cascade_status(
    tiers: Sequence[Tier], counts: RouteCounts, window_seconds: int
) -> dict[str, Any]:
    """status.cascade of a route: share, tokens and cost per tier, escalations and the saving."""
    requests = sum(counts.requests.get(t.model, 0.0) for t in tiers)
    rows, spent, priced = [], 0.0, True
    for tier in tiers:
        answered = counts.requests.get(tier.model, 0.0)
        tokens = counts.tokens.get(tier.model, 0.0)
        price = tier.cost_per_1m_tokens
        cost = None if price is None else tokens * price / 1e6
        priced = priced and (cost is not None or tokens == 0)
        spent += cost or 0.0
        rows.append(
            {
                "name": tier.name,
                "requests": round(answered),
                "share": sig(answered / requests) if requests else None,
                "tokens": round(tokens),
                "costPer1MTokens": None if price is None else sig(price),
                "cost": None if cost is None else sig(cost, 6),
            }
        )
    total_tokens = sum(counts.tokens.get(t.model, 0.0) for t in tiers)
    top = tiers[-1].cost_per_1m_tokens if tiers else None
    baseline = None if top is None else total_tokens * top / 1e6
    known = priced and baseline is not None
    if not requests:
        reason, message = NO_TRAFFIC, "no requests answered in the window"
    elif not known:
        missing = [t.name for t in tiers if t.cost_per_1m_tokens is None]
        reason, message = NO_PRICE, "no cost per token for " + ", ".join(missing)
    else:
        reason = PRICED
        message = (
            f"saved ${(baseline or 0.0) - spent:.4g} against sending everything to {tiers[-1].name}"
        )
    return {
        "windowSeconds": window_seconds,
        "reason": reason,
        "message": message,
        "requests": round(requests),
        "tiers": rows,
        "escalations": [
            {"reason": r, "count": round(n)} for r, n in sorted(counts.escalations.items()) if n
        ],
        "cost": sig(spent, 6) if known else None,
        "costAllOnLastTier": sig(baseline, 6) if known and baseline is not None else None,
        "saving": sig((baseline or 0.0) - spent, 6) if known else None,
    }
