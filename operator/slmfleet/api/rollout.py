"""SmallModel.spec.rollout: how a new revision reaches traffic, and what gates each step."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from slmfleet.api.base import SpecModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import ObjectName

RolloutStrategy = Literal["canary", "recreate"]
TrafficProviderName = Literal["router", "replicas", "gateway-api"]
WebhookType = Literal["pre-rollout", "pre-promotion"]

MAX_STEPS = 20
MAX_CHECKS = 16
DEFAULT_WEIGHTS = (10, 25, 50, 100)


class ShadowStep(SpecModel):
    """Mirror live requests to the canary while only the stable revision answers."""

    percent: float = Field(
        gt=0, le=100, description="Percent of the model's answered requests mirrored to the canary."
    )
    min_requests: int = Field(
        100,
        ge=1,
        le=1000000,
        description="Mirrored requests needed before the step is judged; until then it waits.",
    )
    min_agreement: float = Field(
        0.9,
        ge=0,
        le=1,
        description=(
            "Least fraction of mirrored requests whose canary answer equals the served one "
            "(surrounding whitespace ignored); a canary error counts as disagreement."
        ),
    )


class RolloutStep(SpecModel):
    """One step of a canary: the share of traffic the new revision gets, and how long to hold it."""

    CEL_RULES = (
        Cel(
            "has(self.shadow) ? self.weight == 0 : self.weight >= 1",
            "a shadow step has weight 0; any other step a weight of at least 1",
            lambda s: s.weight == 0 if s.shadow is not None else s.weight >= 1,
        ),
    )

    weight: int = Field(
        ge=0, le=100, description="Percent of traffic on the canary revision (0: a shadow step)."
    )
    pause_seconds: int = Field(
        0,
        ge=0,
        le=86400,
        description=(
            "Least time to hold this weight; the step also needs one passing analysis after "
            "the canary's replicas are ready."
        ),
    )
    shadow: ShadowStep | None = Field(
        None,
        description=(
            "A shadow step (router traffic provider): the canary gets one replica and no "
            "served traffic; the router mirrors a sample of live requests to it and the "
            "analysis judges the canary's agreement with the served answers."
        ),
    )


def default_steps() -> list[RolloutStep]:
    return [RolloutStep(weight=w) for w in DEFAULT_WEIGHTS]


class CustomMetric(SpecModel):
    """A PromQL check. {{revision}} and {{namespace}} are replaced before the query runs."""

    CEL_RULES = (
        Cel(
            "has(self.min) || has(self.max)",
            "a custom metric needs min, max or both",
            lambda m: m.min is not None or m.max is not None,
        ),
    )

    name: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9_-]*$", max_length=63, description="Check name.")
    query: str = Field(min_length=1, max_length=4096, description="PromQL giving one number.")
    min: float | None = Field(None, description="Smallest passing value.")
    max: float | None = Field(None, description="Largest passing value.")


class MetricChecks(SpecModel):
    """Thresholds over vLLM's own metrics of the canary revision, and custom queries."""

    p95_ttft_seconds: float | None = Field(
        None, gt=0, alias="p95TTFTSeconds", description="Largest p95 time to first token, s."
    )
    p95_e2e_seconds: float | None = Field(
        None, gt=0, alias="p95E2ESeconds", description="Largest p95 end-to-end latency, s."
    )
    error_rate: float | None = Field(
        None, ge=0, le=1, description="Largest fraction of requests that fail (0-1)."
    )
    max_regression_vs_stable: float | None = Field(
        None,
        ge=1,
        description=(
            "Largest ratio of the canary's p95 latencies to the stable revision's "
            "(1.5 = at most 50% slower)."
        ),
    )
    custom: list[CustomMetric] = Field(
        default_factory=list, max_length=MAX_CHECKS, description="Custom PromQL checks."
    )


class Webhook(SpecModel):
    """An HTTP gate: a 2xx answer to a POST of the rollout's state lets the rollout go on."""

    name: str = Field(pattern=r"^[a-z0-9-]+$", max_length=63, description="Gate name.")
    type: WebhookType = Field(description="pre-rollout (before any traffic) or pre-promotion.")
    url: str = Field(pattern=r"^https?://", max_length=2048, description="URL to POST to.")
    timeout_seconds: int = Field(10, ge=1, le=300, description="How long to wait for an answer.")


