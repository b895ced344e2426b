"""`kubectl slm` rollout subcommands: status, promote, abort, retry, rollback, history.

The actions only set an annotation on the SmallModel (the same one a plain `kubectl annotate`
sets); the operator acts on it at its next tick and removes it. The text renderers are pure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from typing import Any

from slmfleet.k8s import Kube
from slmfleet.rollout.state import ABORT, PROMOTE, RETRY, ROLLBACK_TO

ClientFn = Callable[[argparse.Namespace], tuple[Kube, str]]


def _value(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def status_text(body: Mapping[str, Any]) -> str:
    """Phase, step, weights, last analysis and eval score of one SmallModel."""
    status = body.get("status") or {}
    r = status.get("rollout") or {}
    spec_rollout = (body.get("spec") or {}).get("rollout") or {}
    steps = spec_rollout.get("steps") or []
    provider = spec_rollout.get("trafficProvider") or "router"
    name = (body.get("metadata") or {}).get("name", "")
    lines = [f"SmallModel {name}: rollout {r.get('phase', 'not started')}"]
    stable, canary, weight = r.get("stableRevision"), r.get("canaryRevision"), r.get("weight", 0)
    if canary:
        lines.append(f"  step     {int(r.get('step', 0)) + 1}/{len(steps) or '?'}")
        lines.append(
            f"  weights  stable {stable} {100 - weight}%, canary {canary} {weight}% (by {provider})"
        )
    else:
        lines.append(f"  serving  {stable} 100%")
    if r.get("failedRevision"):
        lines.append(f"  failed   {r['failedRevision']} (not retried until the spec changes)")
    lines.append(
        f"  failed analyses {r.get('failedChecks', 0)}, without data {r.get('inconclusiveChecks', 0)}"
    )
    if r.get("message"):
        lines.append(f"  message  {r['message']}")
    checks = r.get("lastAnalysis") or []
    if checks:
        lines.append(f"  last analysis ({r.get('lastAnalysisAt', '-')}):")
        for c in checks:
            lines.append(
                f"    {c.get('name', ''):<16} {_value(c.get('value')):>10}  "
                f"{c.get('threshold', ''):<10} {c.get('verdict', '')}"
            )
    ev = r.get("lastEval")
    if ev:
        failed = ", ".join(ev.get("failedCases") or []) or "none"
        lines.append(
            f"  eval {ev.get('suite')}: score {_value(ev.get('score'))} "
            f"(stable {_value(ev.get('stableScore'))}) {ev.get('verdict')}; failed: {failed}"
        )
    return "\n".join(lines)


def history_text(body: Mapping[str, Any]) -> str:
    """The revisions kept for rollback, newest (serving) first, with their index."""
    history = (body.get("status") or {}).get("history") or []
    lines = ["INDEX  REVISION    PROMOTED"]
    for i, h in enumerate(history):
        lines.append(f"{i:<6} {h.get('revision', ''):<11} {h.get('promotedAt', '-')}")
    return "\n".join(lines)


def _get(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    body = kube.get("SmallModel", name, namespace)
    if body is None:
        print(f"error: SmallModel {namespace}/{name} not found", file=sys.stderr)
    return body


def _annotate(client: ClientFn, args: argparse.Namespace, key: str, value: str) -> int:
    kube, namespace = client(args)
    if _get(kube, namespace, args.name) is None:
        return 2
    patch = {"metadata": {"annotations": {key: value}}}
    kube.merge_patch("SmallModel", args.name, patch, namespace)
    print(f"smallmodel/{args.name} annotated {key}={value}")
    return 0


def add_rollout_commands(sub: Any, client: ClientFn) -> None:
    """Register the rollout subcommands on an argparse subparsers object."""

    def show(render: Callable[[Mapping[str, Any]], str]) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            kube, namespace = client(args)
            body = _get(kube, namespace, args.name)
            if body is None:
                return 2
            print(render(body))
            return 0

        return run

    def action(key: str) -> Callable[[argparse.Namespace], int]:
        return lambda args: _annotate(client, args, key, "true")

    def rollback(args: argparse.Namespace) -> int:
        return _annotate(client, args, ROLLBACK_TO, str(args.to_revision))

    table: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        ("status", "rollout phase, step, weights, last analysis and eval score", show(status_text)),
        ("history", "revisions kept for rollback", show(history_text)),
        ("promote", "skip the remaining steps and promote the canary", action(PROMOTE)),
        ("abort", "roll the canary back to stable now", action(ABORT)),
        ("retry", "roll out a rolled-back revision again", action(RETRY)),
        ("rollback", "restore the spec of an older revision", rollback),
    ]
    for name, help_text, func in table:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("name", help="SmallModel name")
        if name == "rollback":
            cmd.add_argument(
                "--to-revision",
                default="1",
                help="a revision hash or a history index (1 = the one before the serving one)",
            )
        cmd.set_defaults(func=func)
