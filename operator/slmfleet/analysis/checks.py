"""One analysis of a canary revision: every configured check, measured and judged.

I/O goes through the injected :class:`MetricProvider` (and the probe's error rate handed in), so
this is testable with a fake provider; the verdicts are pure.
"""

from __future__ import annotations

from datetime import datetime

from slmfleet.analysis.presets import PresetQueries, render_custom, window_for
from slmfleet.analysis.probe import combined_error_rate
from slmfleet.analysis.prometheus import MetricProvider
from slmfleet.analysis.verdict import Threshold, check, ratio
from slmfleet.api.rollout import MetricChecks
from slmfleet.api.rollout_status import CheckResult


def analyze(
    metrics: MetricChecks,
    provider: MetricProvider,
    namespace: str,
    canary: str,
    stable: str | None,
    now: datetime,
    interval_seconds: int,
    probe_error_rate: float | None = None,
    scrape_seconds: int = 15,
) -> tuple[CheckResult, ...]:
    """The checks of one analysis, in a stable order: presets, regression, custom."""
    window = window_for(interval_seconds, scrape_seconds)
    q = PresetQueries.build(namespace, canary, window)
    out: list[CheckResult] = []
    ttft = e2e = None
    if metrics.p95_ttft_seconds is not None or metrics.max_regression_vs_stable is not None:
        ttft = provider.query(q.p95_ttft, now)
    if metrics.p95_e2e_seconds is not None or metrics.max_regression_vs_stable is not None:
        e2e = provider.query(q.p95_e2e, now)
    if metrics.p95_ttft_seconds is not None:
        out.append(check("p95TTFTSeconds", ttft, Threshold(max=metrics.p95_ttft_seconds)))
    if metrics.p95_e2e_seconds is not None:
        out.append(check("p95E2ESeconds", e2e, Threshold(max=metrics.p95_e2e_seconds)))
    if metrics.error_rate is not None:
        engine = provider.query(q.error_rate, now)
        router = provider.query(q.router_error_rate, now)
        rate = combined_error_rate(engine, router, probe_error_rate)
        result = check("errorRate", rate, Threshold(max=metrics.error_rate))
        if combined_error_rate(engine, router) is None and result.verdict == "pass":
            # The operator's own few probe requests can show a failure, never prove health.
            result = result.model_copy(update={"verdict": "inconclusive"})
        out.append(result)
    if metrics.max_regression_vs_stable is not None and stable is not None:
        base = PresetQueries.build(namespace, stable, window)
        limit = Threshold(max=metrics.max_regression_vs_stable)
        stable_ttft = provider.query(base.p95_ttft, now)
        stable_e2e = provider.query(base.p95_e2e, now)
        out.append(check("ttftVsStable", ratio(ttft, stable_ttft), limit))
        out.append(check("e2eVsStable", ratio(e2e, stable_e2e), limit))
    for custom in metrics.custom:
        value = provider.query(render_custom(custom.query, namespace, canary), now)
        out.append(check(custom.name, value, Threshold(custom.min, custom.max)))
    return tuple(out)
