"""Checks of a shadow step (pure over a MetricProvider): how many live requests the router
mirrored to the canary, and how often the canary's answer agreed with the served one.

The router counts every mirror in ``slmfleet_router_shadow_requests_total`` by revision and
result (router/shadow.py); the counters of all router pods are summed since the canary exists
(a revision hash names one canary). Until ``minRequests`` mirrors were judged the step waits:
both checks are inconclusive with the reason ``pending``, which the rollout machine does not
count against ``inconclusiveLimit``.
"""

from __future__ import annotations

from datetime import datetime

from slmfleet.analysis.prometheus import MetricProvider
from slmfleet.analysis.verdict import Threshold, check
from slmfleet.api.rollout import ShadowStep
from slmfleet.api.rollout_status import CheckResult

SHADOW_REQUESTS = "shadowRequests"
SHADOW_AGREEMENT = "shadowAgreement"
PENDING = "pending"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def shadow_query(namespace: str, revision: str, result: str) -> str:
    sel = f'namespace="{_escape(namespace)}",revision="{_escape(revision)}",{result}'
    return f"sum(slmfleet_router_shadow_requests_total{{{sel}}})"


def shadow_checks(
    step: ShadowStep, provider: MetricProvider | None, namespace: str, canary: str, now: datetime
) -> tuple[CheckResult, ...]:
    """The two checks; without Prometheus (``provider`` None) both are inconclusive, never
    pending, so the rollout cannot wait forever for numbers nobody collects."""
    if provider is None:
        no_data = CheckResult(
            name=SHADOW_AGREEMENT, threshold="needs Prometheus", verdict="inconclusive"
        )
        return (no_data,)
    judged = provider.query(shadow_query(namespace, canary, 'result!="dropped"'), now)
    agreed = provider.query(shadow_query(namespace, canary, 'result="agree"'), now)
    count = check(SHADOW_REQUESTS, judged or 0.0, Threshold(min=step.min_requests))
    rate = (agreed or 0.0) / judged if judged else None
    agreement = check(SHADOW_AGREEMENT, rate, Threshold(min=step.min_agreement))
    if count.verdict != "pass":
        pending = f"{PENDING}: >= {step.min_requests}"
        count = count.model_copy(update={"verdict": "inconclusive", "threshold": pending})
        agreement = agreement.model_copy(update={"verdict": "inconclusive"})
    return count, agreement


def pending(checks: tuple[CheckResult, ...] | list[CheckResult]) -> bool:
    """Whether a shadow step still waits for mirrored requests (not missing data)."""
    return any(c.name == SHADOW_REQUESTS and c.threshold.startswith(PENDING) for c in checks)
