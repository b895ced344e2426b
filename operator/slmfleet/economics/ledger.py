"""A SmallModel's cost ledger: GPU time and token counters integrated over time (pure).

Each pass of the fleet timer ``advance``s the ledger to now: the GPUs that were running since the
previous observation (replicas x GPUs per replica, scale to zero included) are charged at the
price then in force, split over fixed-length buckets, and the engine pods' token and request
counters are differenced against the previous reading of each pod (a counter that went down is a
restarted engine: its whole value is new). The ledger keeps the totals since creation and the
buckets of the last window, so it stays small and an operator restart resumes from status.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Counters:
    """Cumulative counters of one engine pod, as Prometheus last read them."""

    prompt: float = 0.0
    generation: float = 0.0
    requests: float = 0.0

    def since(self, before: Counters | None) -> Counters:
        """What was counted after ``before``; a counter below its last reading restarted."""
        if before is None:
            return self
        return Counters(
            *(
                now - then if now >= then else now
                for now, then in (
                    (self.prompt, before.prompt),
                    (self.generation, before.generation),
                    (self.requests, before.requests),
                )
            )
        )


@dataclass(frozen=True)
class Usage:
    """What a model used over some period."""

    gpu_hours: float = 0.0
    unpriced_gpu_hours: float = 0.0
    cost: float = 0.0
    prompt_tokens: float = 0.0
    generation_tokens: float = 0.0
    requests: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.gpu_hours + other.gpu_hours,
            self.unpriced_gpu_hours + other.unpriced_gpu_hours,
            self.cost + other.cost,
            self.prompt_tokens + other.prompt_tokens,
            self.generation_tokens + other.generation_tokens,
            self.requests + other.requests,
        )

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.generation_tokens

    @classmethod
    def of_gpus(cls, gpus: int, price: float | None, seconds: float) -> Usage:
        hours = gpus * seconds / 3600.0
        if price is None:
            return cls(gpu_hours=hours, unpriced_gpu_hours=hours)
        return cls(gpu_hours=hours, cost=hours * price)

    @classmethod
    def of_counters(cls, counted: Counters) -> Usage:
        return cls(
            prompt_tokens=counted.prompt,
            generation_tokens=counted.generation,
            requests=counted.requests,
        )


def total(usages: Iterable[Usage]) -> Usage:
    out = Usage()
    for usage in usages:
        out = out + usage
    return out


@dataclass(frozen=True)
class Bucket:
    """Usage from ``start`` (epoch seconds) over the ledger's bucket length."""

    start: float
    usage: Usage


@dataclass(frozen=True)
class Ledger:
    """Everything the cost figures are derived from, and all that status keeps of them."""

    started: float
    """When the ledger began (the model's first observation), epoch seconds."""
    observed: float
    """The last observation, epoch seconds; GPU time is integrated from here."""
    gpus: int = 0
    """GPUs running at the last observation (replicas x GPUs per replica)."""
    price: float | None = None
    """Price per GPU-hour at the last observation; None: the GPUClass has none."""
    total: Usage = field(default_factory=Usage)
    bucket_seconds: float = 300.0
    buckets: tuple[Bucket, ...] = ()
    counters: Mapping[str, Counters] = field(default_factory=dict)
    """The last counter reading of each engine pod, by pod name."""


def start(now: float, gpus: int, price: float | None, bucket_seconds: float) -> Ledger:
    return Ledger(started=now, observed=now, gpus=gpus, price=price, bucket_seconds=bucket_seconds)


def rebucketed(ledger: Ledger, bucket_seconds: float) -> Ledger:
    """The ledger with buckets of a new length (the window was changed): the window's buckets
    start over, the totals since creation stay."""
    if ledger.bucket_seconds == bucket_seconds:
        return ledger
    return replace(ledger, bucket_seconds=bucket_seconds, buckets=())


def _bucket_start(t: float, length: float) -> float:
    return math.floor(t / length) * length


def _gpu_time(ledger: Ledger, now: float) -> dict[float, Usage]:
    """The GPUs of the last observation from then to now, split at bucket boundaries."""
    out: dict[float, Usage] = {}
    t, length = ledger.observed, ledger.bucket_seconds
    while t < now:
        begin = _bucket_start(t, length)
        end = min(now, begin + length)
        out[begin] = Usage.of_gpus(ledger.gpus, ledger.price, end - t)
        t = end
    return out


def advance(
    ledger: Ledger,
    now: float,
    gpus: int,
    price: float | None,
    counters: Mapping[str, Counters] | None,
    live_pods: Iterable[str] = (),
    window_seconds: float = 3600.0,
) -> Ledger:
    """The ledger at ``now``, with ``gpus`` running at ``price`` from now on.

    ``counters``: each engine pod's counters now, or None when they could not be read (the
    previous readings are kept and no tokens are counted). A pod missing from ``counters`` keeps
    its last reading while it is among ``live_pods`` (a scrape it missed), else it is forgotten.
    """
    if now < ledger.observed:
        return replace(ledger, gpus=gpus, price=price)  # a clock step back: nothing to charge
    added = _gpu_time(ledger, now)
    kept = dict(ledger.counters)
    if counters is not None:
        counted = total(Usage.of_counters(c.since(kept.get(pod))) for pod, c in counters.items())
        here = _bucket_start(now, ledger.bucket_seconds)
        added[here] = added.get(here, Usage()) + counted
        live = set(live_pods)
        kept = {pod: c for pod, c in kept.items() if pod in live}
        kept.update(counters)
    buckets = {b.start: b.usage for b in ledger.buckets}
    for begin, usage in added.items():
        buckets[begin] = buckets.get(begin, Usage()) + usage
    oldest = now - window_seconds - ledger.bucket_seconds
    return replace(
        ledger,
        observed=now,
        gpus=gpus,
        price=price,
        total=ledger.total + total(added.values()),
        buckets=tuple(Bucket(s, u) for s, u in sorted(buckets.items()) if s > oldest),
        counters=kept,
    )


def window(ledger: Ledger, now: float, seconds: float) -> tuple[Usage, float]:
    """Usage of the buckets that overlap the last ``seconds``, and the seconds they span (from
    the oldest such bucket, or the ledger's start when later, to the last observation)."""
    inside = [b for b in ledger.buckets if b.start + ledger.bucket_seconds > now - seconds]
    if not inside:
        return Usage(), max(0.0, min(seconds, ledger.observed - ledger.started))
    since = max(inside[0].start, ledger.started)
    return total(b.usage for b in inside), max(0.0, ledger.observed - since)
