"""The fleet bench's markdown tables (bench/fleet_scale.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

IDLE_WINDOW_SECONDS = 30.0


def idle_calls_per_s(row: Mapping[str, Any]) -> float:
    """The operator's own API calls per second while idle (its metric, reads included); the
    API server's difference with and without the operator (noisier: the control plane's own
    retries move it) for an operator that counts none (the baseline)."""
    if "operator_idle_calls" in row:
        return float(row["operator_idle_calls"]) / IDLE_WINDOW_SECONDS
    return float(row["operator_requests_per_s"])


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| operator | N | all Ready | idle CPU (of a core) | RSS | API calls/s idle | "
            "create->Deployment p50 / p99 | Deployment ready->model Ready p50 / p99 |")  # fmt: skip
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "idle_cpu_share" not in r:
            lines.append(f"| {r['operator']} | {r['models']} | {r['converge_s']:.0f} s |"
                         " - | - | - | - | - |")  # fmt: skip
            continue
        lines.append(
            f"| {r['operator']} | {r['models']} | {r['converge_s']:.0f} s | "
            f"{100 * r['idle_cpu_share']:.1f} % | {r['rss_mib']:.0f} MiB | "
            f"{idle_calls_per_s(r):.2f} | "
            f"{1000 * r['create_to_deployment_p50_s']:.0f} / {1000 * r['create_to_deployment_p99_s']:.0f} ms | "
            f"{r['status_lag_p50_s']:.2f} / {r['status_lag_p99_s']:.2f} s |"
        )
    return "\n".join(lines)


def writes_table(rows: list[dict[str, Any]]) -> str:
    """The operator's API writes per model in each phase, by resource and verb."""
    lines = ["| operator | N | writes (resource verb) | create->all Ready | all Ready->pass saw "
             "all | idle window |", "|---|---:|---|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        phases = r.get("operator_writes")
        if not phases:
            continue
        n, keys = r["models"], sorted({k for counts in phases.values() for k in counts})
        per = {p: {k: v / n for k, v in counts.items()} for p, counts in phases.items()}
        for key in [*keys, "all"]:
            cells = [
                sum(per[p].values()) if key == "all" else per[p].get(key, 0.0)
                for p in ("converge", "settle", "idle")
            ]
            lines.append(
                f"| {r['operator']} | {n} | {key} | " + " | ".join(f"{c:.2f}" for c in cells) + " |"
            )
        every = r["apiserver_smallmodel_writes"]
        cells = [every[p] / n for p in ("converge", "settle", "idle")]
        lines.append(f"| {r['operator']} | {n} | smallmodels, every client (API server) | "
                     + " | ".join(f"{c:.2f}" for c in cells) + " |")  # fmt: skip
    return "\n".join(lines)
