"""The download Job's process: ``python -m slmfleet.weights.download``.

It runs huggingface_hub's ``snapshot_download`` into the cache volume (the Hugging Face cache
layout, which vLLM reads with ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE=1``), fetching only the
files the engine needs, with the token in ``HF_TOKEN`` and the Hub at ``HF_ENDPOINT``. A run
after an interrupted one keeps every file already complete: only the missing ones are fetched.
While it runs, GET /progress on ``--port`` answers bytes and files done and to do (the operator
reads it into the SmallModel's status).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from pathlib import Path

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import filter_repo_objects  # type: ignore[attr-defined]  # public, re-exported lazily

from slmfleet.weights.names import MOUNT_PATH, PROGRESS_PORT
from slmfleet.weights.progress import Progress, ProgressServer, scan

log = logging.getLogger("slmfleet.weights.download")
TERMINATION_LOG = Path("/dev/termination-log")


def _totals(repo: str, revision: str, patterns: list[str]) -> tuple[int, int]:
    """Bytes and files the snapshot will hold, from the Hub's file listing."""
    files = [
        f
        for f in HfApi().list_repo_tree(repo, revision=revision, recursive=True)
        if isinstance(f, RepoFile)
    ]
    wanted = set(filter_repo_objects([f.path for f in files], allow_patterns=patterns))
    chosen = [f for f in files if f.path in wanted]
    return sum(f.size for f in chosen), len(chosen)


def _report_failure(message: str) -> None:
    """The reason, where Kubernetes shows it (the container's termination message)."""
    with contextlib.suppress(OSError):
        TERMINATION_LOG.write_text(message[-4000:])


def download(repo: str, revision: str, patterns: list[str], cache_dir: Path, port: int) -> int:
    progress = Progress()
    server = ProgressServer(progress, port).start()
    stop = threading.Event()
    try:
        total_bytes, total_files = _totals(repo, revision, patterns)
        progress.set_totals(total_bytes, total_files)

        def watch() -> None:
            while not stop.wait(0.5):
                progress.update(*scan(cache_dir, repo, progress.started))

        threading.Thread(target=watch, daemon=True).start()
        path = snapshot_download(
            repo, revision=revision, allow_patterns=patterns, cache_dir=str(cache_dir)
        )
        stop.set()
        progress.finish(*scan(cache_dir, repo, progress.started))
        log.info("snapshot of %s@%s complete at %s", repo, revision, path)
        return 0
    except Exception as err:  # report any failure as the Job's reason, then fail the pod
        stop.set()
        log.error("download of %s@%s failed: %s", repo, revision, err)
        _report_failure(f"{type(err).__name__}: {err}")
        return 1
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slmfleet.weights.download")
    parser.add_argument("--port", type=int, default=PROGRESS_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    repo = os.environ["SLMFLEET_WEIGHTS_REPO"]
    revision = os.environ["SLMFLEET_WEIGHTS_REVISION"]
    patterns = [p for p in os.environ.get("SLMFLEET_WEIGHTS_PATTERNS", "").split(",") if p]
    cache_dir = Path(os.environ.get("SLMFLEET_WEIGHTS_DIR", MOUNT_PATH))
    return download(repo, revision, patterns, cache_dir, args.port)


if __name__ == "__main__":
    sys.exit(main())
