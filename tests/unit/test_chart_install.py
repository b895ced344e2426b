"""manifests/install.yaml: a Namespace, exactly the chart's CRDs, and an operator that can start.

The file is the chart rendered with default values (hack/render-install.sh; the integration tier
checks it has not drifted from the chart). Here: what it holds, read as data.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from slmfleet.cli.main import build_parser
from slmfleet.k8s import resource_for

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "slmfleet"
INSTALL = REPO / "manifests" / "install.yaml"
NAMESPACE = "slmfleet-system"


def _docs(path: Path) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(path.read_text(), Loader=loader) if doc]


@functools.cache
def _install() -> list[dict[str, Any]]:
    return _docs(INSTALL)


def _one(kind: str) -> dict[str, Any]:
    found = [doc for doc in _install() if doc["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} documents"
    return found[0]


def _chart_crds() -> dict[str, dict[str, Any]]:
    crds = [doc for path in sorted((CHART / "crds").glob("*.yaml")) for doc in _docs(path)]
    return {doc["metadata"]["name"]: doc for doc in crds}


def _container() -> dict[str, Any]:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["operator"]
    return dict(pod["containers"][0])


def _values() -> dict[str, Any]:
    return dict(yaml.safe_load((CHART / "values.yaml").read_text()))


def test_the_namespace_comes_first() -> None:
    first = _install()[0]
    assert (first["kind"], first["metadata"]["name"]) == ("Namespace", NAMESPACE)


def test_install_lists_exactly_the_chart_crds() -> None:
    chart = _chart_crds()
    installed = {d["metadata"]["name"]: d for d in _install() if d["kind"].endswith("Definition")}
    assert chart, "charts/slmfleet/crds/ is empty"
    assert sorted(installed) == sorted(chart)
    for name, crd in chart.items():
        assert installed[name] == crd, f"{name} differs from charts/slmfleet/crds/"


def test_chart_crds_are_the_repository_crds() -> None:
    top = {p.name: p.read_text() for p in sorted((REPO / "crds").glob("*.yaml"))}
    chart = {p.name: p.read_text() for p in sorted((CHART / "crds").glob("*.yaml"))}
    assert chart == top


def test_install_holds_these_kinds_and_nothing_else() -> None:
    kinds = Counter(doc["kind"] for doc in _install())
    expected = {
        "Namespace": 1,
        "CustomResourceDefinition": len(_chart_crds()),
        "ServiceAccount": 1,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,  # the leader election Lease in the operator namespace
        "RoleBinding": 1,
        "Deployment": 1,
        "Service": 1,  # the operator's metrics
    }
    assert dict(kinds) == expected


def test_namespaced_objects_live_in_the_operator_namespace() -> None:
    for doc in _install():
        namespace = doc["metadata"].get("namespace")
        if resource_for(doc["kind"]).namespaced:
            assert namespace == NAMESPACE, f"{doc['kind']} {doc['metadata']['name']}"
        else:
            assert namespace is None, f"cluster-scoped {doc['kind']} has a namespace"


def test_the_operator_runs_standalone_with_one_replica_and_recreate() -> None:
    spec = _one("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    template_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= template_labels.items()
    assert (
        spec["template"]["spec"]["serviceAccountName"] == _one("ServiceAccount")["metadata"]["name"]
    )


def test_the_cli_accepts_the_args_and_the_probe_hits_the_liveness_endpoint() -> None:
    container = _container()
    args = build_parser().parse_args(container["args"])
    assert args.command == "run"
    assert (args.all_namespaces, args.namespace) == (True, [])
    endpoint = urlparse(args.liveness)
    probe = container["livenessProbe"]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    port = ports[probe["port"]] if isinstance(probe["port"], str) else probe["port"]
    assert (endpoint.hostname, endpoint.port, endpoint.path) == ("0.0.0.0", 8080, "/healthz")
    assert (port, probe["path"]) == (endpoint.port, endpoint.path)


def test_the_metrics_service_reaches_the_metrics_endpoint() -> None:
    container = _container()
    args = build_parser().parse_args(container["args"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert args.metrics == f"0.0.0.0:{ports['metrics']}"
    service = _one("Service")
    pod_labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert [(p["name"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("metrics", "metrics")
    ]


def test_the_container_is_locked_down() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    ctx = _container()["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_image_user_is_the_pod_user() -> None:
    match = re.search(r"^USER (\d+):(\d+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None
    pod = _one("Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (int(match[1]), int(match[2]))


def test_writable_paths_are_volumes() -> None:
    """With a read-only root, the Hugging Face cache and /tmp must be mounted volumes."""
    container = _container()
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert any(env["HF_HOME"].startswith(m + "/") for m in mounts), (env["HF_HOME"], mounts)
    assert "/tmp" in mounts


def test_settings_come_from_values() -> None:
    values = _values()
    container = _container()
    env = {e["name"]: e.get("value") for e in container["env"]}
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert env["SLMFLEET_ENGINE_IMAGE"] == values["engineImage"]
    assert env["SLMFLEET_GPUCLASS_RESYNC_SECONDS"] == str(values["gpuclassResyncSeconds"])
    assert container["image"] == f"{values['image']['repository']}:{chart['appVersion']}"
    assert container["resources"] == values["resources"]
    assert "HF_HUB_OFFLINE" not in env  # huggingFace.offline is false by default
    assert env["SLMFLEET_PROMETHEUS_URL"] == values["prometheusUrl"]
    assert env["SLMFLEET_RESYNC_SECONDS"] == str(values["resyncSeconds"])
    assert env["SLMFLEET_AUTOSCALE_INTERVAL_SECONDS"] == str(values["autoscaleIntervalSeconds"])
    assert env["SLMFLEET_COST_WINDOW_SECONDS"] == str(values["costWindowSeconds"])
    assert env["SLMFLEET_COST_STATUS_SECONDS"] == str(values["costStatusSeconds"])
    assert env["SLMFLEET_PROMETHEUS_SCRAPE_SECONDS"] == str(values["prometheusScrapeSeconds"])
    assert env["SLMFLEET_ROUTER_IMAGE"] == container["image"]  # routerImage empty
    assert env["SLMFLEET_ROUTER_ALLOWED_HOSTS"] == ",".join(values["routerAllowedHosts"])
    limits = values["routerLimits"]
    assert env["SLMFLEET_ROUTER_MAX_BODY_BYTES"] == str(limits["maxBodyBytes"])
    assert env["SLMFLEET_ROUTER_MAX_RESPONSE_BYTES"] == str(limits["maxResponseBytes"])
    assert env["SLMFLEET_ROUTER_MAX_CONCURRENT_REQUESTS"] == str(limits["maxConcurrentRequests"])
    assert env["SLMFLEET_ROUTER_MAX_HELD_REQUESTS"] == str(limits["maxHeldRequests"])
    assert env["SLMFLEET_ROUTER_BODY_READ_TIMEOUT_SECONDS"] == str(limits["bodyReadTimeoutSeconds"])


def _operator_settings_read() -> set[str]:
    """SLMFLEET_* variables the operator process reads (devcluster/, the router and the download
    Job's process excluded)."""
    names: set[str] = set()
    package = REPO / "operator" / "slmfleet"
    for path in package.rglob("*.py"):
        if {"devcluster", "router", "cli", "weights"} & set(path.relative_to(package).parts):
            continue
        names |= set(re.findall(r'environ\.get\(\s*"(SLMFLEET_[A-Z_]+)"', path.read_text()))
    return names


def test_every_setting_the_operator_reads_is_set_by_the_chart() -> None:
    read = _operator_settings_read()
    assert {"SLMFLEET_PROMETHEUS_URL", "SLMFLEET_RESYNC_SECONDS"} <= read  # the scan sees them
    env = {e["name"] for e in _container()["env"]}
    assert sorted(read - env) == []
