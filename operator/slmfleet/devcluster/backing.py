"""Decide how a kwok pod is backed by a real local process (pure).

kwok marks pods Running without containers. For the pods that matter, the pod backer starts a real
process and forwards the pod's IP and container port to it:

- a vLLM container (image ``*vllm-openai*``) is backed by llm-d-inference-sim: the vLLM arguments the
  simulator understands are passed on, the rest (dtype, quantization, ...) are dropped, and simulator
  knobs given as extra args (``--time-to-first-token``, ``--mode``, ``--failure-injection-rate``) work;
  the simulator's waiting queue is made as long as vLLM's (unbounded, see SIM_WAITING_QUEUE_LENGTH);
- a container that runs one of slmfleet's own modules (command ``python -m``, first argument
  ``slmfleet.*``, as the router Deployment and the weight cache's download Job do) is backed by
  ``python -m <args>``: production manifests need nothing dev-only for it. A pod that does not
  restart (a Job's) ends when its process exits, Succeeded or Failed by the exit status.

Volumes: each claim a container mounts is named with its mount path (``mounts``); the backer
points environment values under a mount path at the claim's directory on this machine. A vLLM
container that loads from a weight cache (``HF_HUB_OFFLINE=1``, ``HF_HUB_CACHE`` on a claim)
names the snapshot it needs (``weights``): the backer starts the simulator only when that
snapshot is complete in the cache, as vLLM would fail without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# vLLM flags whose meaning the simulator shares, and the simulator's own knobs, all taking a value.
SIM_VALUE_FLAGS = frozenset(
    {
        "--served-model-name",
        "--max-num-seqs",
        "--max-model-len",
        "--lora-modules",
        "--max-loras",
        "--max-cpu-loras",
        "--mode",
        "--seed",
        "--time-to-first-token",
        "--time-to-first-token-std-dev",
        "--inter-token-latency",
        "--inter-token-latency-std-dev",
        "--prefill-overhead",
        "--kv-cache-transfer-latency",
        "--failure-injection-rate",
        "--failure-types",
        "--kv-cache-size",
        "--block-size",
        "--max-waiting-queue-length",
    }
)
SIM_BOOL_FLAGS = frozenset({"--enable-kvcache"})

# vLLM has no limit on its waiting queue: a request it cannot schedule yet waits (its time shows
# in vllm:num_requests_waiting and vllm:request_queue_time_seconds); vLLM never answers 429 for
# queueing. The simulator caps its queue (1,000 by default) and answers 429 "waiting requests
# queue is full" beyond it, so a slow canary under load failed requests here that vLLM would have
# served late. As the stand-in for vLLM, every simulator gets a queue longer than all the requests
# the routers can have in flight (their caps: 512 per router pod by default, 20,000 in the
# zero-loss bench); the simulator sizes buffers by it, about 1 MiB more per process. A dev-cluster
# choice only: the engine args the operator renders are vLLM's and carry no such flag. An engine's
# extra args may still set --max-waiting-queue-length (a test that wants the simulator's 429).
SIM_WAITING_QUEUE_LENGTH = 100_000


@dataclass(frozen=True)
class Backing:
    """What to run for one pod: a simulator or a Python module, and which container ports to forward."""

    kind: str  # "sim" or "python"
    args: tuple[str, ...]
    ports: tuple[int, ...]
    env: tuple[tuple[str, str], ...] = ()
    mounts: tuple[tuple[str, str], ...] = ()
    """(mount path, claim name) of each PersistentVolumeClaim the container mounts."""
    runs_once: bool = False
    """The pod does not restart (restartPolicy Never): its process's exit ends it."""
    weights: tuple[str, str, str] | None = None
    """(repo, revision, cache path) of the snapshot a vLLM container loads offline."""
    fetch: tuple[str, str] | None = None
    """(repo, revision) a vLLM container without a weight cache downloads as it starts."""


MULTI_VALUE_FLAGS = frozenset({"--lora-modules"})


def _split_flags(args: Sequence[str]) -> tuple[list[str], list[tuple[str, str | None]]]:
    """Positional arguments, and (flag, value|None) pairs; ``--a=b`` and ``--a b`` both work, and
    a flag in MULTI_VALUE_FLAGS keeps every value up to the next flag (one pair each)."""
    positional: list[str] = []
    flags: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            positional.append(arg)
        elif "=" in arg:
            name, value = arg.split("=", 1)
            flags.append((name, value))
        elif arg in MULTI_VALUE_FLAGS:
            while i + 1 < len(args) and not args[i + 1].startswith("--"):
                flags.append((arg, args[i + 1]))
                i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            flags.append((arg, args[i + 1]))
            i += 1
        else:
            flags.append((arg, None))
        i += 1
    return positional, flags


