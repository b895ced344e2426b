"""Weights and replicas per revision that a rollout status means (pure).

Both the reconcile (which applies the current revision's Deployment) and the rollout timer (which
scales the others) derive replica counts from here, so they never fight over them; the ModelRoute
reconcile derives the router's split from here too.
"""

from __future__ import annotations

from slmfleet.api.rollout import RolloutSpec, ShadowStep
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.traffic.providers import provider_for


def weights_of(status: RolloutStatus | None, revision: str) -> dict[str, int]:
    """Percent of traffic per revision, stable first; ``revision`` alone when nothing is rolling."""
    if status is None or status.stable_revision is None:
        return {revision: 100}
    stable, canary = status.stable_revision, status.canary_revision
    if canary is None or canary == stable:
        return {stable: 100}
    weight = status.weight
    return {stable: 100 - weight, canary: weight}


def shadow_of(spec: RolloutSpec, status: RolloutStatus | None) -> ShadowStep | None:
    """The shadow of the step the canary is at, while its steps run."""
    if status is None or status.phase is None or not status.phase.analyzed:
        return None
    if status.canary_revision is None or status.canary_revision == status.stable_revision:
        return None
    return spec.steps[min(status.step, len(spec.steps) - 1)].shadow


def replicas_of(
    spec: RolloutSpec, status: RolloutStatus | None, revision: str, total: int
) -> dict[str, int]:
    """Replicas per revision for the weights above, by the chosen traffic provider; a shadow
    step gives the canary one replica (out of the stable's without surge)."""
    weights = weights_of(status, revision)
    plan = provider_for(spec).replicas(weights, total, spec.no_surge)
    if status is not None and shadow_of(spec, status) is not None:
        canary, stable = status.canary_revision or "", status.stable_revision or ""
        if plan.get(canary, 0) < 1:
            plan[canary] = 1
            if spec.no_surge and plan.get(stable, 0) > 1:
                plan[stable] -= 1
    return plan


def router_weights_of(
    spec: RolloutSpec, status: RolloutStatus | None, revision: str
) -> dict[str, int] | None:
    """The split the built-in router applies to the model, or None for every ready endpoint."""
    return provider_for(spec).router_weights(weights_of(status, revision))
