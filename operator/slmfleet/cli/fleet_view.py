"""`kubectl slm top` and `kubectl slm cost`: one row per SmallModel, from status and, where status
does not carry a figure (KV cache use, p95 TTFT, error rate), from Prometheus when one is given.
The rows and the table are pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Row = dict[str, Any]
Live = Mapping[tuple[str, str], Mapping[str, float]]  # (namespace, model) -> figure -> value

LIVE_QUERIES = {
    "kvCacheUsage": "avg by (namespace, slmfleet_io_model) (vllm:kv_cache_usage_perc)",
    "p95TTFTSeconds": (
        "histogram_quantile(0.95, sum by (namespace, slmfleet_io_model, le) "
        "(rate(vllm:time_to_first_token_seconds_bucket[5m])))"
    ),
    "errorRate": (
        "(sum by (namespace, slmfleet_io_model) "
        '(rate(vllm:request_success_total{finished_reason=~"abort|error"}[5m]))'
        " or sum by (namespace, slmfleet_io_model) "
        '(rate(vllm:request_success_total{finish_reason=~"abort|error"}[5m]))'
        " or 0 * sum by (namespace, slmfleet_io_model) (rate(vllm:request_success_total[5m])))"
        " / sum by (namespace, slmfleet_io_model) (rate(vllm:request_success_total[5m]))"
    ),
}


def fit_headroom(plan: Mapping[str, Any] | None) -> float | None:
    """GiB left after weights, overhead, activations and the requested KV cache (negative: short)."""
    plan = plan or {}
    parts = [plan.get(k) for k in ("usableGiB", "weightsGiB", "overheadGiB", "kvRequestedGiB")]
    if any(not isinstance(p, int | float) for p in parts):
        return None
    usable, weights, overhead, kv = (float(p) for p in parts if p is not None)
    return round(usable - weights - overhead - kv - float(plan.get("activationGiB") or 0), 2)


def fleet_rows(bodies: Sequence[Mapping[str, Any]], live: Live | None = None) -> list[Row]:
    """One row per SmallModel with every figure the two views show (None where unknown)."""
    rows = []
    for body in bodies:
        meta, spec, status = (
            body.get("metadata") or {},
            body.get("spec") or {},
            body.get("status") or {},
        )
        cost = status.get("cost") or {}
        window, lifetime = cost.get("window") or {}, cost.get("sinceCreation") or {}
        extra = (live or {}).get((meta.get("namespace", ""), meta.get("name", ""))) or {}
        rows.append(
            {
                "namespace": meta.get("namespace", ""),
                "name": meta.get("name", ""),
                "gpuClass": spec.get("gpuClassName"),
                "replicas": status.get("replicas"),
                "readyReplicas": status.get("readyReplicas"),
                "tokensPerSecond": window.get("tokensPerSecond"),
                "kvCacheUsage": extra.get("kvCacheUsage"),
                "p95TTFTSeconds": extra.get("p95TTFTSeconds"),
                "errorRate": extra.get("errorRate"),
                "costPer1MTokens": window.get("costPer1MTokens"),
                "costPer1kRequests": window.get("costPer1kRequests"),
                "fitHeadroomGiB": fit_headroom(status.get("plan")),
                "utilization": cost.get("utilization"),
                "pricePerGPUHour": cost.get("pricePerGPUHour"),
                "gpus": cost.get("gpus"),
                "windowSeconds": cost.get("windowSeconds"),
                "windowGPUHours": window.get("gpuHours"),
                "windowCost": window.get("cost"),
                "windowTokens": (window.get("promptTokens") or 0)
                + (window.get("generationTokens") or 0),
                "windowRequests": window.get("requests"),
                "totalCost": lifetime.get("cost"),
                "totalTokens": (lifetime.get("promptTokens") or 0)
                + (lifetime.get("generationTokens") or 0),
                "costReason": cost.get("reason"),
            }
        )
    return rows


def _num(fmt: str) -> Callable[[Any], str]:
    return lambda v: "-" if not isinstance(v, int | float) else format(v, fmt)


def _pct(v: Any) -> str:
    return "-" if not isinstance(v, int | float) else f"{v * 100:.1f}%"


def _ms(v: Any) -> str:
    return "-" if not isinstance(v, int | float) else f"{v * 1000:.0f}ms"


def _text(v: Any) -> str:
    return "-" if v is None else str(v)


Column = tuple[str, str, Callable[[Any], str]]
TOP_COLUMNS: tuple[Column, ...] = (
    ("NAME", "name", _text),
    ("GPU CLASS", "gpuClass", _text),
    ("REPLICAS", "replicas", _text),
    ("TOKENS/S", "tokensPerSecond", _num(".4g")),
    ("KV USE", "kvCacheUsage", _pct),
    ("P95 TTFT", "p95TTFTSeconds", _ms),
    ("ERRORS", "errorRate", _pct),
    ("$/1M TOK", "costPer1MTokens", _num(".4g")),
    ("HEADROOM GiB", "fitHeadroomGiB", _num("g")),
)
COST_COLUMNS: tuple[Column, ...] = (
    ("NAME", "name", _text),
    ("GPU CLASS", "gpuClass", _text),
    ("GPUS", "gpus", _text),
    ("$/GPU-H", "pricePerGPUHour", _num("g")),
    ("GPU-H", "windowGPUHours", _num(".4g")),
    ("COST", "windowCost", _num(".4g")),
    ("TOKENS", "windowTokens", _num(".0f")),
    ("$/1M TOK", "costPer1MTokens", _num(".4g")),
    ("$/1K REQ", "costPer1kRequests", _num(".4g")),
    ("UTIL", "utilization", _pct),
    ("TOTAL COST", "totalCost", _num(".4g")),
    ("REASON", "costReason", _text),
)
SORT_KEYS = sorted({key for _, key, _ in TOP_COLUMNS + COST_COLUMNS} | {"namespace"})


def sort_rows(rows: list[Row], key: str | None) -> list[Row]:
    """Rows by ``key`` (numbers largest first, unknown last), else by namespace and name."""
    if key is None:
        return sorted(rows, key=lambda r: (r["namespace"], r["name"]))
    known = [r for r in rows if r.get(key) is not None]
    unknown = [r for r in rows if r.get(key) is None]
    numeric = all(isinstance(r[key], int | float) for r in known)
    known.sort(key=lambda r: r[key], reverse=numeric)
    return known + unknown


def table(rows: Sequence[Row], columns: Sequence[Column], all_namespaces: bool) -> str:
    cols = ((("NAMESPACE", "namespace", _text),) if all_namespaces else ()) + tuple(columns)
    cells = [[head for head, _, _ in cols]]
    cells += [[fmt(row.get(key)) for _, key, fmt in cols] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )
