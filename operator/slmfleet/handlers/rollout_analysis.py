"""What one analysis of a canary consists of: its parts, and how their answers are judged.

The parts are independent blocking calls (each probe request, each Prometheus query, each
webhook, the shadow counts, the EvalSuite: handlers/eval_run.py runs its sides, the canary,
stable and the reference, at once); handlers/analysis_runner.py runs them at
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
from slmfleet.analysis.eval_progress import ProgressTracker
from slmfleet.analysis.evalrunner import Post, http_post
from slmfleet.analysis.probe import ProbeResult, answered, probe_requests
from slmfleet.analysis.prometheus import PrometheusProvider
from slmfleet.analysis.shadow_checks import shadow_checks
from slmfleet.analysis.verdict import WEBHOOK_PREFIX
from slmfleet.analysis.webhooks import due_hooks, http_status, run_hooks
from slmfleet.api.rollout import MetricChecks, ShadowStep, Webhook
from slmfleet.api.rollout_status import CheckResult, EvalResult
from slmfleet.api.smallmodel import SmallModel
from slmfleet.cache.view import FleetCache
from slmfleet.config import settings
from slmfleet.handlers.eval_run import revision_endpoints, run_eval
from slmfleet.reconcile.model_plan import Analysis
from slmfleet.redact import redact
from slmfleet.rollout.plan import shadow_of

log = logging.getLogger(__name__)

Part = Callable[[Deadline], object]
"""One blocking call of an analysis; it takes every timeout from the deadline."""
PROBE_TIMEOUT_SECONDS = 10.0
QUERY_TIMEOUT_SECONDS = 5.0
DEADLINE_CHECK = "analysisDeadline"


def scrape_seconds() -> int:
    return int(os.environ.get("SLMFLEET_PROMETHEUS_SCRAPE_SECONDS", "15"))


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
    return lambda url, body, timeout, headers: http_post(
        url, body, deadline.timeout(timeout), headers
    )


def _probe(url: str, body: dict[str, Any], deadline: Deadline) -> bool:
    return answered(url, body, PROBE_TIMEOUT_SECONDS, _bounded(deadline))


def _query(url: str, promql: str, now: datetime, deadline: Deadline) -> float | None:
    return PrometheusProvider(url, deadline.timeout(QUERY_TIMEOUT_SECONDS)).query(promql, now)


def _hook(hook: Webhook, payload: dict[str, Any], deadline: Deadline) -> CheckResult:
    def call(url: str, body: bytes, timeout: float) -> int:
        return http_status(url, body, deadline.timeout(timeout))

    return run_hooks([hook], payload, call)[0]


def _eval(
    cache: FleetCache,
    model: SmallModel,
    name: str,
    canary: list[str],
    stable: list[str],
    progress: ProgressTracker,
    deadline: Deadline,
) -> EvalResult:
    try:
        return run_eval(
            cache, model, name, canary, stable, deadline.at, post=_bounded(deadline),
            progress=progress,
        )  # fmt: skip
    finally:
        progress.end()


def _shadow(
    step: ShadowStep, url: str, namespace: str, canary: str, now: datetime, deadline: Deadline
) -> tuple[CheckResult, ...]:
    source = PrometheusProvider(url, deadline.timeout(QUERY_TIMEOUT_SECONDS)) if url else None
    return shadow_checks(step, source, namespace, canary, now)


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
    suite: str | None = None
    shadow: bool = False
    broken: tuple[CheckResult, ...] = ()
    progress: ProgressTracker | None = None
    """The eval's progress, while one runs (shown in status.evalProgress)."""

    def finish(self, answers: Mapping[str, object], missed: Mapping[str, str]) -> Analysis:
        """The analysis from the answers of the parts that made the deadline."""
        if self.broken:
            return Analysis(self.broken, None, at=self.at)
        try:
            checks = self._metrics(answers) + self._hooks(answers) + self._shadow(answers)
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

    def _shadow(self, answers: Mapping[str, object]) -> tuple[CheckResult, ...]:
        found = answers.get("shadow")
        return found if self.shadow and isinstance(found, tuple) else ()

    def _evaluation(self, answers: Mapping[str, object]) -> EvalResult | None:
        if self.suite is None:
            return None
        found = answers.get("eval")
        if isinstance(found, EvalResult):
            return found
        why = f"the eval did not finish within the analysis deadline ({self.seconds:g}s)"
        return EvalResult(suite=self.suite, verdict="inconclusive", message=why)


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
    shadow = shadow_of(rollout, model.status.rollout)
    if shadow is not None:
        g.shadow = True  # without Prometheus its checks say so (inconclusive), never pending
        ns = model.metadata.namespace or "default"
        g.parts["shadow"] = partial(_shadow, shadow, url or "", ns, g.canary, g.at)
    if rollout.eval_suite_ref is not None:
        g.suite = rollout.eval_suite_ref
        g.progress = ProgressTracker(g.suite, g.at)
        stable_eps = revision_endpoints(cache, model, g.stable) if g.stable else []
        g.parts["eval"] = partial(_eval, cache, model, g.suite, canary_eps, stable_eps, g.progress)
