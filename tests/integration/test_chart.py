"""The chart with the real helm binary, and its RBAC on the real API server (which runs with RBAC).

helm lint / template must succeed on the defaults and fail with the schema's error on bad values;
manifests/install.yaml must be exactly what hack/render-install.sh renders now. Then the install
manifest is applied, and SubjectAccessReviews plus real requests made as the operator's
ServiceAccount (impersonated) show that it can do what the operator needs and nothing else.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slmfleet.devcluster import tools
from slmfleet.devcluster.manifests import load_documents, repo_root
from slmfleet.devcluster.processes import poll
from slmfleet.k8s import Kube

pytestmark = pytest.mark.integration

REPO = repo_root()
CHART = REPO / "charts" / "slmfleet"
INSTALL = REPO / "manifests" / "install.yaml"
NAMESPACE = "slmfleet-system"
OPERATOR = f"system:serviceaccount:{NAMESPACE}:slmfleet"


@pytest.fixture(scope="module")
def helm() -> Path:
    return tools.require("helm")


def _helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, check=False, timeout=120
    )


def _template(helm: Path, *args: str) -> list[dict[str, Any]]:
    proc = _helm(helm, "template", "slmfleet", str(CHART), "--namespace", NAMESPACE, *args)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def test_lint_passes_on_the_defaults(helm: Path) -> None:
    proc = _helm(helm, "lint", "--strict", str(CHART))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize(
    ("flag", "setting", "fragment"),
    [
        ("--set", "replicas=x", "at '/replicas': got string, want integer"),
        ("--set-string", "replicas=1", "at '/replicas': got string, want integer"),
        ("--set", "replicas=6", "at '/replicas': maximum: got 6, want 5"),
        ("--set", "image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of"),
        ("--set", "engineImage=", "at '/engineImage': minLength: got 0, want 1"),
        ("--set", "runAsUser=0", "at '/runAsUser': minimum: got 0, want 1"),
        ("--set", "watchNamespaces={Team_A}", "at '/watchNamespaces/0': 'Team_A' does not match"),
        ("--set", "verbose=maybe", "at '/verbose': got string, want boolean"),
        ("--set", "replica=1", "additional properties 'replica' not allowed"),
    ],
)
def test_lint_rejects_bad_values_with_the_schema_error(
    helm: Path, flag: str, setting: str, fragment: str
) -> None:
    proc = _helm(helm, "lint", str(CHART), flag, setting)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "values don't meet the specifications of the schema" in output, output
    assert fragment in output


def test_template_watches_named_namespaces_and_may_list_them(helm: Path) -> None:
    docs = _template(helm, "--set", "watchNamespaces={team-a,team-b}", "--set", "verbose=true")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "run"
    assert "--namespace=team-a" in args
    assert "--namespace=team-b" in args
    assert "--all-namespaces" not in args
    assert "--verbose" in args
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]} in role[
        "rules"
    ]


def test_template_renders_the_optional_values(helm: Path, tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "imagePullSecrets": [{"name": "registry"}],
        "commonLabels": {"team": "ml"},
        "podAnnotations": {"note": "x"},
        "serviceAccount": {"annotations": {"iam.example/role": "slmfleet"}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "priorityClassName": "system-cluster-critical",
        "huggingFace": {"offline": True},
        "image": {"tag": "0.2.0"},
    }
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
    lint = _helm(helm, "lint", "--strict", str(CHART), "-f", str(tmp_path / "values.yaml"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    docs = _template(helm, "-f", str(tmp_path / "values.yaml"))
    assert all(d["metadata"]["labels"]["team"] == "ml" for d in docs)
    account = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert account["metadata"]["annotations"] == values["serviceAccount"]["annotations"]
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]
    spec = pod["spec"]
    assert pod["metadata"]["annotations"] == {"note": "x"}
    assert spec["imagePullSecrets"] == values["imagePullSecrets"]
    assert spec["nodeSelector"] == values["nodeSelector"]
    assert spec["tolerations"] == values["tolerations"]
    assert spec["priorityClassName"] == "system-cluster-critical"
    container = spec["containers"][0]
    assert container["image"] == "ghcr.io/slmfleet/slmfleet:0.2.0"
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["env"]


def test_template_renders_the_observability_values(helm: Path, tmp_path: Path) -> None:
    values = {
        "metrics": {
            "port": 9100,
            "serviceMonitor": {"enabled": True, "labels": {"release": "kps"}},
        },
        "dashboards": {"enabled": True, "namespace": "monitoring"},
        "argocd": {"healthCheck": True, "namespace": "argocd"},
    }
    (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
    lint = _helm(helm, "lint", "--strict", str(CHART), "-f", str(tmp_path / "values.yaml"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    docs = _template(helm, "-f", str(tmp_path / "values.yaml"))
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert "--metrics=0.0.0.0:9100" in container["args"]
    assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in container["ports"]
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for path in sorted((CHART / "dashboards").glob("*.json")):
        board = maps[f"slmfleet-dashboard-{path.stem}"]
        assert board["metadata"]["namespace"] == "monitoring"
        assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert board["data"][path.name] == path.read_text().strip()
    health = maps["slmfleet-argocd-health"]
    assert health["metadata"]["namespace"] == "argocd"
    lua = (CHART / "argocd" / "health.lua").read_text().strip()
    assert health["data"] == {
        f"resource.customizations.health.slmfleet.io_{kind}": lua
        for kind in ("SmallModel", "ModelRoute", "GPUClass")
    }


def test_template_without_metrics_serves_none(helm: Path) -> None:
    docs = _template(helm, "--set", "metrics.enabled=false")
    assert not [d for d in docs if d["kind"] == "Service"]
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert not [a for a in container["args"] if a.startswith("--metrics")]


def test_template_without_crds_renders_only_the_operator(helm: Path) -> None:
    kinds = sorted(d["kind"] for d in _template(helm))
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]


def _rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


WATCHED = ["team-a", "team-b"]


def test_watch_namespaces_renders_a_role_per_namespace_and_cluster_reads_only(helm: Path) -> None:
    everything = _rules(next(d for d in _template(helm) if d["kind"] == "ClusterRole"))
    docs = _template(helm, "--set", f"watchNamespaces={{{','.join(WATCHED)}}}")
    cluster = _rules(next(d for d in docs if d["kind"] == "ClusterRole"))
    leader = "slmfleet-leader"  # the Lease Role in the release namespace, in both modes
    roles = {
        d["metadata"]["namespace"]: d
        for d in docs
        if d["kind"] == "Role" and d["metadata"]["name"] != leader
    }
    bindings = {
        d["metadata"]["namespace"]: d
        for d in docs
        if d["kind"] == "RoleBinding" and d["metadata"]["name"] != leader
    }
    assert sorted(roles) == sorted(bindings) == sorted([*WATCHED, "default"])
    assert _rules(roles["default"]) == {("", "events", "create")}  # cluster-scoped objects' Events
    namespaced = _rules(roles["team-a"])
    assert _rules(roles["team-b"]) == namespaced
    assert cluster | namespaced == everything | {
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
    }
    # Cluster-wide: reads of cluster-scoped kinds, and the SmallModel list behind GPUClass users.
    assert {verb for _, _, verb in cluster} <= {"get", "list", "watch", "patch"}
    assert {r for _, r, _ in cluster} == {
        "gpuclasses",
        "gpuclasses/status",
        "nodes",
        "customresourcedefinitions",
        "namespaces",
        "smallmodels",
        "storageclasses",  # the weight cache checks that a model's storage class exists
    }
    assert {v for _, r, v in cluster if r == "smallmodels"} == {"list"}
    for namespace, binding in bindings.items():
        assert binding["roleRef"]["name"] == roles[namespace]["metadata"]["name"]
        assert binding["subjects"][0]["name"] == "slmfleet"


def test_install_manifest_is_what_the_chart_renders(helm: Path, tmp_path: Path) -> None:
    out = tmp_path / "install.yaml"
    env = {**os.environ, "HELM": str(helm)}
    proc = subprocess.run(
        [str(REPO / "hack" / "render-install.sh"), str(out)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == INSTALL.read_text(), "run hack/render-install.sh"


# --- RBAC on the real API server ------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(k8s: Kube) -> Iterator[list[dict[str, Any]]]:
    """manifests/install.yaml applied document by document; the operator's objects removed after
    (the CRDs stay: other tests share them)."""
    docs = load_documents(INSTALL)
    for doc in docs:
        k8s.apply(doc)
    try:
        yield docs
    finally:
        for doc in reversed(docs):
            if doc["kind"] != "CustomResourceDefinition":
                meta = doc["metadata"]
                k8s.delete(doc["kind"], meta["name"], meta.get("namespace"))


def test_the_operator_pod_is_admitted_under_the_restricted_pod_security_standard(
    k8s: Kube, installed: list[dict[str, Any]]
) -> None:
    """The install namespace enforces `restricted`; the ReplicaSet's pod must still be created."""
    namespace = next(d for d in installed if d["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    selector = "app.kubernetes.io/name=slmfleet,app.kubernetes.io/component=operator"
    pods = poll("operator pod", lambda: k8s.list("Pod", NAMESPACE, selector), timeout=30)
    assert len(pods) == 1
    assert pods[0]["spec"]["serviceAccountName"] == "slmfleet"


def review(k8s: Kube, user: str, attrs: dict[str, str]) -> bool:
    namespace, _, name = user.removeprefix("system:serviceaccount:").partition(":")
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "metadata": {},
        "spec": {
            "user": user,
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{namespace}",
                "system:authenticated",
            ],
            "resourceAttributes": attrs,
        },
    }
    assert name, user
    return bool(k8s.create(body)["status"].get("allowed"))


