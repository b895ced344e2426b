"""Gather one analysis of a canary (I/O): probe its pods, query Prometheus, run the EvalSuite."""

from __future__ import annotations

import logging
import os
from datetime import datetime

from slmfleet.analysis.checks import analyze
from slmfleet.analysis.evalrunner import run_suite
from slmfleet.analysis.probe import probe
from slmfleet.analysis.prometheus import MetricProvider, PrometheusProvider
from slmfleet.analysis.verdict import eval_verdict
from slmfleet.analysis.webhooks import due_hooks, run_hooks
from slmfleet.api.errors import SpecError
from slmfleet.api.evalsuite import parse_evalsuite
from slmfleet.api.rollout import MetricChecks, RolloutSpec
from slmfleet.api.rollout_status import CheckResult, EvalResult
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.engine import PORT
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.cache.view import FleetCache
from slmfleet.config import settings
from slmfleet.reconcile.endpoints import pod_ready
from slmfleet.redact import redact

log = logging.getLogger(__name__)


class NoPrometheus:
    """No Prometheus configured: every metric is missing, so metric checks are inconclusive."""

    def query(self, promql: str, now: datetime) -> float | None:
        return None


def scrape_seconds() -> int:
    return int(os.environ.get("SLMFLEET_PROMETHEUS_SCRAPE_SECONDS", "15"))


def revision_endpoints(cache: FleetCache, model: SmallModel, revision: str) -> list[str]:
    """``ip:port`` of the revision's ready pods (the operator calls pod IPs directly)."""
    pods = [
        p
        for p in cache.pods(model.metadata.namespace or "", model.metadata.name)
        if ((p.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL) == revision
    ]
    return sorted(
        f"{p['status']['podIP']}:{PORT}" for p in pods if pod_ready(p) and p["status"].get("podIP")
    )


def _has_metrics(m: MetricChecks) -> bool:
    return any(
        v is not None
        for v in (m.p95_ttft_seconds, m.p95_e2e_seconds, m.error_rate, m.max_regression_vs_stable)
    ) or bool(m.custom)


def run_eval(
    cache: FleetCache, model: SmallModel, suite_name: str, canary: list[str], stable: list[str]
) -> EvalResult:
    body = cache.evalsuite(model.metadata.namespace or "", suite_name)
    if body is None:
        return EvalResult(suite=suite_name, verdict="inconclusive")
    try:
        suite = parse_evalsuite(body).spec
    except SpecError as err:
        log.warning("EvalSuite %s is invalid: %s", suite_name, err)
        return EvalResult(suite=suite_name, verdict="inconclusive")
    served = model.served_model_name
    run = run_suite(suite, canary, served)
    stable_score = None
    if suite.max_drop_vs_stable is not None and stable:
        stable_score = run_suite(suite, stable, served).score
    verdict = eval_verdict(run.score, stable_score, suite.pass_threshold, suite.max_drop_vs_stable)
    return EvalResult(
        suite=suite_name,
        score=run.score,
        stable_score=stable_score,
        failed_cases=list(run.failed_cases),
        verdict=verdict,
    )


def gather(
    cache: FleetCache, model: SmallModel, canary: str, stable: str | None, step: int, now: datetime
) -> tuple[tuple[CheckResult, ...], EvalResult | None]:
    """The checks and eval result of one analysis of ``canary`` at step index ``step``.

    Whatever goes wrong while gathering (a broken EvalSuite, an API error, a bug) makes this one
    analysis inconclusive: counted against inconclusiveLimit like missing data, never a retry loop
    of the rollout tick with the canary keeping its traffic.
    """
    try:
        return _gather(cache, model, canary, stable, step, now)
    except Exception as err:
        why = redact(f"{type(err).__name__}: {err}")[:200]
        log.warning("analysis of %s/%s failed: %s", model.metadata.namespace, canary, why)
        return (CheckResult(name="analysis", threshold=why, verdict="inconclusive"),), None


def _gather(
    cache: FleetCache, model: SmallModel, canary: str, stable: str | None, step: int, now: datetime
) -> tuple[tuple[CheckResult, ...], EvalResult | None]:
    rollout: RolloutSpec = model.spec.rollout
    canary_eps = revision_endpoints(cache, model, canary)
    checks: tuple[CheckResult, ...] = ()
    if _has_metrics(rollout.metrics):
        probed = probe(canary_eps, model.served_model_name) if canary_eps else None
        url = settings().prometheus_url
        provider: MetricProvider = PrometheusProvider(url) if url else NoPrometheus()
        checks = analyze(
            rollout.metrics,
            provider,
            model.metadata.namespace or "default",
            canary,
            stable,
            now,
            rollout.analysis_interval_seconds,
            probed.error_rate if probed else None,
            scrape_seconds(),
        )
    hooks = due_hooks(rollout.webhooks, step, len(rollout.steps))
    if hooks:
        payload = {
            "name": model.metadata.name,
            "namespace": model.metadata.namespace,
            "canaryRevision": canary,
            "stableRevision": stable,
            "step": step,
        }
        checks += run_hooks(hooks, payload)
    evaluation = None
    if rollout.eval_suite_ref is not None:
        stable_eps = revision_endpoints(cache, model, stable) if stable else []
        evaluation = run_eval(cache, model, rollout.eval_suite_ref, canary_eps, stable_eps)
    return checks, evaluation
