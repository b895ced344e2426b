"""Analysis probe: a few small requests to each pod of a revision, counting the ones that fail.

The probe gives the latency histograms samples even when no client is sending traffic yet, and
it sees failures that never reach the engine's metrics: HTTP errors before a request is queued
(the simulator's injected failures are such). Its error rate joins the errorRate check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slmfleet.analysis.evalrunner import Post, http_post


@dataclass(frozen=True)
class ProbeResult:
    sent: int
    failed: int

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.sent if self.sent else None


def probe(
    endpoints: Sequence[str],
    model: str,
    per_endpoint: int = 4,
    timeout: float = 10.0,
    post: Post = http_post,
) -> ProbeResult:
    sent = failed = 0
    body = {"model": model, "prompt": "slmfleet analysis probe", "max_tokens": 4}
    for endpoint in endpoints:
        for _ in range(per_endpoint):
            sent += 1
            try:
                post(f"http://{endpoint}/v1/completions", body, timeout, {})
            except (OSError, ValueError):
                failed += 1
    return ProbeResult(sent, failed)


def combined_error_rate(*rates: float | None) -> float | None:
    """The worst of the rates that have data; None when none has."""
    known = [r for r in rates if r is not None]
    return max(known) if known else None
