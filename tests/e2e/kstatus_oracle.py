"""The real kstatus verdict of an object (hack/tools/kstatus: cli-utils' status.Compute), and the
recorded objects in tests/data/kstatus/ that unit tests (and other tools' health checks) reuse."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slmfleet.devcluster import tools
from slmfleet.devcluster.manifests import repo_root

RECORDED = repo_root() / "tests" / "data" / "kstatus"
RECORD_ENV = "SLMFLEET_RECORD_KSTATUS"  # "1": write what the e2e test sees into RECORDED
VOLATILE = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "annotations")


def kstatus(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the library Flux uses says about ``obj``: status (Current, InProgress, Failed, ...)
    and message."""
    proc = subprocess.run(
        [str(tools.require("kstatus"))],
        input=json.dumps(obj),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"kstatus failed: {proc.stderr}"
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    return dict(json.loads(lines[0]))


def stable_copy(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without what changes from run to run and says nothing about its health."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE}
    meta["namespace"] = "default"
    return {**obj, "metadata": meta}


def record(
    state: str, obj: Mapping[str, Any], verdict: Mapping[str, Any], folder: Path = RECORDED
) -> Path | None:
    """Save the object and its verdict as <folder>/<state>.json (tests/data/kstatus/ by
    default), when asked to."""
    if os.environ.get(RECORD_ENV) != "1":
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{state}.json"
    judged = {"status": verdict["status"], "message": verdict.get("message", "")}
    entry = {"state": state, "kstatus": judged, "object": stable_copy(obj)}
    path.write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
    return path