class GatewayRef(SpecModel):
    """The Gateway an HTTPRoute attaches to (gateway-api traffic provider)."""

    name: ObjectName = Field(description="Gateway name.")
    namespace: ObjectName | None = Field(
        None, description="Gateway namespace; the model's if unset."
    )


UniqueWebhooks = Annotated[
    list[Webhook],
    Cel(
        "self.all(a, self.exists_one(b, b.name == a.name))",
        "webhook names must be unique",
        lambda hooks: len({h.name for h in hooks}) == len(hooks),
    ),
]


class RolloutSpec(SpecModel):
    """How a change to the model reaches its replicas."""

    CEL_RULES = (
        Cel(
            "self.trafficProvider != 'gateway-api' || has(self.gatewayRef)",
            "the gateway-api traffic provider needs gatewayRef",
            lambda r: r.traffic_provider != "gateway-api" or r.gateway_ref is not None,
        ),
        Cel(
            "!self.steps.exists(s, has(s.shadow)) || self.trafficProvider == 'router'",
            "shadow steps need the router traffic provider",
            lambda r: r.traffic_provider == "router" or all(s.shadow is None for s in r.steps),
        ),
    )

    strategy: RolloutStrategy = Field(
        "canary",
        description=(
            "canary: bring up the new revision beside the old and shift traffic in steps; "
            "recreate: replace replicas in place (for clusters with no spare GPU)."
        ),
    )
    steps: list[RolloutStep] = Field(
        default_factory=default_steps,
        min_length=1,
        max_length=MAX_STEPS,
        description="Canary traffic weights in rising order; after the last the canary is promoted.",
    )
    analysis_interval_seconds: int = Field(
        30, ge=1, le=3600, description="Seconds between analyses of the canary."
    )
    failure_limit: int = Field(
        2, ge=0, le=100, description="Failed analyses tolerated; one more rolls back."
    )
    inconclusive_limit: int = Field(
        3,
        ge=0,
        le=100,
        description="Analyses without data tolerated (never promoted on); one more rolls back.",
    )
    progress_deadline_seconds: int = Field(
        600,
        ge=10,
        le=86400,
        description=(
            "How long a step may wait for the canary's replicas to be ready (image pulls and "
            "weight loading included); past it the rollout rolls back."
        ),
    )
    no_surge: bool = Field(
        False,
        description=(
            "Scale the stable revision down before starting canary replicas, so a cluster with "
            "no spare GPU never deadlocks; total replicas never exceed the desired count."
        ),
    )
    analysis: Literal["required", "none"] = Field(
        "required",
        description=(
            "required: a canary step passes only when at least one data-backed check (a metric "
            "from Prometheus or the EvalSuite) passed and none failed; the operator's probe and "
            "webhooks alone are not evidence. none: steps advance on their pause alone when "
            "nothing fails (explicitly no evidence)."
        ),
    )
    metrics: MetricChecks = Field(
        default_factory=MetricChecks, description="Metric thresholds checked at each analysis."
    )
    webhooks: UniqueWebhooks = Field(
        default_factory=list, max_length=MAX_CHECKS, description="HTTP gates."
    )
    eval_suite_ref: ObjectName | None = Field(
        None, description="EvalSuite (same namespace) run against the canary at each step."
    )
    traffic_provider: TrafficProviderName = Field(
        "router",
        description=(
            "router: the namespace's slmfleet router splits requests by the exact weights; "
            "replicas: split by ready-replica ratio behind the model's one Service; "
            "gateway-api: an HTTPRoute with weighted backends per revision (the router "
            "applies the same weights)."
        ),
    )
    gateway_ref: GatewayRef | None = Field(
        None, description="Gateway for the gateway-api traffic provider."
    )
    history_limit: int = Field(
        5, ge=1, le=20, description="Revisions kept in status.history for rollback."
    )

    @model_validator(mode="after")
    def _rising_weights(self) -> Self:
        weights = [s.weight for s in self.steps]
        if any(b <= a for a, b in pairwise(weights)):
            raise ValueError(f"rollout steps weights must rise strictly, got {weights}")
        return self