def _attrs(verb: str, group: str, resource: str, namespace: str | None) -> dict[str, str]:
    plural, _, sub = resource.partition("/")
    attrs = {"verb": verb, "group": group, "resource": plural}
    if sub:
        attrs["subresource"] = sub
    if namespace:
        attrs["namespace"] = namespace
    return attrs


ALLOWED = [
    ("get", "slmfleet.io", "smallmodels", "team-a"),
    ("list", "slmfleet.io", "smallmodels", None),
    ("watch", "slmfleet.io", "smallmodels", None),
    ("patch", "slmfleet.io", "smallmodels", "team-a"),
    ("patch", "slmfleet.io", "smallmodels/status", "team-a"),
    ("update", "slmfleet.io", "smallmodels/finalizers", "team-a"),
    ("get", "slmfleet.io", "gpuclasses", None),
    ("list", "slmfleet.io", "gpuclasses", None),
    ("watch", "slmfleet.io", "gpuclasses", None),
    ("patch", "slmfleet.io", "gpuclasses", None),
    ("patch", "slmfleet.io", "gpuclasses/status", None),
    ("get", "apps", "deployments", "team-a"),
    ("list", "apps", "deployments", None),
    ("watch", "apps", "deployments", None),
    ("patch", "apps", "deployments", "team-a"),
    ("create", "apps", "deployments", "team-a"),
    ("delete", "apps", "deployments", "team-a"),  # a promoted or rolled-back revision's
    ("patch", "", "services", "team-a"),
    ("create", "", "services", "team-a"),
    ("delete", "", "services", "team-a"),  # a gateway-api revision's Service
    ("patch", "policy", "poddisruptionbudgets", "team-a"),
    ("create", "policy", "poddisruptionbudgets", "team-a"),
    ("list", "policy", "poddisruptionbudgets", None),
    ("watch", "policy", "poddisruptionbudgets", None),
    ("delete", "policy", "poddisruptionbudgets", "team-a"),
    ("list", "", "pods", "team-a"),
    ("list", "", "nodes", None),
    ("get", "", "secrets", "team-a"),
    ("create", "", "events", "team-a"),
    ("create", "", "events", NAMESPACE),
    ("patch", "coordination.k8s.io", "leases", NAMESPACE),  # leader election
    ("list", "apiextensions.k8s.io", "customresourcedefinitions", None),
    ("watch", "apiextensions.k8s.io", "customresourcedefinitions", None),
]
DENIED = [
    ("list", "", "secrets", "team-a"),
    ("watch", "", "secrets", None),
    ("delete", "", "secrets", "team-a"),
    ("create", "", "secrets", "team-a"),
    ("update", "apps", "deployments", "team-a"),
    ("delete", "", "pods", "team-a"),
    ("create", "", "pods", "team-a"),
    ("create", "", "pods/exec", "team-a"),
    ("list", "", "configmaps", "team-a"),
    ("list", "", "namespaces", None),
    ("delete", "slmfleet.io", "smallmodels", "team-a"),
    ("create", "slmfleet.io", "gpuclasses", None),
    ("update", "slmfleet.io", "smallmodels/status", "team-a"),
    ("create", "apiextensions.k8s.io", "customresourcedefinitions", None),
    ("create", "rbac.authorization.k8s.io", "clusterroles", None),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", None),
    ("create", "", "serviceaccounts/token", NAMESPACE),
    ("impersonate", "", "users", None),
    ("patch", "coordination.k8s.io", "leases", "team-a"),  # only its own namespace's Lease
]


