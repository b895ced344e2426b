"""`kubectl slm`: a kubectl plugin for slmfleet (installed as the `kubectl-slm` executable)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from slmfleet import API_VERSION, __version__
from slmfleet.k8s import Kube


def _client(args: argparse.Namespace) -> tuple[Kube, str]:
    """An API client and the namespace: --namespace, else the kubeconfig context's, else default."""
    from kubernetes import config

    api = config.new_client_from_config(config_file=args.kubeconfig)
    namespace = args.namespace
    if namespace is None:
        _, current = config.list_kube_config_contexts(config_file=args.kubeconfig)
        namespace = (current or {}).get("context", {}).get("namespace") or "default"
    return Kube(api), namespace


def _cmd_plan(args: argparse.Namespace) -> int:
    from slmfleet.api.errors import SpecError
    from slmfleet.api.parse import parse_gpuclass, parse_smallmodel
    from slmfleet.cli.plan import plan_report

    kube, namespace = _client(args)
    body = kube.get("SmallModel", args.name, namespace)
    if body is None:
        print(f"error: SmallModel {namespace}/{args.name} not found", file=sys.stderr)
        return 2
    try:
        model = parse_smallmodel(body)
    except SpecError as err:
        print(f"error: SmallModel {namespace}/{args.name} is invalid:\n{err}", file=sys.stderr)
        return 2
    classes = {}
    for item in kube.list("GPUClass"):
        try:
            classes[item["metadata"]["name"]] = parse_gpuclass(item).spec
        except SpecError:
            continue
    report = plan_report(model, classes)
    print(report.text)
    return 0 if report.fits else 1


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"kubectl-slm {__version__} (API {API_VERSION})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubectl slm", description=__doc__)
    parser.add_argument("--kubeconfig", default=None, help="path to the kubeconfig file")
    parser.add_argument(
        "-n", "--namespace", default=None, help="namespace (default: the context's)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="the memory plan of a SmallModel on every GPUClass")
    plan.add_argument("name", help="SmallModel name")
    plan.set_defaults(func=_cmd_plan)
    from slmfleet.cli.rollout_commands import add_rollout_commands

    add_rollout_commands(sub, _client)
    version = sub.add_parser("version", help="print the plugin version")
    version.set_defaults(func=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
