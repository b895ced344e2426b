"""The drain order through the Gateway API provider: a leaving revision's HTTPRoute weight goes to
0 first, and only after that was applied (and seen) do its Deployment's replicas and its Service
go. No gateway runs here, so no request is sent; what is checked is the order a gateway sees,
sampled (route first, then the revision's objects) while a promotion and an abort run."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from rollout_support import ECHO, echo_model, wait_phase, wait_serving, with_args
from zero_loss_support import HELD

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.e2e

NAME = "gwdrain"
GATEWAY = {"trafficProvider": "gateway-api", "gatewayRef": {"name": "inference"}}


@dataclass(frozen=True)
class Sample:
    weight: int  # the revision's weight in the HTTPRoute (0 when it has no backendRef)
    service: bool  # its Service exists
    replicas: int  # its Deployment's spec.replicas (0 when it is gone)


class Sampler:
    """Samples one revision's route weight, then its Service and Deployment, until stopped."""

    def __init__(self, k8s: Kube, namespace: str, revision: str) -> None:
        self.k8s, self.ns, self.revision = k8s, namespace, revision
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _one(self) -> Sample:
        svc = f"{NAME}-{self.revision}"
        route = self.k8s.get("HTTPRoute", NAME, self.ns) or {"spec": {"rules": []}}
        refs = [r for rule in route["spec"]["rules"] for r in rule.get("backendRefs") or []]
        weight = sum(int(r.get("weight", 1)) for r in refs if r["name"] == svc)
        service = self.k8s.get("Service", svc, self.ns) is not None
        dep = self.k8s.get("Deployment", svc, self.ns) or {"spec": {"replicas": 0}}
        return Sample(weight, service, int(dep["spec"].get("replicas") or 0))

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.samples.append(self._one())

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def assert_weight_zero_first(self) -> None:
        s = self.samples
        # never: its replicas or Service gone while the route (read just before) still sends to it
        early = [x for x in s if x.weight > 0 and (x.replicas == 0 or not x.service)]
        assert not early, early
        # and a moment with weight 0 while its pods still serve: the drain between the two
        assert any(x.weight == 0 and x.replicas > 0 for x in s), s[-20:]


def test_gateway_api_weight_zero_comes_before_scale_down_and_deletion(
    operator: OperatorProcess,
    k8s: Kube,
    gpuclasses: list[str],
    gateway_api: list[str],
    namespace: str,
) -> None:
    rollout = {"steps": [{"weight": 50}], "analysis": "none", **GATEWAY}
    body = echo_model(namespace, NAME, rollout)
    k8s.apply(body)
    first = wait_serving(k8s, NAME, namespace)["status"]["templateHash"]

    with Sampler(k8s, namespace, first) as promotion:  # the old stable leaves
        k8s.apply(with_args(body, ECHO, "--inter-token-latency=1ms"))
        promoted = wait_serving(k8s, NAME, namespace, timeout=180)["status"]["templateHash"]
        poll("old stable deleted", lambda: promotion.samples and not promotion.samples[-1].service)
    promotion.assert_weight_zero_first()

    held = with_args(body, ECHO, "--inter-token-latency=2ms")
    held["spec"]["rollout"] = {**HELD, **GATEWAY}
    k8s.apply(held)
    canary = wait_phase(k8s, NAME, namespace, ("Paused",), timeout=180)["canaryRevision"]
    with Sampler(k8s, namespace, canary) as abort:  # the canary leaves
        patch = {"metadata": {"annotations": {"slmfleet.io/abort": "true"}}}
        k8s.merge_patch("SmallModel", NAME, patch, namespace)
        wait_phase(k8s, NAME, namespace, ("RolledBack",))
        poll("canary scaled to 0", lambda: abort.samples and abort.samples[-1].replicas == 0)
    abort.assert_weight_zero_first()
    assert promoted != canary
