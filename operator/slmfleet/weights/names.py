"""What identifies a weight cache and what goes into it (pure): name, labels, files, size."""

from __future__ import annotations

import hashlib

from slmfleet import GROUP

WEIGHTS_LABEL = f"{GROUP}/weights-cache"
"""On the cache's PVC, its download Job and pods, and on engine Deployments that mount it."""
REPO_ANNOTATION = f"{GROUP}/weights-repo"
REVISION_ANNOTATION = f"{GROUP}/weights-revision"
UNUSED_SINCE_ANNOTATION = f"{GROUP}/unused-since"
GRACE_ANNOTATION = f"{GROUP}/unused-grace-seconds"
CACHE_NODE_ANNOTATION = f"{GROUP}/cache-node"
"""On a ReadWriteOnce cache's claim: the node its download ran on (empty: it could not be told)."""
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
"""Set by the scheduler on a claim bound when its first pod was scheduled (WaitForFirstConsumer)."""

MOUNT_PATH = "/weights"
"""Where the cache volume is mounted, in the download Job and in engine pods (HF_HUB_CACHE)."""
PROGRESS_PORT = 8080
"""The download process serves its progress as JSON at GET /progress on this port."""

# The files vLLM reads: config, tokenizer, generation config, weights. Optimizer states,
# original PyTorch checkpoints, ONNX/TF/Flax exports and images are left out.
ENGINE_PATTERNS: tuple[str, ...] = (
    "*.json",
    "*.safetensors",
    "*.model",
    "*.tiktoken",
    "*.txt",
    "*.py",
    "*.jinja",
)
GGUF_PATTERNS: tuple[str, ...] = ("*.json", "*.gguf", "*.model", "*.txt", "*.jinja")

TOKENIZER_CONFIG_BYTES = 64 * 1024**2
"""Room for tokenizer, config and chat template files next to the weights."""
HEADROOM_DIVISOR = 10
"""A tenth more than the planned weights: checkpoints stored in a wider dtype, index files."""


def cache_name(repo: str, revision: str) -> str:
    """``weights-<hash>``: the same for every model and revision of one (repo, revision)."""
    digest = hashlib.sha256(f"{repo}@{revision}".encode()).hexdigest()[:12]
    return f"weights-{digest}"


def allow_patterns(quantization: str) -> tuple[str, ...]:
    """The files the download fetches for an engine of this quantization."""
    return GGUF_PATTERNS if quantization == "gguf" else ENGINE_PATTERNS


def needed_bytes(weights_bytes: int) -> int:
    """Volume bytes a snapshot needs: the planned weights, headroom, tokenizer and config."""
    return weights_bytes + weights_bytes // HEADROOM_DIVISOR + TOKENIZER_CONFIG_BYTES


def size_quantity(nbytes: int) -> str:
    """Bytes rounded up to whole MiB, as a Kubernetes quantity."""
    return f"{max(1, -(-nbytes // 1024**2))}Mi"