@pytest.mark.parametrize(("verb", "group", "resource", "namespace"), ALLOWED)
def test_the_operator_can(
    k8s: Kube,
    installed: list[dict[str, Any]],
    verb: str,
    group: str,
    resource: str,
    namespace: str | None,
) -> None:
    attrs = _attrs(verb, group, resource, namespace)
    assert poll(f"{OPERATOR} may {attrs}", lambda: review(k8s, OPERATOR, attrs), timeout=10)


@pytest.mark.parametrize(("verb", "group", "resource", "namespace"), DENIED)
def test_the_operator_cannot(
    k8s: Kube,
    installed: list[dict[str, Any]],
    verb: str,
    group: str,
    resource: str,
    namespace: str | None,
) -> None:
    # A granted sibling first: the authorizer has seen the installed role when this is answered.
    assert poll("role visible", lambda: review(k8s, OPERATOR, _attrs("list", "", "nodes", None)))
    assert not review(k8s, OPERATOR, _attrs(verb, group, resource, namespace))


# --- real requests as the operator's ServiceAccount -----------------------------------------


def impersonating(kube: client.ApiClient, user: str) -> Kube:
    """A Kube whose requests the API server authorizes as ``user`` (the admin may impersonate)."""
    api = client.ApiClient(kube.configuration, header_name="Impersonate-User", header_value=user)
    return Kube(api)


