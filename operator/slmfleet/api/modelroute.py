"""ModelRoute: how requests for an OpenAI model name reach SmallModels or external endpoints.

Match on the model name (an alias) and headers, split by weight, retry, fall back in order, or
climb a cascade of tiers; served by the slmfleet router or rendered as a Gateway API HTTPRoute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from slmfleet import API_VERSION
from slmfleet.api.base import ApiModel, SpecModel, StatusModel
from slmfleet.api.cascade_status import CascadeEconomics
from slmfleet.api.cel import Cel
from slmfleet.api.common import (
    CONDITIONS_LIST,
    DNS_LABEL_PATTERN,
    Condition,
    KeySelector,
    ObjectMeta,
    ObjectName,
)
from slmfleet.api.crdmeta import AGE_COLUMN, KindInfo, PrinterColumn
from slmfleet.api.errors import SpecError, go_value, spec_error
from slmfleet.api.json_schema import AnswerSchema
from slmfleet.api.parse import plain
from slmfleet.api.regex import compile_regex
from slmfleet.api.route_backend import RouteBackend

Provider = Literal["router", "gateway-api"]
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"


class RouteMatch(SpecModel):
    """Which requests the route takes."""

    model: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        description=(
            "OpenAI model name (alias) clients send, for example support-triage; the route "
            "also answers to its own name."
        ),
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        max_length=16,
        description="Headers that must be present with exactly these values, such as x-tenant.",
    )


class CascadeSpec(SpecModel):
    """Tiers of backends: a request climbs to the next tier when the answer fails the checks."""

    tiers: list[str] = Field(
        min_length=2, max_length=8, description="Backend names, smallest first."
    )
    min_mean_logprob: float | None = Field(
        None, le=0, description="Escalate when the mean token logprob is below this."
    )
    json_schema: AnswerSchema | None = Field(
        None,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        description=(
            "Escalate when the answer is not JSON valid against this JSON Schema "
            "(Draft 2020-12 unless its $schema names another draft)."
        ),
    )
    regex: str | None = Field(
        None,
        max_length=4096,
        description=(
            "Escalate when the answer does not fully match this RE2 pattern (no backreferences "
            "or lookaround; `.` matches newlines)."
        ),
    )
    escalate_on_length: bool = Field(True, description="Escalate on finish_reason=length.")
    max_escalation_fraction: float = Field(
        0.2, ge=0, le=1, description="Most share of requests escalated per window."
    )
    window_seconds: int = Field(60, ge=1, le=86400, description="Window of the budget.")


class ParentReference(SpecModel):
    """A Gateway the HTTPRoute attaches to."""

    name: ObjectName = Field(description="Name of the Gateway.")
    namespace: ObjectName | None = Field(None, description="Its namespace; this one when unset.")
    section_name: str | None = Field(
        None, pattern=DNS_LABEL_PATTERN, max_length=63, description="Listener name."
    )


class ShadowSpec(SpecModel):
    """Mirror a sample of the answered requests to another backend (router provider only)."""

    backend: str = Field(
        max_length=63,
        description=(
            "Backend that gets the mirrored copies (typically weight 0): its answers are never "
            "served, only compared with the served ones."
        ),
    )
    percent: float = Field(
        gt=0, le=100, description="Percent of answered requests mirrored (non-streaming only)."
    )


class ModelRouteSpec(SpecModel):
    """Match, backends, retries, fallback, cascade and who serves the route."""

    CEL_RULES = (
        Cel(
            "self.backends.all(b, self.backends.exists_one(c, c.name == b.name))",
            "backend names must be unique",
            lambda s: len({b.name for b in s.backends}) == len(s.backends),
        ),
        Cel(
            "!has(self.fallback) || self.fallback.all(f, self.backends.exists(b, b.name == f))",
            "fallback names a backend the route does not have",
            lambda s: {f for f in s.fallback} <= {b.name for b in s.backends},
        ),
        Cel(
            "!has(self.cascade) || self.cascade.tiers.all(t, self.backends.exists(b, b.name == t))",
            "cascade tiers name a backend the route does not have",
            lambda s: s.cascade is None or set(s.cascade.tiers) <= {b.name for b in s.backends},
        ),
        Cel(
            "!has(self.shadow) || self.backends.exists(b, b.name == self.shadow.backend)",
            "shadow names a backend the route does not have",
            lambda s: s.shadow is None or s.shadow.backend in {b.name for b in s.backends},
        ),
        Cel(
            "self.provider != 'gateway-api' || (has(self.parentRefs) && size(self.parentRefs) > 0)",
            "provider gateway-api needs parentRefs",
            lambda s: s.provider != "gateway-api" or len(s.parent_refs) > 0,
        ),
    )

    match: RouteMatch = Field(default_factory=RouteMatch, description="Which requests to take.")
    backends: list[RouteBackend] = Field(
        min_length=1, max_length=16, description="Where requests go."
    )
    timeout_seconds: float | None = Field(
        None, gt=0, le=3600, description="Limit of one upstream attempt, in seconds."
    )
    retries: int = Field(0, ge=0, le=5, description="Extra attempts on the same backend.")
    fallback: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Backend names tried in order after connection errors, 5xx and timeouts.",
    )
    cascade: CascadeSpec | None = Field(
        None, description="Escalate uncertain or invalid answers (router provider only)."
    )
    shadow: ShadowSpec | None = Field(
        None,
        description=(
            "Mirror a sample of answered requests to a backend and record its latency and "
            "agreement with the served answer (router metrics); the client never waits for it."
        ),
    )
    client_key_secret_ref: KeySelector | None = Field(
        None,
        description=(
            "Secret key holding the API keys (one per line) clients must send as "
            "Authorization: Bearer <key> to use this route; the Secret must be labelled "
            "slmfleet.io/usable-by=router. Router provider only."
        ),
    )
    provider: Provider = Field(
        "router",
        description="router: the slmfleet router; gateway-api: an HTTPRoute (no cascade).",
    )
    parent_refs: list[ParentReference] = Field(
        default_factory=list, max_length=8, description="Gateways for provider gateway-api."
    )


class ResolvedBackend(StatusModel):
    """A backend that can take traffic."""

    name: str = Field(description="Backend name.")
    model: str = Field(description="Model name sent upstream.")
    weight: int = Field(description="Weight in the split.")
    ready_endpoints: int = Field(0, description="Ready endpoints (url backends count 1).")


class UnavailableBackend(StatusModel):
    """A backend that cannot take traffic now, and why."""

    name: str = Field(description="Backend name.")
    reason: str = Field(description="CamelCase cause, such as SmallModelNotFound.")
    message: str = Field("", description="Details.")


class ModelRouteStatus(StatusModel):
    """What the operator resolved."""

    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra=CONDITIONS_LIST,
        description="Ready, Reconciling, Stalled and RouterFeatures.",
    )
    observed_generation: int | None = Field(None, description="metadata.generation described.")
    models: list[str] = Field(default_factory=list, description="Model names the route answers.")
    backends: list[ResolvedBackend] = Field(default_factory=list, description="Usable backends.")
    unavailable: list[UnavailableBackend] = Field(
        default_factory=list, description="Backends that cannot take traffic, and why."
    )
    cascade: CascadeEconomics | None = Field(
        None, description="Share, escalations and cost per tier, and the saving (cascade only)."
    )


class ModelRoute(ApiModel):
    """Routing rules for one OpenAI model name."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: Literal["ModelRoute"] = "ModelRoute"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ModelRouteSpec
    status: ModelRouteStatus = Field(default_factory=ModelRouteStatus)


