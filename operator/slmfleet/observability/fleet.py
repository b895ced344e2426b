"""The fleet as gauges, read from the operator's cache at scrape time (nothing kept per model).

Per SmallModel: replicas, ready replicas, GPUs and price per hour of one replica (from its
GPUClass; absent without a price), the canary's weight, Ready. Over the fleet: SmallModels by
phase, rollouts by phase, and the scheduler's queue. A dashboard computes the fleet's cost per
hour as replicas x price per replica, and $/1M tokens against vLLM's token counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slmfleet.api.rollout_status import RolloutPhase
from slmfleet.api.smallmodel_status import PHASES

MODEL_LABELS = ["namespace", "model", "gpu_class"]


class FleetView(Protocol):
    """What is read of the cache (cache/view.py FleetCache)."""

    def smallmodels(self, namespace: str | None = None) -> list[Any]: ...
    def gpuclass(self, name: str) -> Any: ...


class QueueView(Protocol):
    """What is read of the scheduler (workqueue.py Scheduler)."""

    @property
    def depth(self) -> int: ...
    @property
    def handled(self) -> int: ...


def _runtime_sources() -> tuple[FleetView, QueueView] | None:
    from slmfleet.handlers import runtime

    current = runtime._current
    return None if current is None else (current.cache, current.scheduler)


def _ready(status: Mapping[str, Any]) -> float:
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            return 1.0 if cond.get("status") == "True" else 0.0
    return 0.0


class FleetCollector(Collector):
    """Collects the fleet gauges from ``sources()`` (the runtime's cache and scheduler)."""

    def __init__(
        self, sources: Callable[[], tuple[FleetView, QueueView] | None] = _runtime_sources
    ) -> None:
        self.sources = sources

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only (the runtime may not exist at registration)

    def collect(self) -> Iterator[Metric]:
        found = self.sources()
        if found is None:
            return
        cache, queue = found
        yield from self._queue(queue)
        yield from self._models(cache)

    def _queue(self, queue: QueueView) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "slmfleet_workqueue_depth", "Scheduler keys waiting for their due time or running."
        )
        depth.add_metric([], float(queue.depth))
        handled = CounterMetricFamily(
            "slmfleet_workqueue_handled", "Scheduler keys handled without an error."
        )
        handled.add_metric([], float(queue.handled))
        yield from (depth, handled)

    def _models(self, cache: FleetView) -> Iterator[Metric]:
        g = {
            name: GaugeMetricFamily(f"slmfleet_model_{name}", text, labels=labels)
            for name, text, labels in (
                ("replicas", "Engine replicas that exist (status.replicas).", MODEL_LABELS),
                ("ready_replicas", "Engine replicas serving.", MODEL_LABELS),
                ("gpus_per_replica", "GPUs one replica requests (its GPUClass).", MODEL_LABELS),
                ("replica_price_per_hour",
                 "Price of one replica per hour: its GPUs x the GPUClass's pricePerGPUHour.",
                 MODEL_LABELS),
                ("canary_weight", "Percent of traffic on the canary (0 without a rollout).",
                 ["namespace", "model"]),
                ("ready", "1 when the Ready condition is True.", ["namespace", "model"]),
            )
        }  # fmt: skip
        phases: Counter[str] = Counter({p: 0 for p in PHASES})
        rollouts: Counter[str] = Counter({p.value: 0 for p in RolloutPhase})
        for body in cache.smallmodels():
            meta, spec = body.get("metadata") or {}, body.get("spec") or {}
            status = body.get("status") or {}
            gpu_class = str(spec.get("gpuClassName") or "")
            key = [str(meta.get("namespace") or ""), str(meta.get("name") or "")]
            labels = [*key, gpu_class]
            g["replicas"].add_metric(labels, float(status.get("replicas") or 0))
            g["ready_replicas"].add_metric(labels, float(status.get("readyReplicas") or 0))
            g["ready"].add_metric(key, _ready(status))
            rollout = status.get("rollout") or {}
            canary = rollout.get("canaryRevision") is not None
            g["canary_weight"].add_metric(key, float(rollout.get("weight") or 0) if canary else 0)
            if status.get("phase"):
                phases[str(status["phase"])] += 1
            if rollout.get("phase"):
                rollouts[str(rollout["phase"])] += 1
            gpus, price = _price(cache.gpuclass(gpu_class))
            if gpus is not None:
                g["gpus_per_replica"].add_metric(labels, float(gpus))
                if price is not None:
                    g["replica_price_per_hour"].add_metric(labels, gpus * price)
        yield from g.values()
        yield _counted("slmfleet_smallmodels", "SmallModels by status.phase.", phases)
        yield _counted("slmfleet_rollouts", "SmallModels by status.rollout.phase.", rollouts)


def _price(gpuclass: Mapping[str, Any] | None) -> tuple[int | None, float | None]:
    spec = (gpuclass or {}).get("spec") or {}
    if not spec:
        return None, None
    price = spec.get("pricePerGPUHour")
    return int(spec.get("gpusPerReplica") or 1), None if price is None else float(price)


def _counted(name: str, text: str, counts: Counter[str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=["phase"])
    for phase, count in sorted(counts.items()):
        family.add_metric([phase], float(count))
    return family
