"""`kubectl slm` rollout subcommands: status, history, diff, promote, abort, retry, rollback.

The actions only set an annotation on the SmallModel (the same one a plain `kubectl annotate`
sets); the operator acts on it at its next tick and removes it. The text renderers are pure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from slmfleet.cli.cache_text import cache_lines
from slmfleet.cli.revisions import diff_text, history_rows, history_text
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
    stable, canary, weight = r.get("stableRevision"), r.get("canaryRevision"), r.get("weight", 0)
    serving = stable or status.get("templateHash")
    if canary or r.get("phase") in ("RolledBack", "Failed"):
        lines = [f"SmallModel {name}: rollout {r.get('phase')}"]
    elif serving:
        lines = [f"SmallModel {name}: serving revision {serving}"]
    else:
        lines = [f"SmallModel {name}: no revision serving yet ({status.get('phase') or 'Pending'})"]
    if canary:
        lines.append(f"  step     {int(r.get('step', 0)) + 1}/{len(steps) or '?'}")
        lines.append(
            f"  weights  stable {stable} {100 - weight}%, canary {canary} {weight}% (by {provider})"
        )
    if r.get("failedRevision"):
        lines.append(f"  failed   {r['failedRevision']} (not retried until the spec changes)")
    if canary or r.get("failedChecks") or r.get("inconclusiveChecks"):
        lines.append(
            f"  failed analyses {r.get('failedChecks', 0)}, "
            f"without data {r.get('inconclusiveChecks', 0)}"
        )
    if r.get("message"):
        lines.append(f"  message  {r['message']}")
    for d in status.get("draining") or []:  # a leaving revision waiting to be scaled down
        lines.append(
            f"  draining {d.get('revision')} ({d.get('cause')}, {d.get('stage')}): "
            f"{d.get('message', '')}"
        )
    checks = r.get("lastAnalysis") or []
    if checks:
        lines.append(f"  last analysis ({r.get('lastAnalysisAt', '-')}):")
        for c in checks:
            lines.append(
                f"    {c.get('name', ''):<16} {_value(c.get('value')):>10}  "
                f"{c.get('threshold', ''):<10} {c.get('verdict', '')}"
            )
    running = status.get("evalProgress")
    if running:  # written every few seconds while a long eval runs
        sides = ", ".join(
            f"{x.get('side')} {x.get('done', 0)}/{x.get('total', 0)}"
            for x in running.get("sides") or []
        )
        lines.append(
            f"  eval {running.get('suite')} running since {running.get('startedAt')}: "
            f"{sides or 'reading its cases'}"
        )
    ev = r.get("lastEval")
    if ev:
        failed = ", ".join(ev.get("failedCases") or []) or "none"
        lines.append(
            f"  eval {ev.get('suite')}: score {_value(ev.get('score'))} "
            f"(stable {_value(ev.get('stableScore'))}) {ev.get('verdict')}; failed: {failed}"
        )
        for gap in (ev.get("stable"), ev.get("reference")):
            if gap and gap.get("difference") is not None:
                lines.append(
                    f"    vs {gap.get('against')}: {gap['difference'] * 100:+.1f} points "
                    f"({gap['low'] * 100:+.1f}..{gap['high'] * 100:+.1f}, "
                    f"max gap {gap.get('maxGap', 0) * 100:g}) over {gap.get('cases')} cases "
                    f"{gap.get('verdict')}; lost: {', '.join(gap.get('lost') or []) or 'none'}"
                )
        if ev.get("judged"):
            lines.append(f"    judge: {_value(ev.get('judgeScore'))} over {ev['judged']} cases")
        if ev.get("message"):
            lines.append(f"    {ev['message']}")
    lines += cache_lines(status)
    return "\n".join(lines)


def render(value: Any, output: str | None) -> str:
    """`-o json` or `-o yaml` of structured output."""
    if output == "json":
        return json.dumps(value, indent=2)
    return yaml.safe_dump(value, sort_keys=False).rstrip("\n")


def _data(command: str, body: Mapping[str, Any]) -> Any:
    return history_rows(body) if command == "history" else dict(body)


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


def list_text(bodies: list[dict[str, Any]], all_namespaces: bool) -> str:
    """One line per SmallModel: what serves, and the rollout if one is under way."""
    rows: list[tuple[str, ...]] = [("NAMESPACE", "NAME", "PHASE", "SERVING", "ROLLOUT")]
    for body in bodies:
        meta, status = body.get("metadata") or {}, body.get("status") or {}
        r = status.get("rollout") or {}
        serving = r.get("stableRevision") or status.get("templateHash") or "-"
        rollout = (
            f"{r.get('phase')} canary {r['canaryRevision']} at {r.get('weight', 0)}%"
            if r.get("canaryRevision")
            else "-"
        )
        rows.append(
            (
                meta.get("namespace", ""),
                meta.get("name", ""),
                status.get("phase") or "-",
                serving,
                rollout,
            )
        )
    if not all_namespaces:
        rows = [row[1:] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def add_rollout_commands(sub: Any, client: ClientFn) -> None:
    """Register the rollout subcommands on an argparse subparsers object."""

    def show(
        command: str, text: Callable[[Mapping[str, Any]], str]
    ) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            kube, namespace = client(args)
            output = getattr(args, "output", None)
            if command == "status" and args.name is None:
                everywhere = bool(getattr(args, "all_namespaces", False))
                bodies = kube.list("SmallModel", None if everywhere else namespace)
                print(render(bodies, output) if output else list_text(bodies, everywhere))
                return 0
            body = _get(kube, namespace, args.name)
            if body is None:
                return 2
            print(render(_data(command, body), output) if output else text(body))
            return 0

        return run

    def diff(args: argparse.Namespace) -> int:
        kube, namespace = client(args)
        body = _get(kube, namespace, args.name)
        if body is None:
            return 2
        text, ok = diff_text(body, args.first, args.second)
        print(text, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 2

    def action(key: str) -> Callable[[argparse.Namespace], int]:
        return lambda args: _annotate(client, args, key, "true")

    def rollback(args: argparse.Namespace) -> int:
        return _annotate(client, args, ROLLBACK_TO, str(args.to_revision))

    table: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        (
            "status",
            "what serves and the rollout (phase, step, weights, analysis, eval); "
            "without NAME one line per SmallModel",
            show("status", status_text),
        ),
        (
            "history",
            "revisions kept for rollback: source, quantization, image, changed fields",
            show("history", history_text),
        ),
        ("diff", "two kept revisions' specs side by side (the fields that differ)", diff),
        ("promote", "skip the remaining steps and promote the canary", action(PROMOTE)),
        ("abort", "roll the canary back to stable now", action(ABORT)),
        ("retry", "roll out a rolled-back revision again", action(RETRY)),
        ("rollback", "restore the spec of an older revision", rollback),
    ]
    for name, help_text, func in table:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("name", nargs="?" if name == "status" else None, help="SmallModel name")
        if name == "rollback":
            cmd.add_argument(
                "--to-revision",
                default="1",
                help="a revision hash or a history index (1 = the one before the serving one)",
            )
        if name == "diff":
            cmd.add_argument("first", nargs="?", default="1", help="revision or index (default 1)")
            cmd.add_argument("second", nargs="?", default="0", help="revision or index (default 0)")
        cmd.set_defaults(func=func)
