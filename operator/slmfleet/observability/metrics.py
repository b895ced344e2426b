"""The operator's metrics: ONE registry, the metrics on it, and small recording calls.

Handlers record with one-line calls (``api_call``, ``timed``, ``autoscaler_decision``; a plan
with ``plan_record.record_plan``); the fleet's gauges are read from the cache at scrape time
(fleet.py). Labels stay bounded: kinds, verbs, HTTP codes, phases, reasons, check names, and per
model only in the fleet gauges. ``serve`` exposes the registry on the operator's metrics port.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    start_http_server,
)

from slmfleet.api.rollout_status import RolloutPhase

REGISTRY = CollectorRegistry()
ProcessCollector(namespace="slmfleet_operator", registry=REGISTRY)  # CPU, memory, open files

_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

RECONCILE_SECONDS = Histogram(
    "slmfleet_reconcile_duration_seconds",
    "Time one scheduler key took to handle, by kind (model, routes, gpuclass, autoscale).",
    ["kind"],
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
RECONCILES = Counter(
    "slmfleet_reconciles",
    "Scheduler keys handled, by kind and result (ok, error: retried with backoff).",
    ["kind", "result"],
    registry=REGISTRY,
)
PLAN_SECONDS = Histogram(
    "slmfleet_plan_duration_seconds",
    "Time the pure plan of one SmallModel took (reconcile/model_plan.py).",
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
API_CALLS = Counter(
    "slmfleet_api_calls",
    "Kubernetes API calls the operator made, by verb (get, list, apply, patch, create, "
    "delete), resource (the plural, with /status for the status subresource) and result (the "
    "HTTP status code, or error when no answer came).",
    ["verb", "resource", "result"],
    registry=REGISTRY,
)
ROLLOUT_TRANSITIONS = Counter(
    "slmfleet_rollout_transitions",
    "Rollouts that entered a phase (Progressing, Analyzing, Paused, Promoting, Succeeded, "
    "RollingBack, RolledBack, Failed).",
    ["phase"],
    registry=REGISTRY,
)
ANALYSIS_CHECKS = Counter(
    "slmfleet_analysis_checks",
    "Canary analysis checks counted by a plan, by check name and verdict (pass, fail, "
    "inconclusive); the eval suite counts as check eval.",
    ["check", "verdict"],
    registry=REGISTRY,
)
ROLLBACKS = Counter(
    "slmfleet_rollbacks",
    "Rollbacks decided, by reason (RolledBack: a check failed, RolloutAborted, "
    "ProgressDeadlineExceeded).",
    ["reason"],
    registry=REGISTRY,
)
PLAN_VERDICTS = Counter(
    "slmfleet_plan_verdicts",
    "SmallModel plans by the verdict's reason (the Ready condition's reason: Available, "
    "DoesNotFit, StepHeld, ...).",
    ["reason"],
    registry=REGISTRY,
)
AUTOSCALER_DECISIONS = Counter(
    "slmfleet_autoscaler_decisions",
    "Autoscaler decisions (mode operator) by reason (ScaleUp, ScaleDown, Steady).",
    ["reason"],
    registry=REGISTRY,
)

ROLLBACK_REASONS = ("RolledBack", "RolloutAborted", "ProgressDeadlineExceeded")
AUTOSCALER_REASONS = ("ScaleUp", "ScaleDown", "Steady")
VERDICTS = ("pass", "fail", "inconclusive")


def _initialise() -> None:
    """Known label values start at 0, so a rate over them is 0 rather than no data."""
    for phase in RolloutPhase:
        ROLLOUT_TRANSITIONS.labels(phase=phase.value)
    for reason in ROLLBACK_REASONS:
        ROLLBACKS.labels(reason=reason)
    for reason in AUTOSCALER_REASONS:
        AUTOSCALER_DECISIONS.labels(reason=reason)


_initialise()


def api_verb(method: str, content_type: str) -> str:
    """The verb of one API call, as the API server's audit log would name it (a GET of a
    collection is a list: the caller says so)."""
    if method == "GET":
        return "get"
    if method == "PATCH":
        return "apply" if content_type == "application/apply-patch+yaml" else "patch"
    return {"POST": "create", "DELETE": "delete", "PUT": "update"}.get(method, method.lower())


def api_call(verb: str, status: int | None, resource: str = "") -> None:
    """Count one API call; ``status`` None when no answer came (connection error, timeout);
    ``resource`` as ``plural`` or ``plural/subresource`` (kinds the operator knows: bounded)."""
    result = "error" if status is None else str(status)
    API_CALLS.labels(verb=verb, resource=resource, result=result).inc()


def timed(kind: str, handler: Callable[[Any], float | None]) -> Callable[[Any], float | None]:
    """``handler`` timed and counted under ``kind`` (a scheduler handler)."""

    def run(key: Any) -> float | None:
        started = time.perf_counter()
        try:
            due = handler(key)
        except BaseException:
            RECONCILES.labels(kind=kind, result="error").inc()
            raise
        finally:
            RECONCILE_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
        RECONCILES.labels(kind=kind, result="ok").inc()
        return due

    return run


def autoscaler_decision(reason: str) -> None:
    AUTOSCALER_DECISIONS.labels(reason=reason).inc()


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``:port``, every interface) of the metrics endpoint."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"metrics address {address!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(address: str) -> None:
    """Serve ``/metrics`` of the one registry on ``address`` from a daemon thread, with the
    fleet's gauges (once per process: the operator's ``run``)."""
    from slmfleet.observability.fleet import FleetCollector  # reads the runtime's cache

    REGISTRY.register(FleetCollector())
    host, port = parse_address(address)
    start_http_server(port, addr=host, registry=REGISTRY)
