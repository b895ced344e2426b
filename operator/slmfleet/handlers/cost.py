"""The cost pass of the fleet timer: every SmallModel's ledger moved to now, and each cascade's
economics, from one batch of Prometheus queries (economics/queries.py).

Ledgers are kept in memory between passes and written to status.cost when report.worth_writing
says so (at most every ``SLMFLEET_COST_STATUS_SECONDS`` when only the figures moved; a new
model's first once its first replica runs); a restarted operator resumes from status. Without Prometheus, GPU-hours and cost still accrue; tokens do not.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from slmfleet.api.cascade_status import CascadeEconomics
from slmfleet.api.cost_status import CostStatus
from slmfleet.autoscale.batch import QueryVector
from slmfleet.config import settings
from slmfleet.economics.capacity import replica_capacity
from slmfleet.economics.cascade import RouteCounts, Tier, cascade_status
from slmfleet.economics.ledger import Ledger, advance, rebucketed, start
from slmfleet.economics.ledger_status import ledger_from_status
from slmfleet.economics.queries import PodCounters, fetch_pod_counters, fetch_route_counts
from slmfleet.economics.report import cost_status, worth_writing
from slmfleet.handlers.runtime import Runtime

log = logging.getLogger(__name__)

_ledgers: dict[str, Ledger] = {}  # by SmallModel UID: newer than status, written on cadence
_routes_written: dict[str, float] = {}  # by ModelRoute UID: when status.cascade was last written


def _gpu_class(rt: Runtime, body: Mapping[str, Any]) -> Mapping[str, Any]:
    name = (body.get("spec") or {}).get("gpuClassName")
    found = rt.cache.gpuclass(str(name)) if name else None
    return (found or {}).get("spec") or {}


def account_model(
    rt: Runtime, body: Mapping[str, Any], counters: PodCounters | None, now: float
) -> dict[str, Any] | None:
    """Move one model's ledger to ``now``; returns status.cost when it was written."""
    meta, status = body["metadata"], body.get("status") or {}
    ns, name, uid = meta.get("namespace") or "", meta["name"], meta.get("uid") or ""
    gpu_class = _gpu_class(rt, body)
    per_replica = int(gpu_class.get("gpusPerReplica") or 1)
    price = gpu_class.get("pricePerGPUHour")
    price = None if price is None else float(price)
    gpus = int(status.get("replicas") or 0) * per_replica
    cfg = settings()
    ledger = _ledgers.get(uid) or ledger_from_status(status)
    bucket_seconds = cfg.cost_window_seconds / 12
    if ledger is None:
        ledger = start(now, gpus, price, bucket_seconds)
    else:
        ledger = rebucketed(ledger, bucket_seconds)
        pods = {p["metadata"]["name"] for p in rt.cache.pods(ns, name)}
        readings = None if counters is None else counters.get((ns, name), {})
        ledger = advance(ledger, now, gpus, price, readings, pods, cfg.cost_window_seconds)
    _ledgers[uid] = ledger
    capacity = replica_capacity(
        gpu_class.get("product"), str(gpu_class.get("resourceName") or ""), status.get("plan")
    )
    after = cost_status(
        ledger, cfg.cost_window_seconds, per_replica, capacity, counters is not None
    )
    if not worth_writing(status.get("cost"), after, cfg.cost_status_seconds):
        return None
    CostStatus.model_validate(after)  # fail here, not at the API server, if the shape drifts
    rt.kube.merge_patch("SmallModel", name, {"status": {"cost": after}}, ns, "status")
    return after


def _tiers(
    route: Mapping[str, Any], models: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[Tier]:
    """The cascade's tiers with the model name the router counts them under and their $/1M."""
    meta, spec = route["metadata"], route.get("spec") or {}
    ns = meta.get("namespace") or ""
    backends = {b["name"]: b for b in spec.get("backends") or []}
    resolved = {
        b["name"]: b.get("model") for b in (route.get("status") or {}).get("backends") or []
    }
    tiers = []
    for name in (spec.get("cascade") or {}).get("tiers") or []:
        backend = backends.get(name) or {}
        ref = (backend.get("smallModelRef") or {}).get("name")
        price: float | None
        if ref:
            model = models.get((ns, ref)) or {}
            cost = ((model.get("status") or {}).get("cost") or {}).get("window") or {}
            price = cost.get("costPer1MTokens")
            served = (model.get("spec") or {}).get("servedModelName") or ref
        else:
            price = backend.get("pricePer1MTokens")
            served = backend.get("model") or ""
        tiers.append(Tier(name, str(backend.get("model") or resolved.get(name) or served), price))
    return tiers


def account_routes(
    rt: Runtime,
    namespaces: Sequence[str],
    counts: Mapping[tuple[str, str], RouteCounts],
    models: Mapping[tuple[str, str], Mapping[str, Any]],
) -> None:
    """Write status.cascade of each cascade route when it changed, at most once a cadence."""
    cfg = settings()
    empty = RouteCounts({}, {}, {})
    seen = set()
    for ns in namespaces:
        for route in rt.cache.modelroutes(ns):
            meta, spec = route["metadata"], route.get("spec") or {}
            if not spec.get("cascade") or meta.get("deletionTimestamp"):
                continue
            uid = meta.get("uid") or ""
            seen.add(uid)
            if time.monotonic() - _routes_written.get(uid, -math.inf) < cfg.cost_status_seconds:
                continue
            after = cascade_status(
                _tiers(route, models),
                counts.get((ns, meta["name"]), empty),
                cfg.cost_window_seconds,
            )
            if _plain((route.get("status") or {}).get("cascade") or {}) == _plain(after):
                continue
            CascadeEconomics.model_validate(after)  # fail here, not at the API server
            patch = {"status": {"cascade": after}}
            rt.kube.merge_patch("ModelRoute", meta["name"], patch, ns, "status")
            _routes_written[uid] = time.monotonic()
    for uid in set(_routes_written) - seen:
        del _routes_written[uid]


def _plain(value: Any) -> Any:
    """``value`` without None entries (what the API server keeps of a merge patch)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def account_fleet(
    rt: Runtime, bodies: Sequence[Mapping[str, Any]], query: QueryVector | None
) -> None:
    """The cost pass over every live SmallModel and cascade route (one model's failure never
    stops the others')."""
    now, cfg = time.time(), settings()
    counters: PodCounters | None = None
    counts: dict[tuple[str, str], RouteCounts] = {}
    if query is not None:
        try:
            counters = fetch_pod_counters(query)
            counts = fetch_route_counts(query, cfg.cost_window_seconds)
        except Exception as err:  # Prometheus down: GPU time still accrues, tokens wait
            log.warning("cost counters unavailable: %s", err)
            counters = None
    live = {b["metadata"].get("uid") or "" for b in bodies}
    for uid in set(_ledgers) - live:
        del _ledgers[uid]
    for body in bodies:
        try:
            account_model(rt, body, counters, now)
        except Exception as err:
            meta = body["metadata"]
            log.warning("cost of %s/%s failed: %s", meta.get("namespace"), meta["name"], err)
    models = {(b["metadata"].get("namespace") or "", b["metadata"]["name"]): b for b in bodies}
    try:
        account_routes(rt, sorted({ns for ns, _ in models}), counts, models)
    except Exception as err:
        log.warning("cascade economics failed: %s", err)
