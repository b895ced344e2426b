"""Every bad input in tests/data/bad_inputs.yaml, against the real API server and the operator.

Cases marked `server` must be refused by the CRD schema or its CEL rules with the expected message;
cases marked `operator` are accepted by the server and must end Stalled with reason InvalidSpec (or
the case's `reason`) and the expected message in status, with nothing created for them, nothing
that existed before deleted, and no Secret handed to the router.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from slmfleet.devcluster.operator_process import OperatorProcess
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "bad_inputs.yaml").read_text())


def _place(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    if out["kind"] != "GPUClass":
        out["metadata"]["namespace"] = namespace
    else:
        out["metadata"]["name"] = f"{out['metadata']['name']}-{namespace}"[:63]
    return out


def _cleanup(k8s: Kube, obj: dict[str, Any]) -> None:
    k8s.delete(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expect"] == "server"], ids=lambda c: c["name"]
)
def test_server_refuses(case: dict[str, Any], k8s: Kube, crds: list[str], namespace: str) -> None:
    obj = _place(case["object"], namespace)
    try:
        if "old_object" in case:
            # Both versions through server-side apply with one manager, so a field left out of the
            # new version is really removed (as `kubectl apply --server-side` would).
            k8s.apply(_place(case["old_object"], namespace))
            with pytest.raises(ApiException) as err:
                k8s.apply(obj)
        else:
            with pytest.raises(ApiException) as err:
                k8s.create(obj)
        assert err.value.status == 422, err.value.body
        message = json.loads(err.value.body)["message"]
        expected = case["message_contains"].replace(
            case["object"]["metadata"]["name"], obj["metadata"]["name"]
        )
        assert expected in message
    finally:
        _cleanup(k8s, obj)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expect"] == "operator"], ids=lambda c: c["name"]
)
def test_operator_reports_invalid_spec(
    case: dict[str, Any], operator: OperatorProcess, k8s: Kube, namespace: str
) -> None:
    obj = _place(case["object"], namespace)
    for extra in case.get("setup", []):
        k8s.create(_place(extra, namespace))
    sentinel = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"keep": "me"}}
    k8s.create({**sentinel, "metadata": {"name": "sentinel", "namespace": namespace}})
    k8s.create(obj)
    try:

        def stalled() -> dict[str, Any] | None:
            got = k8s.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
            for cond in ((got or {}).get("status") or {}).get("conditions") or []:
                if cond["type"] == "Stalled" and cond["status"] == "True":
                    return dict(cond)
            return None

        cond = poll(f"{case['name']} Stalled", stalled, timeout=60)
        assert cond["reason"] == case.get("reason", "InvalidSpec")
        assert case["message_contains"] in cond["message"]
        kept = k8s.get("ConfigMap", "sentinel", namespace)
        assert kept is not None and kept["data"] == {"keep": "me"}
        if obj["kind"] == "ModelRoute":
            router = k8s.get("Deployment", "slmfleet-router", namespace)
            pod = (router or {}).get("spec", {}).get("template", {}).get("spec", {})
            env = [e for c in pod.get("containers", []) for e in c.get("env", [])]
            assert not [e for e in env if "secretKeyRef" in (e.get("valueFrom") or {})]
        if obj["kind"] == "SmallModel":
            # The namespace is this test's own: no engine was created for the model.
            assert k8s.list("Deployment", namespace, "app.kubernetes.io/name=vllm") == []
            # nor a router: nothing in the namespace can be served
            assert k8s.list("Deployment", namespace, "app.kubernetes.io/name=slmfleet-router") == []
    finally:
        _cleanup(k8s, obj)
