"""The vLLM container of a SmallModel: `vllm serve` arguments, environment and volumes (pure).

Every flag the operator owns comes from a typed spec field or the memory plan; the user's
``engine.extraArgs`` go last and can never repeat an owned flag (the API refuses that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slmfleet.api.model_source import ModelSource
from slmfleet.api.smallmodel import SmallModelSpec
from slmfleet.builders import weight_cache
from slmfleet.builders.pod_security import ADAPTER_CACHE_BYTES, engine_cache_bytes, gib
from slmfleet.planner import MemoryPlan
from slmfleet.weights.names import MOUNT_PATH, cache_name

PORT = 8000
# On deletion the pod first waits this long (preStop) so that Services, gateways and routers stop
# sending to it; then vLLM gets SIGTERM and drains for engine.drainTimeoutSeconds.
PRESTOP_SLEEP_SECONDS = 5
# After the drain vLLM still shuts its engine down and frees the GPU.
TEARDOWN_SECONDS = 10
# The engine runs as a non-root user the image may not know: its home (and with it the Hugging
# Face cache and vLLM's compile caches) is a writable emptyDir of bounded size.
HOME_DIR = "/home/vllm"
HF_HOME = f"{HOME_DIR}/.cache/huggingface"
MODELS_DIR = "/models"
ADAPTERS_DIR = "/adapters"


@dataclass(frozen=True)
class Mount:
    """A volume and where the engine container sees it."""

    volume: dict[str, Any]
    mount_path: str
    read_only: bool = False


def _pvc_volume(claim: str) -> dict[str, Any]:
    return {"name": f"pvc-{claim}", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}


def model_location(source: ModelSource) -> str:
    """What `vllm serve` loads: the Hugging Face repo id, or the path on the mounted claim."""
    if source.hugging_face is not None:
        return source.hugging_face.repo
    assert source.pvc is not None  # the API requires exactly one source
    return f"{MODELS_DIR}/{source.pvc.claim_name}/{source.pvc.path}"


def adapter_location(name: str, source: ModelSource) -> str:
    """Where a LoRA adapter lives in the container: fetched into /adapters, or on a claim."""
    if source.hugging_face is not None:
        return f"{ADAPTERS_DIR}/{name}"
    assert source.pvc is not None
    return f"{MODELS_DIR}/{source.pvc.claim_name}/{source.pvc.path}"


def engine_args(spec: SmallModelSpec, served_name: str, plan: MemoryPlan) -> list[str]:
    """`vllm serve` arguments (the image's entrypoint is `vllm serve`)."""
    args = [model_location(spec.source)]
    if spec.source.hugging_face is not None:
        args += ["--revision", spec.source.hugging_face.revision]
    args += ["--served-model-name", served_name, "--port", str(PORT)]
    args += ["--shutdown-timeout", str(spec.engine.drain_timeout_seconds)]
    if spec.quantization not in ("none", "gguf"):
        args += ["--quantization", spec.quantization]
    if plan.dtype != "auto":
        args += ["--dtype", plan.dtype]
    if plan.kv_cache_dtype not in ("auto", plan.dtype):  # vLLM has no float32 KV dtype
        args += ["--kv-cache-dtype", plan.kv_cache_dtype]
    args += [
        "--max-model-len", str(plan.max_model_len),
        "--max-num-seqs", str(spec.max_num_seqs),
        "--tensor-parallel-size", str(plan.tensor_parallel_size),
        "--gpu-memory-utilization", f"{plan.gpu_memory_utilization:.2f}",
    ]  # fmt: skip
    if plan.pass_batched_tokens:  # vLLM refuses max_num_seqs above max_num_batched_tokens
        args += ["--max-num-batched-tokens", str(plan.max_num_batched_tokens)]
    if spec.lora_adapters:
        args += ["--enable-lora", "--max-loras", str(len(spec.lora_adapters))]
        if spec.max_lora_rank is not None:
            args += ["--max-lora-rank", str(spec.max_lora_rank)]
        args += ["--lora-modules"]
        args += [f"{a.name}={adapter_location(a.name, a.source)}" for a in spec.lora_adapters]
    return [*args, *spec.engine.extra_args]


def termination(spec: SmallModelSpec) -> tuple[dict[str, Any], int]:
    """The container's preStop wait and the pod's termination grace period (seconds).

    An exec ``sleep`` (the image has one), not the lifecycle ``sleep`` action, which is off by
    default before Kubernetes 1.30.
    """
    lifecycle = {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_SLEEP_SECONDS)]}}}
    grace = PRESTOP_SLEEP_SECONDS + spec.engine.drain_timeout_seconds + TEARDOWN_SECONDS
    return lifecycle, grace


