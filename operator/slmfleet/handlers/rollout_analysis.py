"""What one analysis of a canary consists of: its parts, and how their answers are judged.

The parts are independent blocking calls (each probe request, each Prometheus query, each
webhook, the EvalSuite on the canary and on stable); handlers/analysis_runner.py runs them at
once, off the scheduler's workers, under a deadline shorter than the analysis interval. A part
that has not answered by then is left out and the analysis is inconclusive, saying which.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from slmfleet.analysis.checks import analyze
from slmfleet.analysis.deadline import Deadline, deadline_seconds
from slmfleet.analysis.evalrunner import EvalRun, Post, http_post, run_suite
from slmfleet.analysis.probe import ProbeResult, answered, probe_requests
from slmfleet.analysis.prometheus import PrometheusProvider
from slmfleet.analysis.verdict import WEBHOOK_PREFIX, eval_verdict
from slmfleet.analysis.webhooks import due_hooks, http_status, run_hooks
from slmfleet.api.errors import SpecError
from slmfleet.api.evalsuite import EvalSuiteSpec, parse_evalsuite
from slmfleet.api.rollout import MetricChecks, Webhook
from slmfleet.api.rollout_status import CheckResult, EvalResult
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.engine import PORT
from slmfleet.builders.labels import REVISION_LABEL
from slmfleet.cache.view import FleetCache
from slmfleet.config import settings
from slmfleet.reconcile.endpoints import pod_ready
from slmfleet.reconcile.model_plan import Analysis
from slmfleet.redact import redact

log = logging.getLogger(__name__)

Part = Callable[[Deadline], object]
"""One blocking call of an analysis; it takes every timeout from the deadline."""
PROBE_TIMEOUT_SECONDS = 10.0
QUERY_TIMEOUT_SECONDS = 5.0
DEADLINE_CHECK = "analysisDeadline"


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


class _Answers:
    """A metric provider that answers from queries already made (None for any other)."""

    def __init__(self, values: Mapping[str, float | None] | None = None) -> None:
        self.values = dict(values or {})
        self.asked: list[str] = []

    def query(self, promql: str, now: datetime) -> float | None:
        self.asked.append(promql)
        return self.values.get(promql)


def _bounded(deadline: Deadline) -> Post:
    return lambda url, body, timeout: http_post(url, body, deadline.timeout(timeout))


def _probe(url: str, body: dict[str, Any], deadline: Deadline) -> bool:
    return answered(url, body, PROBE_TIMEOUT_SECONDS, _bounded(deadline))


def _query(url: str, promql: str, now: datetime, deadline: Deadline) -> float | None:
    return PrometheusProvider(url, deadline.timeout(QUERY_TIMEOUT_SECONDS)).query(promql, now)


def _hook(hook: Webhook, payload: dict[str, Any], deadline: Deadline) -> CheckResult:
    def call(url: str, body: bytes, timeout: float) -> int:
        return http_status(url, body, deadline.timeout(timeout))

    return run_hooks([hook], payload, call)[0]


def _eval(suite: EvalSuiteSpec, endpoints: list[str], served: str, deadline: Deadline) -> EvalRun:
    return run_suite(suite, endpoints, served, _bounded(deadline))


def _suite(cache: FleetCache, model: SmallModel, name: str) -> EvalSuiteSpec | None:
    body = cache.evalsuite(model.metadata.namespace or "", name)
    if body is None:
        return None
    try:
        return parse_evalsuite(body).spec
    except SpecError as err:
        log.warning("EvalSuite %s is invalid: %s", name, err)
        return None


def failure(model: SmallModel, canary: str, err: Exception) -> tuple[CheckResult, ...]:
    """Whatever goes wrong while gathering (a broken EvalSuite, an API error, a bug) makes this
    one analysis inconclusive: counted against inconclusiveLimit like missing data, never a
    retry loop of the rollout tick with the canary keeping its traffic."""
    why = redact(f"{type(err).__name__}: {err}")[:200]
    log.warning("analysis of %s/%s failed: %s", model.metadata.namespace, canary, why)
    return (CheckResult(name="analysis", threshold=why, verdict="inconclusive"),)


def deadline_check(missed: Mapping[str, str], seconds: float) -> CheckResult:
    """Why an analysis with parts left out is inconclusive: which parts, and why."""
    labels: dict[str, str] = {}
    for name, why in missed.items():
        labels.setdefault(name.split("#")[0], why)
    said = ", ".join(f"{label} ({why})" for label, why in sorted(labels.items()))
    return CheckResult(
        name=DEADLINE_CHECK,
        value=float(len(missed)),
        threshold=redact(f"every part within {seconds:g}s; missed: {said}")[:200],
        verdict="inconclusive",
    )


@dataclass
class Gathering:
    """The parts of one analysis started at ``at``, and how their answers are judged."""

    model: SmallModel
    canary: str
    stable: str | None
    at: datetime
    seconds: float
    """The deadline, from the start."""
    parts: dict[str, Part] = field(default_factory=dict)
    probes: list[str] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)
    """part name -> PromQL"""
    hooks: dict[str, Webhook] = field(default_factory=dict)
    suite: tuple[str, EvalSuiteSpec | None] | None = None
    broken: tuple[CheckResult, ...] = ()

    def finish(self, answers: Mapping[str, object], missed: Mapping[str, str]) -> Analysis:
        """The analysis from the answers of the parts that made the deadline."""
        if self.broken:
            return Analysis(self.broken, None, at=self.at)
        try:
            checks = self._metrics(answers) + self._hooks(answers)
            evaluation = self._evaluation(answers)
        except Exception as err:
            return Analysis(failure(self.model, self.canary, err), None, at=self.at)
        if missed:
            checks += (deadline_check(missed, self.seconds),)
        return Analysis(checks, evaluation, at=self.at)

    def checks_from(self, provider: _Answers, probe_rate: float | None) -> tuple[CheckResult, ...]:
        rollout = self.model.spec.rollout
        return analyze(
            rollout.metrics,
            provider,
            self.model.metadata.namespace or "default",
            self.canary,
            self.stable,
            self.at,
            rollout.analysis_interval_seconds,
            probe_rate,
            scrape_seconds(),
        )

    def _metrics(self, answers: Mapping[str, object]) -> tuple[CheckResult, ...]:
        if not _has_metrics(self.model.spec.rollout.metrics):
            return ()
        oks = [bool(answers[p]) for p in self.probes if p in answers]
        rate = ProbeResult(len(oks), oks.count(False)).error_rate
        values: dict[str, float | None] = {}
        for part, promql in self.queries.items():
            value = answers.get(part)
            values[promql] = value if isinstance(value, float) else None
        return self.checks_from(_Answers(values), rate)

    def _hooks(self, answers: Mapping[str, object]) -> tuple[CheckResult, ...]:
        out = []
        for part, hook in self.hooks.items():
            answer = answers.get(part)
            if isinstance(answer, CheckResult):
                out.append(answer)
            else:
                name = f"{WEBHOOK_PREFIX}{hook.name}"
                out.append(CheckResult(name=name, threshold="2xx", verdict="inconclusive"))
        return tuple(out)

    def _evaluation(self, answers: Mapping[str, object]) -> EvalResult | None:
        if self.suite is None:
            return None
        name, suite = self.suite
        run = answers.get("eval canary")
        if suite is None or not isinstance(run, EvalRun):
            return EvalResult(suite=name, verdict="inconclusive")
        stable = answers.get("eval stable")
        stable_score = stable.score if isinstance(stable, EvalRun) else None
        verdict = eval_verdict(
            run.score, stable_score, suite.pass_threshold, suite.max_drop_vs_stable
        )
        return EvalResult(
            suite=name,
            score=run.score,
            stable_score=stable_score,
            failed_cases=list(run.failed_cases),
            verdict=verdict,
        )


def start_gather(
    cache: FleetCache, model: SmallModel, canary: str, stable: str | None, step: int, now: datetime
) -> Gathering:
    """The parts of one analysis of ``canary`` at step index ``step`` (cache reads only)."""
    seconds = deadline_seconds(model.spec.rollout.analysis_interval_seconds)
    g = Gathering(model, canary, stable, now, seconds)
    try:
        _add_parts(g, cache, step)
    except Exception as err:
        g.parts.clear()
        g.broken = failure(model, canary, err)
    return g


def _add_parts(g: Gathering, cache: FleetCache, step: int) -> None:
    model, rollout, served = g.model, g.model.spec.rollout, g.model.served_model_name
    canary_eps = revision_endpoints(cache, model, g.canary)
    url = settings().prometheus_url
    if _has_metrics(rollout.metrics):
        for i, (target, body) in enumerate(probe_requests(canary_eps, served)):
            g.probes.append(f"probe#{i}")
            g.parts[f"probe#{i}"] = partial(_probe, target, body)
        asked = _Answers()
        g.checks_from(asked, None)  # the queries asked do not depend on the answers
        for i, promql in enumerate(dict.fromkeys(asked.asked)):
            if url:  # without Prometheus every metric is missing: inconclusive
                g.queries[f"query#{i}"] = promql
                g.parts[f"query#{i}"] = partial(_query, url, promql, g.at)
    payload = {
        "name": model.metadata.name,
        "namespace": model.metadata.namespace,
        "canaryRevision": g.canary,
        "stableRevision": g.stable,
        "step": step,
    }
    for i, hook in enumerate(due_hooks(rollout.webhooks, step, len(rollout.steps))):
        g.hooks[f"{WEBHOOK_PREFIX}{hook.name}#{i}"] = hook
        g.parts[f"{WEBHOOK_PREFIX}{hook.name}#{i}"] = partial(_hook, hook, payload)
    if rollout.eval_suite_ref is not None:
        suite = _suite(cache, model, rollout.eval_suite_ref)
        g.suite = (rollout.eval_suite_ref, suite)
        if suite is not None:
            g.parts["eval canary"] = partial(_eval, suite, canary_eps, served)
            stable_eps = revision_endpoints(cache, model, g.stable) if g.stable else []
            if suite.max_drop_vs_stable is not None and stable_eps:
                g.parts["eval stable"] = partial(_eval, suite, stable_eps, served)
