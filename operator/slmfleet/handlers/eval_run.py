"""The EvalSuite part of an analysis: the suite on the canary, and on stable and the reference
when it compares with them (the same cases, every side at once), by the analysis deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from slmfleet.analysis.eval_gate import eval_result, gap_result
from slmfleet.analysis.eval_progress import ProgressTracker
from slmfleet.analysis.evalrunner import NO_RUN, EvalRun, Post, Target, http_post, run_suite
from slmfleet.api.errors import SpecError
from slmfleet.api.evalsuite import EvalCase, EvalReference, parse_evalsuite
from slmfleet.api.parse import parse_smallmodel
from slmfleet.api.rollout_status import EvalResult
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.engine import PORT
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.cache.view import FleetCache
from slmfleet.handlers.clients import kube_client
from slmfleet.handlers.eval_datasets import DATASETS
from slmfleet.handlers.eval_sources import Get, reference_target, suite_cases
from slmfleet.reconcile.endpoints import pod_ready

log = logging.getLogger(__name__)


def revision_endpoints(cache: FleetCache, model: SmallModel, revision: str | None) -> list[str]:
    """``ip:port`` of the revision's ready pods (the operator calls pod IPs directly); with
    ``revision`` None, of all the model's ready pods."""
    pods = [
        p
        for p in cache.pods(model.metadata.namespace or "", model.metadata.name)
        if revision is None
        or ((p.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL) == revision
    ]
    return sorted(
        f"{p['status']['podIP']}:{PORT}" for p in pods if pod_ready(p) and p["status"].get("podIP")
    )


def _kube_get(kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    return kube_client().get(kind, name, namespace)


def run_eval(
    cache: FleetCache,
    model: SmallModel,
    suite_name: str,
    canary: list[str],
    stable: list[str],
    deadline: float | None = None,
    get: Get = _kube_get,
    post: Post = http_post,
    progress: ProgressTracker | None = None,
    from_claim: Callable[..., list[EvalCase] | str] = DATASETS.cases,
) -> EvalResult:
    """Run the suite on the canary, and on stable and the reference when the suite compares
    with them (the same cases, each side ``suite.concurrency`` requests at a time, all sides at
    once), by ``deadline`` (a ``time.monotonic()`` instant) or the suite's own, if sooner.
    ``progress`` counts each side's cases as they end."""
    namespace = model.metadata.namespace or ""
    body = cache.evalsuite(namespace, suite_name)
    if body is None:
        return EvalResult(suite=suite_name, verdict="inconclusive", message="no such EvalSuite")
    try:
        suite = parse_evalsuite(body).spec
    except SpecError as err:
        log.warning("EvalSuite %s is invalid: %s", suite_name, err)
        return EvalResult(suite=suite_name, verdict="inconclusive", message="invalid EvalSuite")
    own = time.monotonic() + suite.deadline_seconds
    until = own if deadline is None else min(deadline, own)
    fetch_timeout = max(0.001, min(float(suite.timeout_seconds), until - time.monotonic()))
    cases = suite_cases(suite, namespace, get, partial(from_claim, body, timeout=fetch_timeout))
    if isinstance(cases, str):
        return EvalResult(suite=suite_name, verdict="inconclusive", message=cases[:500])
    sides: dict[str, Target] = {"canary": Target.pods(canary, model.served_model_name)}
    if suite.max_drop_vs_stable is not None and stable:
        sides["stable"] = Target.pods(stable, model.served_model_name)
    ref = suite.reference
    if ref is not None:
        endpoints = partial(_model_endpoints, cache, namespace)
        target = reference_target(cache, namespace, ref, get, endpoints)
        if isinstance(target, str):
            return EvalResult(suite=suite_name, verdict="inconclusive", message=target[:500])
        sides["reference"] = target

    plain = [c for c in cases if c.checker != "judge"]  # the judge grades the canary only
    judge = sides.get("reference")

    runs_of = {side: cases if side == "canary" else plain for side in sides}
    counters = {s: progress.begin(s, len(c)) if progress else None for s, c in runs_of.items()}

    def run(side: str) -> EvalRun:
        timeout, target = float(suite.timeout_seconds), sides[side]
        grader = judge if side == "canary" else None
        return run_suite(
            runs_of[side], target, timeout, post, suite.concurrency, until, grader, counters[side]
        )

    with ThreadPoolExecutor(max_workers=len(sides)) as pool:
        runs = dict(zip(sides, pool.map(run, sides), strict=True))
    canary_run, confidence = runs["canary"], suite.confidence
    stable_gap = reference_gap = None
    if suite.max_drop_vs_stable is not None:
        other = runs.get("stable", NO_RUN)
        stable_gap = gap_result("stable", canary_run, other, suite.max_drop_vs_stable, confidence)
    if ref is not None:
        against = ref.small_model_ref.name if ref.small_model_ref else _route_name(ref)
        reference_gap = gap_result(against, canary_run, runs["reference"], ref.max_gap, confidence)
    return eval_result(
        suite_name, canary_run, suite.pass_threshold, stable_gap, reference_gap,
        suite.judge_pass_threshold,
    )  # fmt: skip


def _route_name(ref: EvalReference) -> str:
    route = ref.model_route_ref
    return f"{route.name}/{route.backend}" if route else "reference"


def _model_endpoints(cache: FleetCache, namespace: str, name: str, revision: str) -> list[str]:
    body = cache.smallmodel(namespace, name)
    if body is None:
        return []
    model = parse_smallmodel(body)
    found = revision_endpoints(cache, model, revision) if revision else []
    return found or revision_endpoints(cache, model, None)
