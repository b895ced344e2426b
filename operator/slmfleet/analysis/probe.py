"""Analysis probe: a few small requests to each pod of a revision, counting the ones that fail.

The probe gives the latency histograms samples even when no client is sending traffic yet, and
it sees failures that never reach the engine's metrics: HTTP errors before a request is queued
(the simulator's injected failures are such). Its error rate joins the errorRate check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slmfleet.analysis.evalrunner import Post, http_post


@dataclass(frozen=True)
class ProbeResult:
    sent: int
    failed: int

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.sent if self.sent else None


def probe_requests(
    endpoints: Sequence[str], model: str, per_endpoint: int = 4
) -> list[tuple[str, dict[str, Any]]]:
    """(url, body) of every probe request: ``per_endpoint`` to each pod."""
    body = {"model": model, "prompt": "slmfleet analysis probe", "max_tokens": 4}
    url = "http://{}/v1/completions"
    return [(url.format(e), body) for e in endpoints for _ in range(per_endpoint)]


def answered(url: str, body: dict[str, Any], timeout: float, post: Post = http_post) -> bool:
    """Whether one probe request got an answer (an HTTP error or a timeout is a failure)."""
    try:
        post(url, body, timeout, {})
    except (OSError, ValueError):
        return False
    return True


def combined_error_rate(*rates: float | None) -> float | None:
    """The worst of the rates that have data; None when none has."""
    known = [r for r in rates if r is not None]
    return max(known) if known else None
