"""Where an EvalSuite's dataset lives beyond its inline cases: a ConfigMap key or a file on a
PersistentVolumeClaim, one JSON case per line (JSONL)."""

from __future__ import annotations

from pydantic import Field

from slmfleet.api.base import SpecModel
from slmfleet.api.cel import Cel, exactly_one
from slmfleet.api.common import KeySelector, ObjectName

MAX_DATASET_CASES = 5000


def _climbs_out(path: str) -> bool:
    return path == ".." or path.startswith("../") or path.endswith("/..") or "/../" in path


class PvcFile(SpecModel):
    """A file on a PersistentVolumeClaim of the suite's namespace."""

    CEL_RULES = (
        Cel(
            "!(self.path == '..' || self.path.startsWith('../') || self.path.endsWith('/..') "
            "|| self.path.contains('/../'))",
            "path stays inside the claim (no '..' segment)",
            lambda s: not _climbs_out(s.path),
        ),
    )

    claim_name: ObjectName = Field(description="Name of the PersistentVolumeClaim.")
    path: str = Field(
        pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$",
        max_length=1024,
        description="Path of the JSONL file inside the claim (relative).",
    )


class CasesSource(SpecModel):
    """Where a dataset of cases lives, one JSON case per line (JSONL)."""

    CEL_RULES = (
        exactly_one("configMapKeyRef", "pvcFile", "a dataset is one of configMapKeyRef or pvcFile"),
    )

    config_map_key_ref: KeySelector | None = Field(
        None,
        description=(
            f"A key of a ConfigMap in the suite's namespace; each line an EvalCase in JSON, up to "
            f"{MAX_DATASET_CASES} cases (a ConfigMap holds at most 1 MiB)."
        ),
    )
    pvc_file: PvcFile | None = Field(
        None,
        description=(
            f"A JSONL file on a PersistentVolumeClaim, for datasets beyond a ConfigMap's 1 MiB "
            f"(up to {MAX_DATASET_CASES} cases): a loader Job mounts the claim read-only and "
            f"hands the file to the operator, which keeps the cases in memory."
        ),
    )
