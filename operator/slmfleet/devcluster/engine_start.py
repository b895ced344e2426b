"""Start a simulated engine the way vLLM starts without a weight cache: download the snapshot
from the Hub first (into the pod's own directory), then serve.

``python -m slmfleet.devcluster.engine_start --endpoint URL --repo R --revision V --cache DIR --
SIMULATOR ARGS...``: the pod backer runs this for an engine pod when the local cluster has a Hub
(stand-in), so a cold start without the cache pays for its download as it would on a cluster.
"""

from __future__ import annotations

import argparse
import os
import sys

from slmfleet.weights.names import ENGINE_PATTERNS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slmfleet.devcluster.engine_start")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"]
    from huggingface_hub import snapshot_download  # after HF_HUB_OFFLINE is read from the env

    snapshot_download(
        args.repo,
        revision=args.revision,
        cache_dir=args.cache,
        allow_patterns=list(ENGINE_PATTERNS),
        endpoint=args.endpoint,
    )
    os.execv(command[0], command)
    return 1


if __name__ == "__main__":
    sys.exit(main())