MODELROUTE_KIND = KindInfo(
    kind="ModelRoute",
    plural="modelroutes",
    scope="Namespaced",
    spec_model=ModelRouteSpec,
    status_model=ModelRouteStatus,
    description=(
        "ModelRoute routes an OpenAI model name (and headers) to weighted SmallModels or "
        "external endpoints, with retries, a fallback chain and an optional cascade."
    ),
    short_names=("mr",),
    printer_columns=(
        PrinterColumn("MODEL", "string", ".spec.match.model"),
        PrinterColumn("PROVIDER", "string", ".spec.provider"),
        PrinterColumn("READY", "string", '.status.conditions[?(@.type=="Ready")].status'),
        AGE_COLUMN,
    ),
)


def modelroute_rule_errors(route: ModelRoute) -> list[str]:
    """What the API server cannot check: the cascade regex must be valid RE2 (see regex.py)."""
    cascade = route.spec.cascade
    if cascade is None or cascade.regex is None:
        return []
    try:
        compile_regex(cascade.regex)
    except ValueError as exc:
        return [f"spec.cascade.regex: Invalid value: {go_value(cascade.regex[:64])}: {exc}"]
    return []


def parse_modelroute(body: Mapping[str, Any]) -> ModelRoute:
    """A ModelRoute from its body; :class:`SpecError` lists every problem."""
    try:
        route = ModelRoute.model_validate(plain(body))
    except ValidationError as exc:
        raise spec_error(exc) from None
    errors = modelroute_rule_errors(route)
    if errors:
        raise SpecError(errors)
    return route
