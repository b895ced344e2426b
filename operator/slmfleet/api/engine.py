"""The vLLM container: image, extra flags, environment and CPU/memory resources.

Flags that a typed SmallModel field controls are refused in extraArgs, so a spec cannot
say one thing in a field and another in a flag.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

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
    "--device-memory-utilization": "gpuMemoryUtilization",
    "--enable-lora": "loraAdapters",
    "--no-enable-lora": "loraAdapters",
    "--disable-lora": "loraAdapters",
    "--max-loras": "loraAdapters",
    "--lora-modules": "loraAdapters",
    "--max-lora-rank": "maxLoraRank",
    "--shutdown-timeout": "engine.drainTimeoutSeconds",
    "--port": "fixed by the operator",
}
"""vLLM flags the operator sets (with their aliases), and the spec field that controls each.

vLLM's parser takes ``--device-memory-utilization`` for ``--gpu-memory-utilization`` and pairs
``--enable-lora`` with ``--no-enable-lora`` and ``--disable-lora`` (engine/arg_utils.py,
utils/argparse_utils.py).
"""

SHORTEST_ABBREVIATIONS: dict[str, str] = {
    "--revision": "--rev",
    "--served-model-name": "--ser",
    "--dtype": "--dt",
    "--max-model-len": "--max-m",
    "--max-num-seqs": "--max-num-se",
    "--tensor-parallel-size": "--te",
    "--gpu-memory-utilization": "--gp",
    "--device-memory-utilization": "--device-m",
    "--enable-lora": "--enable-lor",
    "--no-enable-lora": "--no-",
    "--disable-lora": "--disable-lor",
    "--lora-modules": "--lora-m",
    "--max-lora-rank": "--max-lora-r",
    "--port": "--por",
}
"""The shortest prefix of each owned flag that no other vLLM 0.33 `serve` flag starts with.

vLLM's parser leaves argparse's allow_abbrev on (utils/argparse_utils.py), so such a prefix
(``--gpu-memory-util=0.99``) reaches the engine as the owned flag and is refused too. A shorter
prefix is ambiguous and vLLM itself rejects it, so it stays free for other tools' flags (the
simulator's ``--mode``). Flags absent here (``--model``, ``--quantization``, ``--kv-cache-dtype``,
``--max-loras``) are prefixes of other flags and only match exactly. Computed from the flags
in engine/arg_utils.py and entrypoints/common/cli_args.py.
"""

OWNED_SHORT_FLAGS = ("-tp", "-q")
"""vLLM's short forms of --tensor-parallel-size and --quantization."""


def _chars(text: str) -> list[str]:
    return ["[-_]" if c == "-" else re.escape(c) for c in text]


def _abbreviations_regex(flag: str) -> str:
    """RE2 regex of ``flag`` without its dashes and of its unambiguous abbreviations."""
    shortest = SHORTEST_ABBREVIATIONS.get(flag, flag)
    nested = ""
    for char in reversed(_chars(flag[len(shortest) :])):
        nested = f"(?:{char}{nested})?"
    return "".join(_chars(shortest[2:])) + nested


def _owned_flag_regex() -> str:
    # vLLM accepts underscores for dashes in long flag names (--max_model_len) and
    # unambiguous prefix abbreviations (--gpu-memory-util).
    longs = "|".join(_abbreviations_regex(f) for f in OWNED_FLAGS)
    shorts = "|".join(f[1:] for f in OWNED_SHORT_FLAGS)
    return f"--(?:{longs})(?:=.*)?|-(?:{shorts}).*"


OWNED_FLAG_REGEX = _owned_flag_regex()
_OWNED_FLAG_RE = re.compile(OWNED_FLAG_REGEX)

EXTRA_ARGS_MESSAGE = (
    "extraArgs must not set flags the operator owns, their aliases or unambiguous "
    "abbreviations; set the spec field instead: "
    + ", ".join(f"{flag} ({field})" for flag, field in OWNED_FLAGS.items())
    + ", -tp (tensorParallelSize), -q (quantization)"
)


def _long_name(arg: str) -> str:
    return arg.split("=", 1)[0].replace("_", "-")


def owned_flag(arg: str) -> str | None:
    """The operator-owned flag ``arg`` sets (itself, an alias or an abbreviation), or None."""
    if not _OWNED_FLAG_RE.fullmatch(arg):
        return None
    if arg.startswith("--"):
        name = _long_name(arg)
        if name in OWNED_FLAGS:
            return name
        return next(
            f
            for f in OWNED_FLAGS
            if f.startswith(name) and name.startswith(SHORTEST_ABBREVIATIONS.get(f, f))
        )
    return next(short for short in OWNED_SHORT_FLAGS if arg.startswith(short))


def extra_arg_value(args: list[str], flag: str) -> str | None:
    """The value extraArgs give ``flag`` (``--flag=V`` or ``--flag V``, dashes or
    underscores), the last one winning; None when unset."""
    value = None
    for i, arg in enumerate(args):
        if not arg.startswith("--") or _long_name(arg) != flag:
            continue
        if "=" in arg:
            value = arg.split("=", 1)[1]
        elif i + 1 < len(args):
            value = args[i + 1]
    return value


ExtraArgs = Annotated[
    list[Annotated[str, Field(max_length=1024)]],
    Cel(
        f"self.all(a, !a.matches('^(?:{OWNED_FLAG_REGEX})$'))",
        EXTRA_ARGS_MESSAGE,
        lambda args: not any(owned_flag(a) for a in args),
    ),
]


QuantizationPlugin = Literal["bitsandbytes", "gguf"]


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
    quantization_plugins: list[QuantizationPlugin] = Field(
        default_factory=list,
        max_length=2,
        description=(
            "Out-of-tree vLLM quantization plugins the image includes. vLLM 0.33 serves "
            "bitsandbytes and gguf checkpoints only through their plugins, so quantization "
            "bitsandbytes or gguf needs an image set here that declares its plugin; the "
            "operator's default image has none."
        ),
    )
    extra_args: ExtraArgs = Field(
        default_factory=list,
        max_length=64,
        description=(
            "Additional vllm serve flags, for example --enable-prefix-caching or "
            "--max-num-batched-tokens=8192. Flags that a typed field controls (--model, "
            "--revision, --served-model-name, --quantization, --dtype, --kv-cache-dtype, "
            "--max-model-len, --max-num-seqs, --tensor-parallel-size, "
            "--gpu-memory-utilization, --enable-lora, --max-loras, --lora-modules, "
            "--max-lora-rank, --shutdown-timeout), their aliases and unambiguous abbreviations, and --port are refused."
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
    drain_timeout_seconds: int = Field(
        30,
        ge=0,
        le=3600,
        description=(
            "How long a terminating engine pod lets its requests in flight finish before it "
            "stops (vLLM --shutdown-timeout; 0 aborts them). The pod's grace period is this "
            "plus the preStop wait and time to tear down. It also bounds each stage of a leaving "
            "revision's drain (routers moved away, their requests finished; see "
            "status.draining); 0 scales a leaving revision down at once."
        ),
    )

    def plugins(self) -> tuple[str, ...]:
        """The quantization plugins the engine has: those declared, when an image is set."""
        return tuple(self.quantization_plugins) if self.image is not None else ()
