"""`kubectl slm top` and `kubectl slm cost`: the fleet at a glance, from status (and Prometheus for
KV cache use, p95 TTFT and error rate, when --prometheus-url or SLMFLEET_PROMETHEUS_URL is set)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from slmfleet.autoscale.batch import to_vector
from slmfleet.cli.fleet_view import (
    COST_COLUMNS,
    LIVE_QUERIES,
    SORT_KEYS,
    TOP_COLUMNS,
    Live,
    fleet_rows,
    sort_rows,
    table,
)
from slmfleet.cli.rollout_commands import ClientFn, render

QueryFn = Callable[[str], list[dict[str, Any]]]


def live_figures(query: QueryFn) -> Live:
    """KV cache use, p95 TTFT and error rate of every model, one query each."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for name, promql in LIVE_QUERIES.items():
        for key, value in to_vector(query(promql), ("namespace", "slmfleet_io_model")).items():
            out.setdefault((key[0], key[1]), {})[name] = value
    return out


def _prometheus(url: str | None) -> QueryFn | None:
    if not url:
        return None
    from slmfleet.autoscale.signals import PrometheusSignals

    return PrometheusSignals(url).vector


def add_fleet_commands(
    sub: Any, client: ClientFn, prometheus: Callable[[str | None], QueryFn | None] = _prometheus
) -> None:
    """Register top and cost on an argparse subparsers object."""

    def view(columns: Any, live: bool) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            kube, namespace = client(args)
            everywhere = bool(getattr(args, "all_namespaces", False))
            bodies = kube.list("SmallModel", None if everywhere else namespace)
            figures: Live | None = None
            query = prometheus(args.prometheus_url) if live else None
            if query is not None:
                try:
                    figures = live_figures(query)
                except Exception as err:  # status still answers
                    print(f"warning: Prometheus unavailable: {err}", file=sys.stderr)
            rows = sort_rows(fleet_rows(bodies, figures), args.sort_by)
            output = getattr(args, "output", None)
            print(render(rows, output) if output else table(rows, columns, everywhere))
            return 0

        return run

    for name, help_text, columns, live in (
        (
            "top",
            "one row per SmallModel: GPU class, replicas, tokens/s, KV use, p95 TTFT, errors, "
            "$/1M tokens, fit headroom",
            TOP_COLUMNS,
            True,
        ),
        (
            "cost",
            "one row per SmallModel: GPUs, price, GPU-hours, cost, tokens, $/1M tokens, "
            "$/1k requests, utilization over the cost window",
            COST_COLUMNS,
            False,
        ),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(
            "--sort-by",
            choices=SORT_KEYS,
            default=None,
            help="a column key (numbers: largest first)",
        )
        cmd.add_argument(
            "--prometheus-url",
            default=os.environ.get("SLMFLEET_PROMETHEUS_URL") or None,
            help="Prometheus for KV use, p95 TTFT and error rate (default $SLMFLEET_PROMETHEUS_URL)",
        )
        cmd.set_defaults(func=view(columns, live))
