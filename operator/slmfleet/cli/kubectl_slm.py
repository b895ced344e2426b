"""`kubectl slm`: a kubectl plugin for slmfleet (installed as the `kubectl-slm` executable)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from slmfleet import API_VERSION, __version__


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
    version = sub.add_parser("version", help="print the plugin version")
    version.set_defaults(func=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
