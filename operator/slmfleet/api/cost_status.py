"""SmallModel status.cost: GPU-hours, tokens and what they cost, over a window and since creation."""

from __future__ import annotations

from pydantic import Field

from slmfleet.api.base import StatusModel


class CostPeriod(StatusModel):
    """Usage over one period and the figures derived from it."""

    seconds: float = Field(0, ge=0, description="Seconds the period spans.")
    gpu_hours: float = Field(0, ge=0, description="GPU-hours: replicas x GPUs per replica x time.")
    cost: float = Field(0, ge=0, description="Cost of those GPU-hours at the GPUClass's price.")
    prompt_tokens: int = Field(0, ge=0, description="Prompt tokens the engines processed.")
    generation_tokens: int = Field(0, ge=0, description="Tokens the engines generated.")
    requests: int = Field(0, ge=0, description="Requests the engines finished.")
    tokens_per_second: float | None = Field(
        None, description="Prompt and generated tokens per second over the period."
    )
    cost_per_1m_tokens: float | None = Field(
        None,
        alias="costPer1MTokens",
        description="Cost per million tokens; unset without traffic or without a price.",
    )
    cost_per_1k_requests: float | None = Field(
        None, description="Cost per thousand requests; unset without traffic or without a price."
    )


class LedgerUsage(StatusModel):
    """Amounts the ledger adds up."""

    gpu_hours: float = Field(0, description="GPU-hours.")
    unpriced_gpu_hours: float = Field(0, description="GPU-hours without a price.")
    cost: float = Field(0, description="Cost.")
    prompt_tokens: float = Field(0, description="Prompt tokens.")
    generation_tokens: float = Field(0, description="Generated tokens.")
    requests: float = Field(0, description="Requests.")


class LedgerBucket(LedgerUsage):
    """Usage in one bucket of the window."""

    start: float = Field(description="Start of the bucket, Unix seconds.")


class PodCounters(StatusModel):
    """The last counter reading of one engine pod."""

    pod: str = Field(description="Pod name.")
    prompt: float = Field(0, description="vllm:prompt_tokens_total.")
    generation: float = Field(0, description="vllm:generation_tokens_total.")
    requests: float = Field(0, description="vllm:request_success_total.")


class CostLedger(StatusModel):
    """What the figures are integrated from, so a restarted operator resumes (bounded: one bucket
    per windowSeconds/12 and one reading per engine pod)."""

    started: float = Field(description="When the ledger began, Unix seconds.")
    observed: float = Field(description="The last observation, Unix seconds.")
    gpus: int = Field(0, ge=0, description="GPUs running at the last observation.")
    price_per_gpu_hour: float | None = Field(
        None, alias="pricePerGPUHour", description="Price at the last observation."
    )
    bucket_seconds: float = Field(300, gt=0, description="Length of one bucket.")
    total: LedgerUsage = Field(default_factory=LedgerUsage, description="Since creation.")
    buckets: list[LedgerBucket] = Field(default_factory=list, description="The last window.")
    counters: list[PodCounters] = Field(
        default_factory=list, description="Last counter reading per engine pod."
    )


class CostStatus(StatusModel):
    """What the model cost and served, written by the fleet timer at most once a minute."""

    reason: str | None = Field(
        None, description="Priced, NoPrice, NoTraffic or NoMetrics: whether $/1M tokens is known."
    )
    message: str | None = Field(None, description="The reason in words.")
    window_seconds: int | None = Field(None, description="Length of the window, seconds.")
    price_per_gpu_hour: float | None = Field(
        None, alias="pricePerGPUHour", description="The GPUClass's price now."
    )
    gpus: int | None = Field(None, description="GPUs running now (replicas x GPUs per replica).")
    window: CostPeriod | None = Field(None, description="The last windowSeconds.")
    since_creation: CostPeriod | None = Field(None, description="Since the model was created.")
    capacity_tokens_per_second: float | None = Field(
        None,
        description="Decode tokens/s the window's replicas could serve (memory-bandwidth bound).",
    )
    utilization: float | None = Field(
        None, description="tokensPerSecond of the window against capacityTokensPerSecond."
    )
    ledger: CostLedger | None = Field(None, description="The accumulator behind the figures.")