def _lora_json(module: str) -> str:
    """vLLM takes ``name=path`` or JSON; the simulator only JSON."""
    if module.lstrip().startswith("{"):
        return module
    name, _, path = module.partition("=")
    return json.dumps({"name": name, "path": path})


def sim_args(vllm_args: Sequence[str]) -> tuple[str, ...]:
    """Translate `vllm serve` arguments into llm-d-inference-sim arguments (no --port)."""
    positional, flags = _split_flags(vllm_args)
    if positional and positional[0] == "serve":
        positional = positional[1:]
    model = dict(flags).get("--model") or (positional[0] if positional else "model")
    out: list[str] = ["--model", model]
    loras = [_lora_json(value) for name, value in flags if name == "--lora-modules" and value]
    for name, value in flags:
        if name in SIM_VALUE_FLAGS and name != "--lora-modules" and value is not None:
            out += [name, value]
        elif name in SIM_BOOL_FLAGS and value is None:
            out.append(name)
    if loras:
        out += ["--lora-modules", *loras]
    if not any(name == "--max-waiting-queue-length" for name, _ in flags):
        out += ["--max-waiting-queue-length", str(SIM_WAITING_QUEUE_LENGTH)]
    # No tokenizer can be downloaded here: the simulator must use its dummy tokenizer.
    out.append("--force-dummy-tokenizer")
    return tuple(out)


def _ports(container: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(
        int(p["containerPort"]) for p in container.get("ports") or [] if "containerPort" in p
    )


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "name" in e}


def _runs_slmfleet_module(container: Mapping[str, Any]) -> bool:
    command = list(container.get("command") or [])
    args = [str(a) for a in container.get("args") or []]
    return command == ["python", "-m"] and bool(args) and args[0].startswith("slmfleet.")


def _claim_mounts(
    pod: Mapping[str, Any], container: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim")
    }
    return tuple(
        (str(m["mountPath"]), claims[m["name"]])
        for m in container.get("volumeMounts") or []
        if m.get("name") in claims
    )


def _hub_model(vllm: Sequence[str]) -> tuple[str, str] | None:
    """(repo, revision) when vLLM serves a Hub repo (not a path)."""
    positional, flags = _split_flags(vllm)
    if positional and positional[0] == "serve":
        positional = positional[1:]
    repo = dict(flags).get("--model") or (positional[0] if positional else None)
    if not repo or repo.startswith("/") or repo.count("/") != 1:
        return None
    return repo, dict(flags).get("--revision") or "main"


def _offline_snapshot(vllm: Sequence[str], env: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(repo, revision, cache) when vLLM would load the model offline from HF_HUB_CACHE."""
    cache = env.get("HF_HUB_CACHE")
    model = _hub_model(vllm)
    if env.get("HF_HUB_OFFLINE") != "1" or not cache or model is None:
        return None
    return (*model, cache)


def backing_for(pod: Mapping[str, Any]) -> Backing | None:
    """The process that backs this pod, or None when the pod needs none."""
    once = (pod.get("spec") or {}).get("restartPolicy") == "Never"
    for container in (pod.get("spec") or {}).get("containers") or []:
        image = str(container.get("image", ""))
        env = _env(container)
        ports = _ports(container)
        mounts = _claim_mounts(pod, container)
        if _runs_slmfleet_module(container):
            keep = tuple(
                sorted(
                    (k, v)
                    for k, v in env.items()
                    if k.startswith("SLMFLEET_") or (k.startswith("HF_") and v)
                )
            )
            args = tuple(container.get("args") or ())
            return Backing("python", args, ports, keep, mounts, runs_once=once)
        if "vllm-openai" in image:
            vllm = [*(container.get("command") or [])[2:], *(container.get("args") or [])]
            weights = _offline_snapshot(vllm, env)
            fetch = _hub_model(vllm) if weights is None else None
            return Backing(
                "sim", sim_args(vllm), ports or (8000,), (), mounts, weights=weights, fetch=fetch
            )
    return None