def _engine_children(namespace: str, name: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": name}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "engine", "image": "engine:test"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 8000}]},
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": labels}, "maxUnavailable": 1},
        },
    ]


def test_the_operator_applies_children_and_reads_a_named_secret(
    k8s: Kube, kube: client.ApiClient, installed: list[dict[str, Any]], namespace: str
) -> None:
    operator = impersonating(kube, OPERATOR)
    k8s.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hf-token", "namespace": namespace},
            "stringData": {"token": "hf_test"},
        }
    )
    children = _engine_children(namespace, "qwen")
    for child in children:  # first apply creates, the second patches
        operator.apply(child)
        operator.apply(child)
    engine = next(c for c in children if c["kind"] == "Deployment")  # named <model>-<revision>
    assert operator.get("Deployment", engine["metadata"]["name"], namespace) is not None
    assert operator.list("Pod", namespace) == []
    secret = operator.get("Secret", "hf-token", namespace)
    assert secret is not None and set(secret["data"]) == {"token"}
    with pytest.raises(ApiException) as listing:
        operator.list("Secret", namespace)
    with pytest.raises(ApiException) as deleting:
        operator.delete("Secret", "hf-token", namespace)
    assert (listing.value.status, deleting.value.status) == (403, 403)
    svc = next(c for c in children if c["kind"] == "Service")["metadata"]["name"]
    assert operator.delete("Service", svc, namespace)  # a gateway-api revision's Service


