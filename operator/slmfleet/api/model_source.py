"""Where weights come from: a pinned Hugging Face repo or a path on a PersistentVolumeClaim.

Used for a SmallModel's base model and for each of its LoRA adapters.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from slmfleet.api.base import SpecModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import ObjectName, SecretKeyRef

HF_REPO_PATTERN = (
    r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"
)
REVISION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
PVC_PATH_PATTERN = r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"
SERVED_NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"
MOVING_REFS = ("main", "master", "HEAD")
MOVING_REF_PREFIXES = ("refs/heads/", "refs/pr/")


def _is_pinned(revision: str) -> bool:
    return revision not in MOVING_REFS and not revision.startswith(MOVING_REF_PREFIXES)


PinnedRevision = Annotated[
    str,
    Cel(
        "!(self in ['main', 'master', 'HEAD'])"
        " && !self.startsWith('refs/heads/') && !self.startsWith('refs/pr/')",
        "revision must pin a commit sha or a tag, not a branch such as main",
        _is_pinned,
    ),
]

RelativePath = Annotated[
    str,
    Cel(
        "!('/' + self + '/').contains('/../')",
        "path must stay inside the volume: '..' is not allowed",
        lambda p: ".." not in p.split("/"),
    ),
]

ServedName = Annotated[str, Field(pattern=SERVED_NAME_PATTERN, min_length=1, max_length=63)]
"""A name clients send as the OpenAI ``model`` field: lowercase DNS-like, at most 63 chars."""


class HuggingFaceSource(SpecModel):
    """A Hugging Face Hub repository pinned to one revision."""

    repo: str = Field(
        pattern=HF_REPO_PATTERN,
        max_length=193,
        description="Repository id as org/name, for example Qwen/Qwen2.5-3B-Instruct.",
    )
    revision: PinnedRevision = Field(
        pattern=REVISION_PATTERN,
        max_length=255,
        description=(
            "Commit sha (40 hex digits, preferred) or tag to serve. Branches such as main "
            "move under you and are refused: pin what you validated."
        ),
    )
    token_secret_ref: SecretKeyRef | None = Field(
        None,
        description="Secret key holding a Hugging Face token, for gated or private repos.",
    )


class PVCSource(SpecModel):
    """Weights already present on a PersistentVolumeClaim in the model's namespace."""

    claim_name: ObjectName = Field(description="Name of the PersistentVolumeClaim.")
    path: RelativePath = Field(
        pattern=PVC_PATH_PATTERN,
        max_length=1024,
        description=(
            "Directory inside the volume holding config.json and the weights, relative to "
            "the volume root; use . for the root itself."
        ),
    )


class ModelSource(SpecModel):
    """Exactly one of huggingFace or pvc."""

    CEL_RULES = (
        Cel(
            "has(self.huggingFace) != has(self.pvc)",
            "source must set exactly one of huggingFace or pvc",
            lambda s: (s.hugging_face is None) != (s.pvc is None),
        ),
    )

    hugging_face: HuggingFaceSource | None = Field(
        None, description="Download from the Hugging Face Hub at a pinned revision."
    )
    pvc: PVCSource | None = Field(None, description="Load from a PersistentVolumeClaim.")


class LoraAdapter(SpecModel):
    """A LoRA adapter served next to the base model under its own name."""

    name: ServedName = Field(
        description="Model name clients request to use this adapter; unique in the model."
    )
    source: ModelSource = Field(description="Where the adapter's weights come from.")
