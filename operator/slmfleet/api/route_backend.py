"""RouteBackend: one destination of a ModelRoute, a SmallModel or an OpenAI-compatible URL.

The CEL rules keep the two kinds apart: a url backend names its model, uses https:// unless it
opts into insecure, and may carry an API key Secret and a price; a SmallModel backend does not.
"""

from __future__ import annotations

from pydantic import Field

from slmfleet.api.base import SpecModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import DNS_LABEL_PATTERN, KeySelector, LocalObjectReference


class RouteBackend(SpecModel):
    """One destination: a SmallModel in the namespace, or an OpenAI-compatible URL."""

    CEL_RULES = (
        Cel(
            "has(self.smallModelRef) != has(self.url)",
            "a backend sets exactly one of smallModelRef or url",
            lambda s: (s.small_model_ref is None) != (s.url is None),
        ),
        Cel(
            "!has(self.apiKeySecretRef) || has(self.url)",
            "apiKeySecretRef applies only to url backends",
            lambda s: s.api_key_secret_ref is None or s.url is not None,
        ),
        Cel(
            "!has(self.url) || has(self.model)",
            "a url backend needs model, the name the endpoint serves",
            lambda s: s.url is None or s.model is not None,
        ),
        Cel(
            "!has(self.url) || self.url.startsWith('https://') || "
            "(has(self.insecure) && self.insecure)",
            "url must use https:// unless the backend sets insecure: true",
            lambda s: s.url is None or s.url.startswith("https://") or s.insecure,
        ),
        Cel(
            "!has(self.insecure) || !self.insecure || has(self.url)",
            "insecure applies only to url backends",
            lambda s: not s.insecure or s.url is not None,
        ),
        Cel(
            "!has(self.pricePer1MTokens) || has(self.url)",
            "pricePer1MTokens applies only to url backends (a SmallModel's cost is measured)",
            lambda s: s.price_per_1m_tokens is None or s.url is not None,
        ),
    )

    name: str = Field(
        pattern=DNS_LABEL_PATTERN, max_length=63, description="Name used by fallback and tiers."
    )
    small_model_ref: LocalObjectReference | None = Field(
        None, description="A SmallModel in this namespace; its ready endpoints are used."
    )
    url: str | None = Field(
        None,
        pattern=r"^https?://.+/v1$",
        max_length=2048,
        description="Base URL of an OpenAI-compatible API, ending in /v1.",
    )
    api_key_secret_ref: KeySelector | None = Field(
        None,
        description=(
            "Secret key holding the bearer token for url. The Secret must carry the label "
            "slmfleet.io/usable-by=router, or the route does not start."
        ),
    )
    insecure: bool = Field(
        False,
        description=(
            "Allow an http:// url: prompts, answers and the API key travel unencrypted. "
            "Off by default: url backends must use https://."
        ),
    )
    model: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        description=(
            "Model name sent to the backend; defaults to the SmallModel's served name. "
            "Required for url backends."
        ),
    )
    weight: int = Field(100, ge=0, le=100, description="Share of traffic, relative to the others.")
    timeout_seconds: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="Limit of one attempt on this backend; overrides the route's.",
    )
    price_per_1m_tokens: float | None = Field(
        None,
        alias="pricePer1MTokens",
        ge=0,
        description=(
            "What the url backend charges per million tokens (prompt and completion), in the "
            "currency of the GPUClass prices; for the cascade's cost in status."
        ),
    )
