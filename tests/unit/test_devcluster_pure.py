"""Pure parts of the local cluster: node manifests, pod backing decisions, Prometheus config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slmfleet.devcluster.backing import SIM_WAITING_QUEUE_LENGTH, backing_for, sim_args
from slmfleet.devcluster.nodes import FakeGPUNode, node_manifest, pod_cidr
from slmfleet.devcluster.prometheus import scrape_config, scrape_targets

pytestmark = pytest.mark.unit


def test_node_manifest_carries_gpu_capacity_labels_and_loopback_cidr() -> None:
    node = node_manifest(FakeGPUNode("n1", "NVIDIA-L4", gpus=4, gpu_memory_mib=23034), 3, 7)
    assert node["status"]["capacity"]["nvidia.com/gpu"] == "4"
    assert node["metadata"]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-L4"
    assert node["metadata"]["labels"]["nvidia.com/gpu.memory"] == "23034"
    assert node["spec"]["podCIDR"] == "127.23.7.0/24"
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"


def test_mig_node_uses_its_resource_name() -> None:
    node = node_manifest(
        FakeGPUNode("m", "NVIDIA-A100-SXM4-40GB", gpus=7, resource="nvidia.com/mig-1g.5gb"), 0
    )
    assert node["status"]["allocatable"]["nvidia.com/mig-1g.5gb"] == "7"
    assert "nvidia.com/gpu" not in node["status"]["allocatable"]


@pytest.mark.parametrize(("index", "block"), [(-1, 0), (200, 0), (0, 256)])
def test_pod_cidr_range_is_bounded(index: int, block: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        pod_cidr(index, block)


@pytest.mark.parametrize(
    ("vllm", "expected"),
    [
        (
            ["Qwen/Qwen3-0.6B", "--served-model-name", "chat", "--dtype", "half"],
            ["--model", "Qwen/Qwen3-0.6B", "--served-model-name", "chat"],
        ),
        (
            ["serve", "m", "--max-model-len=4096", "--enable-lora", "--time-to-first-token", "900"],
            ["--model", "m", "--max-model-len", "4096", "--time-to-first-token", "900"],
        ),
        (
            [
                "--model",
                "x",
                "--mode",
                "random",
                "--failure-injection-rate",
                "50",
                "--trust-remote-code",
            ],
            ["--model", "x", "--mode", "random", "--failure-injection-rate", "50"],
        ),
        (
            [
                "m",
                "--enable-lora",
                "--lora-modules",
                "sql=/adapters/sql",
                "tone=/a/t",
                "--seed",
                "1",
            ],
            [
                "--model",
                "m",
                "--seed",
                "1",
                "--lora-modules",
                '{"name": "sql", "path": "/adapters/sql"}',
                '{"name": "tone", "path": "/a/t"}',
            ],
        ),
        (
            ["m", "--revision", "abc", "--gpu-memory-utilization", "0.9", "--quantization", "awq"],
            ["--model", "m"],
        ),
    ],
)
def test_sim_args_keep_what_the_simulator_understands(vllm: list[str], expected: list[str]) -> None:
    assert list(sim_args(vllm)) == [*expected, *LONG_QUEUE, "--force-dummy-tokenizer"]


LONG_QUEUE = ["--max-waiting-queue-length", str(SIM_WAITING_QUEUE_LENGTH)]


def test_the_simulator_queues_like_vllm_unless_told_otherwise() -> None:
    # vLLM queues without a limit; the simulator's default queue (1,000) answers 429 beyond it.
    assert SIM_WAITING_QUEUE_LENGTH >= 20_000 * 2  # every request two bench routers can hold
    args = sim_args(["serve", "m", "--max-num-seqs", "64"])
    assert args[args.index("--max-waiting-queue-length") + 1] == str(SIM_WAITING_QUEUE_LENGTH)
    # An engine's extra args may still ask for a short queue (to see the simulator's 429).
    short = sim_args(["m", "--max-waiting-queue-length=3"])
    assert short.count("--max-waiting-queue-length") == 1
    assert short[short.index("--max-waiting-queue-length") + 1] == "3"


def pod(
    image: str,
    env: list[dict[str, str]] | None = None,
    args: list[str] | None = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    container = {
        "name": "c",
        "image": image,
        "command": command or [],
        "args": args or [],
        "env": env or [],
        "ports": [{"containerPort": 8000}],
    }
    return {"spec": {"containers": [container]}}


def test_backing_for_pods() -> None:
    sim = backing_for(pod("vllm/vllm-openai:v0.11.0", args=["m"]))
    assert sim is not None and sim.kind == "sim" and sim.ports == (8000,)
    assert sim.args[-3:] == (*LONG_QUEUE, "--force-dummy-tokenizer")
    py = backing_for(
        pod("ghcr.io/x/slmfleet:1", command=["python", "-m"], args=["slmfleet.router"])
    )
    assert py is not None and py.kind == "python" and py.args == ("slmfleet.router",)
    # Other python modules, or slmfleet without `python -m`, are not run.
    assert backing_for(pod("python:3.11", command=["python", "-m"], args=["http.server"])) is None
    assert backing_for(pod("ghcr.io/x/slmfleet:1", args=["slmfleet.router"])) is None
    assert backing_for(pod("busybox")) is None


def scraped_pod(name: str, phase: str = "Running", scrape: str = "true") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "labels": {"app.kubernetes.io/name": "vllm"},
            "annotations": {"prometheus.io/scrape": scrape, "prometheus.io/port": "8000"},
        },
        "status": {"phase": phase, "podIP": "127.20.0.7"},
    }


def test_scrape_targets_like_kubernetes_discovery() -> None:
    groups = scrape_targets(
        [scraped_pod("a"), scraped_pod("b", phase="Pending"), scraped_pod("c", scrape="false")]
    )
    assert len(groups) == 1
    assert groups[0]["targets"] == ["127.20.0.7:8000"]
    labels = groups[0]["labels"]
    assert (labels["namespace"], labels["pod"], labels["app_kubernetes_io_name"]) == (
        "ns",
        "a",
        "vllm",
    )
    assert labels["__metrics_path__"] == "/metrics"


def test_prometheus_config_reads_the_targets_file() -> None:
    config = scrape_config(Path("/x/targets.json"), interval="2s")
    job = config["scrape_configs"][0]
    assert job["file_sd_configs"][0]["files"] == ["/x/targets.json"]
    assert config["global"]["scrape_interval"] == "2s"


def test_kwok_stages_make_pods_ready_only_once_serving() -> None:
    import yaml as _yaml

    from slmfleet.devcluster.kwok_stages import SERVING_ANNOTATION, pod_stages

    start, serve, *_ = pod_stages()
    start_keys = [e["key"] for e in start["spec"]["selector"]["matchExpressions"]]
    assert ".status.podIP" in start_keys
    assert 'type: Ready\n  status: "False"' in start["spec"]["next"]["statusTemplate"]
    serve_rules = serve["spec"]["selector"]["matchExpressions"]
    assert {
        "key": f'.metadata.annotations["{SERVING_ANNOTATION}"]',
        "operator": "In",
        "values": ["true"],
    } in serve_rules
    assert 'type: Ready\n  status: "True"' in serve["spec"]["next"]["statusTemplate"]
    assert "podIP" not in serve["spec"]["next"]["statusTemplate"]  # the address never changes
    assert len(list(_yaml.safe_load_all(_yaml.safe_dump_all(pod_stages())))) == 5


def test_kwok_removes_a_backed_pod_only_once_the_backer_ended_it() -> None:
    from slmfleet.devcluster.kwok_stages import (
        BACKED_ANNOTATION,
        TERMINATED_ANNOTATION,
        pod_stages,
    )

    _, _, terminating, delete, delete_terminated = pod_stages()

    def rules(stage: dict[str, Any]) -> dict[str, str]:
        return {e["key"]: e["operator"] for e in stage["spec"]["selector"]["matchExpressions"]}

    backed = f'.metadata.annotations["{BACKED_ANNOTATION}"]'
    terminated = f'.metadata.annotations["{TERMINATED_ANNOTATION}"]'
    # Being deleted: not Ready first (out of the EndpointSlices) while the process still runs.
    assert rules(terminating)[".metadata.deletionTimestamp"] == "Exists"
    assert (rules(terminating)[backed], rules(terminating)[terminated]) == ("In", "DoesNotExist")
    assert 'type: Ready\n  status: "False"' in terminating["spec"]["next"]["statusTemplate"]
    # Removed at once without a process behind it, else only once the backer has ended it.
    assert rules(delete)[backed] == "DoesNotExist"
    assert rules(delete_terminated)[terminated] == "In"
    for stage in (delete, delete_terminated):
        assert stage["spec"]["next"] == {"finalizers": {"empty": True}, "delete": True}
