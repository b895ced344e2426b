"""PromQL of the preset checks over vLLM's own metrics, per namespace and revision (pure).

Prometheus labels every scraped engine series with the pod's labels, so ``slmfleet_io_revision``
picks one revision. Error rate counts ``vllm:request_success_total`` by finish reason: vLLM labels
it ``finished_reason`` and the simulator ``finish_reason``, and both are matched. Requests that
fail before the engine (HTTP 4xx/5xx, the simulator's injected failures) never reach that counter;
the analysis probe counts those (see :mod:`slmfleet.analysis.probe`), and so does the router,
whose ``slmfleet_router_requests_total`` counts every answer by the revision that gave it: its 5xx
share per revision is the router's error rate. The errorRate check takes the worst of the three.
"""

from __future__ import annotations

from dataclasses import dataclass

REVISION_LABEL = "slmfleet_io_revision"
ERROR_REASONS = "abort|error"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def selector(namespace: str, revision: str, extra: str = "") -> str:
    base = f'namespace="{_escape(namespace)}",{REVISION_LABEL}="{_escape(revision)}"'
    return "{" + base + (f",{extra}" if extra else "") + "}"


def quantile_query(metric: str, namespace: str, revision: str, window: str, q: float = 0.95) -> str:
    sel = selector(namespace, revision)
    return f"histogram_quantile({q:g}, sum by (le) (rate({metric}_bucket{sel}[{window}])))"


def p95_ttft(namespace: str, revision: str, window: str) -> str:
    return quantile_query("vllm:time_to_first_token_seconds", namespace, revision, window)


def p95_e2e(namespace: str, revision: str, window: str) -> str:
    return quantile_query("vllm:e2e_request_latency_seconds", namespace, revision, window)


def error_rate(namespace: str, revision: str, window: str) -> str:
    """Failed finishes over all finishes; NaN (no data) when nothing finished in the window."""
    total = f"sum(rate(vllm:request_success_total{selector(namespace, revision)}[{window}]))"
    parts = [
        f"sum(rate(vllm:request_success_total"
        f"{selector(namespace, revision, f'{label}=~{chr(34)}{ERROR_REASONS}{chr(34)}')}"
        f"[{window}]))"
        for label in ("finished_reason", "finish_reason")
    ]
    failed = " + ".join(f"({p} or vector(0))" for p in parts)
    return f"({failed}) / {total}"


def router_error_rate(namespace: str, revision: str, window: str) -> str:
    """5xx answers the router gave for a revision over all of them; NaN without router traffic."""
    sel = f'namespace="{_escape(namespace)}",revision="{_escape(revision)}"'
    total = f"sum(rate(slmfleet_router_requests_total{{{sel}}}[{window}]))"
    failed = f'sum(rate(slmfleet_router_requests_total{{{sel},code=~"5.."}}[{window}]))'
    return f"({failed} or vector(0)) / {total}"


def render_custom(query: str, namespace: str, revision: str) -> str:
    """A user's query with {{namespace}} and {{revision}} filled in."""
    return query.replace("{{namespace}}", namespace).replace("{{revision}}", revision)


def window_for(interval_seconds: int, scrape_seconds: int = 15) -> str:
    """A rate window: two analysis intervals, but at least four scrapes so rate() has samples."""
    return f"{max(2 * interval_seconds, 4 * scrape_seconds)}s"


@dataclass(frozen=True)
class PresetQueries:
    """The preset queries of one revision."""

    p95_ttft: str
    p95_e2e: str
    error_rate: str
    router_error_rate: str

    @classmethod
    def build(cls, namespace: str, revision: str, window: str) -> PresetQueries:
        return cls(
            p95_ttft(namespace, revision, window),
            p95_e2e(namespace, revision, window),
            error_rate(namespace, revision, window),
            router_error_rate(namespace, revision, window),
        )