@pytest.mark.parametrize(("verbs", "error"), [(["patch"], 403), (["patch", "create"], None)])
def test_server_side_apply_of_a_missing_object_needs_create(
    k8s: Kube, kube: client.ApiClient, namespace: str, verbs: list[str], error: int | None
) -> None:
    """Why the role grants create next to patch: apply that creates is authorized as create."""
    account = f"apply-{uuid.uuid4().hex[:6]}"
    user = f"system:serviceaccount:{namespace}:{account}"
    k8s.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(account, namespace)})
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(account, namespace),
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(account, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }
    k8s.apply(role)
    k8s.apply(binding)
    patch = {"verb": "patch", "resource": "configmaps", "namespace": namespace, "group": ""}
    assert poll("role visible", lambda: review(k8s, user, patch), timeout=10)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("applied", namespace),
        "data": {"k": "v"},
    }
    got: int | None = None
    try:
        impersonating(kube, user).apply(configmap)
    except ApiException as err:
        got = err.status
    assert got == error
    assert (k8s.get("ConfigMap", "applied", namespace) is None) == (error is not None)


def _meta(name: str, namespace: str) -> dict[str, str]:
    return {"name": name, "namespace": namespace}


@pytest.fixture(scope="module")
def installed_namespaced(helm: Path, k8s: Kube) -> Iterator[str]:
    """The chart's RBAC for watchNamespaces=team-a, as release `scoped` (its own ServiceAccount)."""
    proc = _helm(
        helm, "template", "scoped", str(CHART), "--namespace", NAMESPACE,
        "--set", "watchNamespaces={team-a}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] != "Deployment"]
    namespaces = {NAMESPACE, "team-a"}
    for name in namespaces:
        k8s.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for doc in docs:
        k8s.apply(doc)
    try:
        yield f"system:serviceaccount:{NAMESPACE}:scoped-slmfleet"
    finally:
        for doc in reversed(docs):
            meta = doc["metadata"]
            k8s.delete(doc["kind"], meta["name"], meta.get("namespace"))


@pytest.mark.parametrize(
    ("verb", "group", "resource", "namespace", "allowed"),
    [
        ("get", "", "secrets", "team-a", True),
        ("delete", "apps", "deployments", "team-a", True),
        ("list", "", "nodes", None, True),
        ("list", "slmfleet.io", "gpuclasses", None, True),
        ("create", "", "events", "default", True),
        ("get", "", "secrets", "kube-system", False),
        ("get", "", "secrets", "team-b", False),
        ("delete", "apps", "deployments", "kube-system", False),
        ("patch", "apps", "deployments", "team-b", False),
        ("list", "", "pods", None, False),
        ("create", "", "events", "kube-system", False),
        ("patch", "slmfleet.io", "smallmodels", "team-b", False),
    ],
)
def test_watch_namespaces_grants_reach_only_the_watched_namespaces(
    k8s: Kube,
    installed_namespaced: str,
    verb: str,
    group: str,
    resource: str,
    namespace: str | None,
    allowed: bool,
) -> None:
    user = installed_namespaced
    assert poll("role visible", lambda: review(k8s, user, _attrs("get", "", "secrets", "team-a")))
    assert review(k8s, user, _attrs(verb, group, resource, namespace)) is allowed
