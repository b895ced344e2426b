"""The vLLM container: image, extra flags, environment and CPU/memory resources.

Flags that a typed SmallModel field controls are refused in extraArgs, so a spec cannot
say one thing in a field and another in a flag.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from slmfleet.api.base import SpecModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import EnvVar, ResourceRequirements

OWNED_FLAGS: dict[str, str] = {
    "--model": "source",
    "--revision": "source.huggingFace.revision",
    "--served-model-name": "servedModelName",
    "--quantization": "quantization",
    "--dtype": "dtype",
    "--kv-cache-dtype": "kvCacheDtype",
    "--max-model-len": "maxModelLen",
    "--max-num-seqs": "maxNumSeqs",
    "--tensor-parallel-size": "tensorParallelSize",
    "--gpu-memory-utilization": "gpuMemoryUtilization",
    "--lora-modules": "loraAdapters",
    "--max-lora-rank": "maxLoraRank",
    "--port": "fixed by the operator",
}
"""vLLM flags the operator sets, and the spec field that controls each."""

OWNED_SHORT_FLAGS = ("-tp", "-q")
"""vLLM's short forms of --tensor-parallel-size and --quantization."""


def _owned_flag_regex() -> str:
    # vLLM accepts underscores for dashes in long flag names: --max_model_len.
    longs = "|".join(f[2:].replace("-", "[-_]") for f in OWNED_FLAGS)
    shorts = "|".join(f[1:] for f in OWNED_SHORT_FLAGS)
    return f"--({longs})(=.*)?|-({shorts}).*"


OWNED_FLAG_REGEX = _owned_flag_regex()
_OWNED_FLAG_RE = re.compile(OWNED_FLAG_REGEX)

EXTRA_ARGS_MESSAGE = (
    "extraArgs must not set flags the operator owns; set the spec field instead: "
    + ", ".join(f"{flag} ({field})" for flag, field in OWNED_FLAGS.items())
    + ", -tp (tensorParallelSize), -q (quantization)"
)


def owned_flag(arg: str) -> str | None:
    """The operator-owned flag ``arg`` sets, or None."""
    if not _OWNED_FLAG_RE.fullmatch(arg):
        return None
    if arg.startswith("--"):
        return arg.split("=", 1)[0].replace("_", "-")
    return next(short for short in OWNED_SHORT_FLAGS if arg.startswith(short))


ExtraArgs = Annotated[
    list[Annotated[str, Field(max_length=1024)]],
    Cel(
        f"self.all(a, !a.matches('^(?:{OWNED_FLAG_REGEX})$'))",
        EXTRA_ARGS_MESSAGE,
        lambda args: not any(owned_flag(a) for a in args),
    ),
]


class EngineSecurityContext(SpecModel):
    """Who the engine and init containers run as, for images that need another user.

    The defaults pass the Pod Security Standard `restricted`: UID/GID 1000, runAsNonRoot, seccomp
    RuntimeDefault, no privilege escalation, every capability dropped. Setting runAsUser 0 (an image
    that must run as root) lifts runAsNonRoot, and such pods are refused in `restricted` namespaces.
    """

    CEL_RULES = (
        Cel(
            "!(has(self.runAsUser) && self.runAsUser == 0"
            " && has(self.runAsNonRoot) && self.runAsNonRoot)",
            "runAsUser 0 (root) contradicts runAsNonRoot true",
            lambda s: not (s.run_as_user == 0 and s.run_as_non_root),
        ),
    )

    run_as_user: int | None = Field(
        None, ge=0, le=2147483647, description="UID of the containers (default 1000; 0 is root)."
    )
    run_as_group: int | None = Field(
        None, ge=0, le=2147483647, description="GID of the containers (default 1000)."
    )
    fs_group: int | None = Field(
        None,
        ge=0,
        le=2147483647,
        description="Group that owns the mounted volumes (default 1000).",
    )
    run_as_non_root: bool | None = Field(
        None,
        description="Refuse to start as root (default true, false when runAsUser is 0).",
    )


class EngineSpec(SpecModel):
    """How the vLLM container runs, beyond what the typed fields decide."""

    image: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="vLLM OpenAI-server image; the operator's default when unset.",
    )
    extra_args: ExtraArgs = Field(
        default_factory=list,
        max_length=64,
        description=(
            "Additional vllm serve flags, for example --enable-prefix-caching or "
            "--max-num-batched-tokens=8192. Flags that a typed field controls (--model, "
            "--revision, --served-model-name, --quantization, --dtype, --kv-cache-dtype, "
            "--max-model-len, --max-num-seqs, --tensor-parallel-size, "
            "--gpu-memory-utilization, --lora-modules, --max-lora-rank) and --port are "
            "refused."
        ),
    )
    env: list[EnvVar] = Field(
        default_factory=list,
        max_length=64,
        description="Extra environment variables for the engine container.",
    )
    resources: ResourceRequirements | None = Field(
        None, description="CPU and memory for the engine container; GPUs come from the GPUClass."
    )
    security_context: EngineSecurityContext | None = Field(
        None,
        description=(
            "User, group and fsGroup of the engine pods when the image needs others than the "
            "defaults (UID/GID 1000, non-root); see docs/api.md."
        ),
    )
