"""ModelRoute status.cascade: who answered, why requests climbed, and what the cascade saved."""

from __future__ import annotations

from pydantic import Field

from slmfleet.api.base import StatusModel


class TierEconomics(StatusModel):
    """One tier's share of the route's answers and what they cost."""

    name: str = Field(description="Backend name of the tier.")
    requests: int = Field(0, description="Requests this tier answered.")
    share: float | None = Field(None, description="Fraction of the route's answers.")
    tokens: int = Field(0, description="Tokens of those answers (prompt and completion).")
    cost_per_1m_tokens: float | None = Field(
        None,
        alias="costPer1MTokens",
        description="The SmallModel's cost per 1M tokens, or the backend's pricePer1MTokens.",
    )
    cost: float | None = Field(None, description="tokens x costPer1MTokens.")


class EscalationCount(StatusModel):
    """Escalations to a higher tier for one reason."""

    reason: str = Field(description="Why the answer was passed over (logprob, schema, ...).")
    count: int = Field(0, description="Escalations in the window.")


class CascadeEconomics(StatusModel):
    """The cascade over the last window, from the router's counters."""

    window_seconds: int | None = Field(None, description="Length of the window, seconds.")
    reason: str | None = Field(None, description="Priced, NoPrice or NoTraffic.")
    message: str | None = Field(None, description="The reason, or the saving, in words.")
    requests: int = Field(0, description="Requests the route answered.")
    tiers: list[TierEconomics] = Field(
        default_factory=list, description="Per tier, smallest first."
    )
    escalations: list[EscalationCount] = Field(
        default_factory=list, description="Escalations by reason."
    )
    cost: float | None = Field(None, description="What the tiers' answers cost.")
    cost_all_on_last_tier: float | None = Field(
        None, description="What the same tokens would cost on the last tier."
    )
    saving: float | None = Field(None, description="costAllOnLastTier minus cost.")