def engine_env(spec: SmallModelSpec) -> list[dict[str, Any]]:
    """Environment: home, HF cache and token, no usage stats, then the user's variables."""
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": HOME_DIR},
        # getpass.getuser() (torch's compile cache) fails for a UID without a passwd entry.
        {"name": "USER", "value": "vllm"},
        {"name": "HF_HOME", "value": HF_HOME},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
    ]
    if spec.cache is not None:
        env += weight_cache.engine_env()
    hf = spec.source.hugging_face
    if hf is not None and hf.token_secret_ref is not None:
        ref = hf.token_secret_ref
        env.append(
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        )
    env += [e.to_body() for e in spec.engine.env]
    return env


def fetch_env(spec: SmallModelSpec) -> list[dict[str, Any]]:
    """The adapter fetch step's environment: the engine's, but online (adapters are not cached)."""
    cached = {e["name"] for e in weight_cache.engine_env()}
    return [e for e in engine_env(spec) if e["name"] not in cached]


def _hf_adapters(spec: SmallModelSpec) -> int:
    return sum(1 for a in spec.lora_adapters if a.source.hugging_face is not None)


def _downloads_weights(spec: SmallModelSpec) -> bool:
    """Whether the engine fetches the weights itself (into its emptyDir): not from a cache."""
    return spec.source.hugging_face is not None and spec.cache is None


def _weight_cache_mount(spec: SmallModelSpec) -> Mount | None:
    """The shared weight cache, read-only: a download volume, or an OCI image volume."""
    hf = spec.source.hugging_face
    if spec.cache is None or hf is None:
        return None
    image = spec.cache.image
    volume = (
        weight_cache.image_volume(image.reference, image.pull_policy)
        if image is not None
        else weight_cache.engine_volume(cache_name(hf.repo, hf.revision))
    )
    return Mount(volume, MOUNT_PATH, read_only=True)


def disk_bytes(spec: SmallModelSpec, weights_bytes: int) -> int:
    """What the engine's disk-backed emptyDirs may hold: its ephemeral-storage request."""
    cache = engine_cache_bytes(weights_bytes, _downloads_weights(spec))
    return cache + _hf_adapters(spec) * ADAPTER_CACHE_BYTES


def engine_mounts(spec: SmallModelSpec, shm_size: str, weights_bytes: int = 0) -> list[Mount]:
    """Home and HF cache, /dev/shm as memory, read-only claims for PVC weights and adapters.

    Every emptyDir has a size limit: the cache holds the downloaded weights, so its limit
    follows the plan's weight bytes.
    """
    cache = engine_cache_bytes(weights_bytes, _downloads_weights(spec))
    mounts = [
        Mount({"name": "cache", "emptyDir": {"sizeLimit": gib(cache)}}, HOME_DIR),
        Mount(
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}}, "/dev/shm"
        ),
    ]
    claims = [spec.source.pvc.claim_name] if spec.source.pvc is not None else []
    claims += [a.source.pvc.claim_name for a in spec.lora_adapters if a.source.pvc is not None]
    for claim in dict.fromkeys(claims):
        mounts.append(Mount(_pvc_volume(claim), f"{MODELS_DIR}/{claim}", read_only=True))
    shared = _weight_cache_mount(spec)
    if shared is not None:
        mounts.append(shared)
    adapters = _hf_adapters(spec)
    if adapters:
        limit = gib(adapters * ADAPTER_CACHE_BYTES)
        mounts.append(Mount({"name": "adapters", "emptyDir": {"sizeLimit": limit}}, ADAPTERS_DIR))
    return mounts


def adapter_fetch_command(spec: SmallModelSpec) -> list[str] | None:
    """An init step that downloads Hugging Face adapters at their pinned revisions, or None."""
    steps = []
    for adapter in spec.lora_adapters:
        hf = adapter.source.hugging_face
        if hf is not None:
            steps.append(
                f"hf download {hf.repo} --revision {hf.revision} "
                f"--local-dir {ADAPTERS_DIR}/{adapter.name}"
            )
    if not steps:
        return None
    return ["/bin/sh", "-ec", " && ".join(steps)]
