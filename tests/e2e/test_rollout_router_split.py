"""The router as traffic provider: a canary step gets its weight of real requests through the
namespace's router, and an abort puts every request back on stable without waiting for pods."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter

import pytest
from rollout_support import ECHO, echo_model, revision_replicas, wait_phase, wait_serving, with_args

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.devcluster.serving import router_ips
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

REVISION_HEADER = "x-slmfleet-revision"


def revisions_served(url: str, model: str, count: int) -> Counter[str]:
    """The revision header of ``count`` completions sent one by one (a failure counts as '!')."""
    body = json.dumps({"model": model, "prompt": "hi", "max_tokens": 2}).encode()
    seen: Counter[str] = Counter()
    for _ in range(count):
        request = urllib.request.Request(
            f"{url}/v1/completions", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                seen[resp.headers.get(REVISION_HEADER, "?")] += 1
        except OSError:
            seen["!"] += 1
    return seen


def test_router_splits_a_canary_step_by_weight_and_abort_returns_all_to_stable(
    operator: OperatorProcess, k8s: Kube, gpuclasses: list[str], namespace: str
) -> None:
    rollout = {"steps": [{"weight": 10, "pauseSeconds": 3600}], "analysis": "none"}
    body = echo_model(namespace, "split", rollout)
    served = body["spec"]["servedModelName"]
    k8s.apply(body)
    first = wait_serving(k8s, "split", namespace)["status"]["templateHash"]

    k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
    canary = wait_phase(k8s, "split", namespace, ("Paused",))["canaryRevision"]
    # the stable revision keeps its two replicas; ceil(2 * 10%) = 1 canary beside them, so a
    # split by replicas would give the canary a third of the requests, not a tenth
    assert revision_replicas(k8s, "split", namespace) == {first: 2, canary: 1}

    ips = poll("2 ready router pods", lambda: len(r := router_ips(k8s, namespace)) == 2 and r)
    urls = [f"http://{ip}:8080" for ip in ips]
    for url in urls:  # each router pod has loaded the split once it has served the canary
        poll(f"{url} serving the canary", lambda u=url: revisions_served(u, served, 20)[canary] > 0)
    seen = revisions_served(urls[0], served, 200) + revisions_served(urls[1], served, 200)
    assert set(seen) == {first, canary}, seen  # every request answered, by these two only
    # 400 draws at p = 0.10: the canary's count lies within 40 +- 25 (over 4 sigma); a third
    # would be 133
    assert 15 <= seen[canary] <= 65, seen

    k8s.merge_patch(
        "SmallModel", "split", {"metadata": {"annotations": {"slmfleet.io/abort": "true"}}},
        namespace,
    )  # fmt: skip
    for url in urls:
        poll(f"{url} all on stable", lambda u=url: revisions_served(u, served, 20) == {first: 20})
    wait_phase(k8s, "split", namespace, ("RolledBack",))
    after = revisions_served(urls[0], served, 100) + revisions_served(urls[1], served, 100)
    assert after == {first: 200}, after
    assert poll(
        "canary scaled to 0",
        lambda: revision_replicas(k8s, "split", namespace) == {first: 2, canary: 0},
    )
