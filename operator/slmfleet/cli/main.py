"""`slmfleet`: run the operator, build the local tools, boot the demo fleet, plan memory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from slmfleet import __version__


def _cmd_run(args: argparse.Namespace) -> int:
    from slmfleet.main import run_operator

    return run_operator(
        namespaces=args.namespace,
        all_namespaces=args.all_namespaces,
        liveness=args.liveness,
        verbose=args.verbose,
        metrics_address=args.metrics,
    )


def _cmd_release(args: argparse.Namespace) -> int:
    from kubernetes import config

    from slmfleet.cli.finalizers import release_finalizers
    from slmfleet.k8s import Kube

    release_finalizers(Kube(config.new_client_from_config()))
    return 0


def _cmd_tools(args: argparse.Namespace) -> int:
    from slmfleet.devcluster import tools
    from slmfleet.devcluster.prometheus import prometheus_binary

    try:
        tools.ensure(args.only or None)
        prometheus_binary()
    except tools.ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from slmfleet.devcluster.demo import run_demo

    return run_demo(exit_after=args.exit_after, workdir=args.workdir)


def _cmd_plan(args: argparse.Namespace) -> int:
    """Plan every SmallModel in the files against the GPUClasses in the same files, the ones given
    with --gpuclasses, the cluster's (--cluster), or else the built-in ones."""
    from pathlib import Path

    import yaml

    from slmfleet.api.errors import SpecError
    from slmfleet.api.parse import parse_smallmodel
    from slmfleet.cli.plan import builtin_gpuclass_docs, gpuclass_specs, plan_report
    from slmfleet.planner.hub import offline_unless_reachable

    docs = []
    for name in [*args.files, *(args.gpuclasses or [])]:
        try:
            docs += [d for d in yaml.safe_load_all(Path(name).read_text()) if d]
        except (OSError, yaml.YAMLError) as err:
            print(f"error: cannot read {name}: {err}", file=sys.stderr)
            return 2
    if args.cluster:
        docs += _cluster_gpuclasses(args)
    elif not any(d.get("kind") == "GPUClass" for d in docs):
        print(
            "GPUClasses: the built-in ones (give --gpuclasses FILE or --cluster)", file=sys.stderr
        )
        docs += builtin_gpuclass_docs()
    try:
        classes = gpuclass_specs(docs)
        models = [parse_smallmodel(d) for d in docs if d.get("kind") == "SmallModel"]
    except SpecError as err:
        print(f"error: invalid object:\n{err}", file=sys.stderr)
        return 2
    if not models:
        print("error: no SmallModel in the files given", file=sys.stderr)
        return 2
    note = offline_unless_reachable()
    if note:
        print(note, file=sys.stderr)
    all_fit = True
    for model in models:
        report = plan_report(model, classes)
        print(report.text, end="\n\n")
        all_fit = all_fit and report.fits
    return 0 if all_fit else 1


def _cluster_gpuclasses(args: argparse.Namespace) -> list[dict[str, Any]]:
    from kubernetes import config

    from slmfleet.k8s import Kube

    api = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    return Kube(api).list("GPUClass")


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"slmfleet {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slmfleet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator against the current kubeconfig")
    run.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch only this namespace (repeatable); default: all namespaces",
    )
    run.add_argument("-A", "--all-namespaces", action="store_true")
    run.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        help="liveness endpoint URL (kopf probes)",
    )
    run.add_argument(
        "--metrics",
        default="",
        metavar="HOST:PORT",
        help="serve the operator's Prometheus metrics at http://HOST:PORT/metrics; empty: off",
    )
    run.add_argument("-v", "--verbose", action="store_true")
    run.set_defaults(func=_cmd_run)

    dev = sub.add_parser("dev", help="the local cluster used by tests and the demo")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    tools_p = dev_sub.add_parser("tools", help="build the control-plane binaries that are missing")
    tools_p.add_argument(
        "--only", action="append", help="kube, kwok, sim, helm or gateway-api (repeatable)"
    )
    tools_p.set_defaults(func=_cmd_tools)
    demo = dev_sub.add_parser(
        "demo", help="boot a local fleet with fake GPU nodes and the operator"
    )
    demo.add_argument(
        "--exit-after",
        type=float,
        default=None,
        help="stop once the story is told or after this many seconds, whichever is first; "
        "exit 1 if the story did not finish (default: run until Ctrl-C)",
    )
    demo.add_argument("--workdir", default=None, help="keep the cluster's files here")
    demo.set_defaults(func=_cmd_demo)

    plan = sub.add_parser("plan", help="say whether the SmallModels in FILE fit their GPUClass")
    plan.add_argument(
        "files",
        nargs="+",
        metavar="FILE.yaml",
        help="YAML with SmallModels (and GPUClasses, or give --gpuclasses)",
    )
    plan.add_argument(
        "--gpuclasses",
        action="append",
        metavar="FILE.yaml",
        help="more YAML with GPUClasses (repeatable); default: the built-in GPUClasses",
    )
    plan.add_argument(
        "--cluster", action="store_true", help="use the GPUClasses of the current cluster"
    )
    plan.add_argument("--kubeconfig", default=None, help="kubeconfig for --cluster")
    plan.add_argument("--context", default=None, help="kubeconfig context for --cluster")
    plan.set_defaults(func=_cmd_plan)

    release = sub.add_parser(
        "release-finalizers",
        help="after uninstalling the operator: remove its finalizer from SmallModels and GPUClasses",
    )
    release.set_defaults(func=_cmd_release)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
