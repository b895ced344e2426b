"""`kubectl slm`: a kubectl plugin for slmfleet (installed as the `kubectl-slm` executable).

As in kubectl, the connection and output flags (-n, --kubeconfig, --context, -A, -o) go before or
after the subcommand and its arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from slmfleet import API_VERSION, __version__
from slmfleet.cli.fleet_commands import add_fleet_commands
from slmfleet.cli.rollout_commands import ClientFn, add_rollout_commands
from slmfleet.k8s import Kube


def _client(args: argparse.Namespace) -> tuple[Kube, str]:
    """An API client and the namespace: --namespace, else the context's, else default."""
    from kubernetes import config

    api = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    namespace = args.namespace
    if namespace is None:
        contexts, current = config.list_kube_config_contexts(config_file=args.kubeconfig)
        chosen = next((c for c in contexts if c.get("name") == args.context), current)
        namespace = (chosen or {}).get("context", {}).get("namespace") or "default"
    return Kube(api), namespace


def add_common_flags(parser: argparse.ArgumentParser, *, on_subcommand: bool) -> None:
    """kubectl's connection and output flags; on a subcommand they leave unset values alone."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if on_subcommand else value

    parser.add_argument("--kubeconfig", default=default(None), help="path to the kubeconfig file")
    parser.add_argument("--context", default=default(None), help="kubeconfig context to use")
    parser.add_argument(
        "-n", "--namespace", default=default(None), help="namespace (default: the context's)"
    )
    parser.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        default=default(False),
        help="status without NAME, top, cost: SmallModels in every namespace",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=("json", "yaml"),
        default=default(None),
        help="status, history, top and cost as json or yaml",
    )


def _cmd_plan(args: argparse.Namespace) -> int:
    from slmfleet.api.errors import SpecError
    from slmfleet.api.parse import parse_gpuclass, parse_smallmodel
    from slmfleet.cli.plan import plan_report
    from slmfleet.planner.hub import offline_unless_reachable

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
    note = offline_unless_reachable()
    if note:
        print(note, file=sys.stderr)
    report = plan_report(model, classes)
    print(report.text)
    return 0 if report.fits else 1


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"kubectl-slm {__version__} (API {API_VERSION})")
    return 0


def build_parser(client: ClientFn = _client) -> argparse.ArgumentParser:
    """The plugin's parser; `client` makes the API client (a fake one in tests)."""
    parser = argparse.ArgumentParser(
        prog="kubectl slm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_flags(parser, on_subcommand=False)
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="the memory plan of a SmallModel on every GPUClass")
    plan.add_argument("name", help="SmallModel name")
    plan.set_defaults(func=_cmd_plan)
    add_rollout_commands(sub, client)
    add_fleet_commands(sub, client)
    version = sub.add_parser("version", help="print the plugin version")
    version.set_defaults(func=_cmd_version)
    for command in sub.choices.values():
        add_common_flags(command, on_subcommand=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kubernetes.config import ConfigException

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigException as err:
        print(f"error: cannot load the kubeconfig: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
