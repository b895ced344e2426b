"""Run a cascade: ask tier 0, check the answer, climb while the checks fail and budget allows.

Cascades apply to non-streaming requests only: the answer must be complete before it can be
checked. The decisions are the pure `should_escalate` and `EscalationBudget.allows`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slmfleet.router.budget import EscalationBudget
from slmfleet.router.config import CascadePolicy, Route, RouterConfig
from slmfleet.router.escalation import EscalationReason, should_escalate
from slmfleet.router.forwarder import Forwarder
from slmfleet.router.metrics import RouterMetrics
from slmfleet.router.payload import asks_logprobs, parse_response, strip_logprobs, with_logprobs
from slmfleet.router.routing import cascade_attempts
from slmfleet.router.upstream import Reply


@dataclass(frozen=True)
class CascadeOutcome:
    """The reply to send, the tier that produced it, and why earlier tiers were passed over."""

    reply: Reply
    tier: int
    reasons: tuple[EscalationReason, ...]
    denied: EscalationReason | None = None


class Budgets:
    """One EscalationBudget per route, rebuilt when a reload changes the route's limits."""

    def __init__(self) -> None:
        self._budgets: dict[str, EscalationBudget] = {}

    def for_route(self, route: str, policy: CascadePolicy) -> EscalationBudget:
        """The budget of `route` under `policy`'s fraction and window."""
        budget = self._budgets.get(route)
        limits = (policy.max_escalation_fraction, policy.window_seconds)
        if budget is None or (budget.max_fraction, budget.window_seconds) != limits:
            budget = EscalationBudget(*limits)
            self._budgets[route] = budget
        return budget


async def run_cascade(
    forwarder: Forwarder,
    budget: EscalationBudget,
    *,
    config: RouterConfig,
    route: Route,
    path: str,
    body: Mapping[str, Any],
    deadline: float,
    clock: Callable[[], float],
    metrics: RouterMetrics,
) -> CascadeOutcome:
    """Serve a non-streaming request through `route.cascade`'s tiers."""
    policy = route.cascade
    if policy is None:
        raise ValueError(f"route {route.name!r} has no cascade")
    wants_logprobs = policy.min_mean_logprob is not None
    upstream_body = with_logprobs(body, path) if wants_logprobs else dict(body)
    reasons: list[EscalationReason] = []
    denied: EscalationReason | None = None
    last_tier = len(policy.tiers) - 1
    tier = 0
    for tier, backend_name in enumerate(policy.tiers):
        names = cascade_attempts(route, backend_name)
        reply = await forwarder.call(
            config, route, names, path=path, body=upstream_body, stream=False, deadline=deadline
        )
        document = parse_response(reply.body) if reply.ok else None
        escalate, reason = should_escalate(document, policy)
        if not escalate or reason is None or tier == last_tier:
            break
        # A request counts once against the budget, however many tiers it climbs.
        if not reasons and not budget.allows(clock()):
            metrics.escalations_denied.labels(route=route.name, reason=reason.value).inc()
            denied = reason
            break
        metrics.escalations.labels(route=route.name, reason=reason.value).inc()
        reasons.append(reason)
    budget.record(clock(), bool(reasons))
    if wants_logprobs and document is not None and not asks_logprobs(body):
        reply = dataclasses.replace(reply, body=json.dumps(strip_logprobs(document)).encode())
    return CascadeOutcome(reply=reply, tier=tier, reasons=tuple(reasons), denied=denied)
