"""The operator's ClusterRole grants exactly the verbs its code uses, per resource, and no more.

Two checks that can each fail: the rendered rules equal a table written by hand from reading the
code (with the reason for every row), and every API call the operator's code makes (found by
reading its source: `kube.<verb>("Kind", ...)` calls, kinds the builders emit for server-side
apply, and kopf decorators) is covered by a rule.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import slmfleet
from slmfleet.k8s import RESOURCES

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "operator" / "slmfleet"
# Code the operator runs with its ServiceAccount; cli/ and devcluster/ run with a user's kubeconfig.
OPERATOR_CODE = ("handlers", "reconcile", "builders", "cache", "main.py", "k8s.py")

Triple = tuple[str, str, str]  # (apiGroup, resource, verb)

# Written by hand from the operator's code and kopf's behaviour.
EXPECTED: dict[Triple, str] = {
    ("slmfleet.io", "gpuclasses", "get"): "kopf index (list, then watch)",
    ("slmfleet.io", "gpuclasses", "list"): "kopf index of GPUClasses",
    ("slmfleet.io", "gpuclasses", "watch"): "kopf watch",
    ("slmfleet.io", "gpuclasses", "patch"): "gpuclass.py removes the finalizer of earlier versions",
    ("slmfleet.io", "gpuclasses/status", "patch"): "gpuclass.py refresh",
    ("slmfleet.io", "smallmodels", "get"): "kopf index (list, then watch)",
    ("slmfleet.io", "smallmodels", "list"): "kopf index of SmallModels",
    ("slmfleet.io", "smallmodels", "watch"): "kopf watch",
    (
        "slmfleet.io",
        "smallmodels",
        "patch",
    ): "model_sync.py clears annotations, restores a spec, drops the old finalizer",
    ("slmfleet.io", "smallmodels/status", "patch"): "model_sync.py write_status",
    ("slmfleet.io", "smallmodels/finalizers", "update"): "blockOwnerDeletion on children",
    ("apps", "deployments", "get"): "model_sync.py re-reads a revision before deleting it",
    ("apps", "deployments", "list"): "kopf index of engine Deployments",
    ("apps", "deployments", "watch"): "kopf index of engine Deployments",
    ("apps", "deployments", "patch"): "server-side apply",
    ("apps", "deployments", "create"): "server-side apply of a missing object",
    ("apps", "deployments", "delete"): "model_sync.py deletes revisions that no longer serve",
    ("slmfleet.io", "evalsuites", "get"): "kopf index (list, then watch)",
    ("slmfleet.io", "evalsuites", "list"): "kopf index of EvalSuites",
    ("slmfleet.io", "evalsuites", "watch"): "kopf index of EvalSuites",
    ("", "services", "get"): "ownership.py: is the existing object ours?",
    ("policy", "poddisruptionbudgets", "get"): "ownership.py: is the existing object ours?",
    ("", "configmaps", "get"): "ownership.py: is the existing object ours?",
    ("gateway.networking.k8s.io", "httproutes", "get"): "ownership.py: is it ours?",
    ("autoscaling", "horizontalpodautoscalers", "get"): "ownership.py: is it ours?",
    ("keda.sh", "scaledobjects", "get"): "ownership.py: is the existing object ours?",
    ("networking.k8s.io", "networkpolicies", "get"): "ownership.py: is it ours?",
    ("networking.k8s.io", "networkpolicies", "patch"): "server-side apply (networkPolicy)",
    ("networking.k8s.io", "networkpolicies", "create"): "server-side apply of a missing object",
    ("", "services", "patch"): "server-side apply",
    ("", "services", "create"): "server-side apply of a missing object",
    ("", "services", "delete"): "rollout.py deletes a gateway-api revision's Service",
    ("policy", "poddisruptionbudgets", "patch"): "server-side apply",
    ("policy", "poddisruptionbudgets", "create"): "server-side apply of a missing object",
    ("policy", "poddisruptionbudgets", "list"): "kopf index of engine budgets",
    ("policy", "poddisruptionbudgets", "watch"): "kopf index of engine budgets",
    ("policy", "poddisruptionbudgets", "delete"): "model_sync.py deletes a budget a model outgrew",
    ("", "pods", "list"): "kopf index of engine pods",
    ("", "pods", "watch"): "kopf index of engine pods",
    ("", "nodes", "list"): "kopf index of nodes; gpuclass.py counts matching nodes",
    ("", "nodes", "watch"): "kopf index of nodes",
    ("", "secrets", "get"): "observe.py reads a model's HF token Secret",
    ("", "events", "create"): "handlers/events.py posts core v1 Events",
    ("slmfleet.io", "modelroutes", "list"): "kopf index of ModelRoutes",
    ("slmfleet.io", "modelroutes", "watch"): "kopf watch (on.event)",
    ("slmfleet.io", "modelroutes/status", "patch"): "modelroute.py write_status",
    ("slmfleet.io", "modelroutes/finalizers", "update"): "blockOwnerDeletion on HTTPRoutes",
    ("discovery.k8s.io", "endpointslices", "list"): "kopf index of engine EndpointSlices",
    ("discovery.k8s.io", "endpointslices", "watch"): "kopf watch (on.event)",
    ("", "configmaps", "patch"): "server-side apply of the router config",
    ("", "configmaps", "create"): "server-side apply of a missing object",
    ("gateway.networking.k8s.io", "httproutes", "patch"): "server-side apply",
    ("gateway.networking.k8s.io", "httproutes", "create"): "server-side apply of a missing object",
    ("slmfleet.io", "smallmodels/scale", "patch"): "autoscaling.py sets spec.replicas",
    ("autoscaling", "horizontalpodautoscalers", "patch"): "server-side apply (mode hpa)",
    ("autoscaling", "horizontalpodautoscalers", "create"): "server-side apply of a missing object",
    ("autoscaling", "horizontalpodautoscalers", "delete"): "autoscaling.py leaves mode hpa",
    ("keda.sh", "scaledobjects", "patch"): "server-side apply (mode keda)",
    ("keda.sh", "scaledobjects", "create"): "server-side apply of a missing object",
    ("keda.sh", "scaledobjects", "delete"): "autoscaling.py leaves mode keda",
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"): "kopf resource observer",
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"): "kopf resource observer",
    ("", "persistentvolumeclaims", "get"): "ownership.py: is the weight cache's claim ours?",
    ("", "persistentvolumeclaims", "list"): "kopf index of weight cache claims",
    ("", "persistentvolumeclaims", "watch"): "kopf index of weight cache claims",
    ("", "persistentvolumeclaims", "patch"): "server-side apply; the unused-since mark",
    ("", "persistentvolumeclaims", "create"): "server-side apply of a missing object",
    ("", "persistentvolumeclaims", "delete"): "weight_cache.py deletes unused caches",
    ("batch", "jobs", "get"): "ownership.py: is the download Job ours?",
    ("batch", "jobs", "list"): "kopf index of download Jobs",
    ("batch", "jobs", "watch"): "kopf index of download Jobs",
    ("batch", "jobs", "patch"): "server-side apply",
    ("batch", "jobs", "create"): "server-side apply of a missing object",
    ("batch", "jobs", "delete"): "weight_cache.py deletes unused caches",
    ("storage.k8s.io", "storageclasses", "get"): "weight_observe.py: does the class exist?",
}

# Kube method -> the verbs the API server authorizes it as.
METHOD_VERBS = {
    "get": ("get",),
    "list": ("list",),
    "merge_patch": ("patch",),
    "create": ("create",),
    "delete": ("delete",),
    "apply": ("patch", "create"),
}
KOPF_WATCHERS = {
    "resume",
    "create",
    "update",
    "delete",
    "field",
    "event",
    "timer",
    "daemon",
    "index",
}


@functools.cache
def _install_docs() -> list[dict[str, Any]]:
    text = (REPO / "manifests" / "install.yaml").read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc]


def _one(kind: str) -> dict[str, Any]:
    found = [doc for doc in _install_docs() if doc["kind"] == kind]
    assert len(found) == 1
    return found[0]


def granted(role: dict[str, Any]) -> set[Triple]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def _group_plural(kind: str) -> tuple[str, str]:
    res = RESOURCES[kind]
    group = res.api_version.rpartition("/")[0]
    return group, res.plural


def _operator_modules() -> Iterator[tuple[Path, ast.Module]]:
    for entry in OPERATOR_CODE:
        path = PACKAGE / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            yield file, ast.parse(file.read_text())


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id == "GROUP":
        return slmfleet.GROUP
    return None


def _kube_call(call: ast.Call) -> set[Triple]:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in METHOD_VERBS):
        return set()
    receiver = ast.unparse(func.value)
    if not (receiver == "kube" or receiver.endswith(".kube")):  # kube.x(...) or rt.kube.x(...)
        return set()
    if func.attr == "apply" or not call.args or _literal(call.args[0]) not in RESOURCES:
        return set()  # apply's kinds come from the builders
    group, plural = _group_plural(_literal(call.args[0]))
    sub = next((_literal(k.value) for k in call.keywords if k.arg == "subresource"), None)
    if sub is None and func.attr == "merge_patch" and len(call.args) > 4:
        sub = _literal(call.args[4])
    resource = f"{plural}/{sub}" if sub else plural
    return {(group, resource, verb) for verb in METHOD_VERBS[func.attr]}


def _kopf_call(call: ast.Call) -> set[Triple]:
    """kopf.on.<cause>(group, version, plural) and kopf.timer/daemon: watch, and patch its state."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in KOPF_WATCHERS):
        return set()
    owner = ast.unparse(func.value)
    if owner not in {"kopf.on", "kopf"} or len(call.args) < 3:
        return set()
    group, plural = _literal(call.args[0]), _literal(call.args[2])
    verbs = {"list", "watch"} | (set() if func.attr in ("event", "index") else {"patch"})
    return {(group, plural, verb) for verb in verbs}


def _applied_kinds(tree: ast.Module) -> set[str]:
    """Kinds of the objects the builders emit: dict literals with a literal "kind"."""
    kinds = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and _literal(key) == "kind" and _literal(value) in RESOURCES:
                    kinds.add(_literal(value))
    return kinds


def needed_by_code() -> set[Triple]:
    needed: set[Triple] = set()
    for file, tree in _operator_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                needed |= _kube_call(node) | _kopf_call(node)
                if ast.unparse(node.func) in ("kopf.event", "event_body"):  # Events posted
                    needed.add(("", "events", "create"))
        if file.parent.name == "builders":
            for kind in _applied_kinds(tree):
                group, plural = _group_plural(kind)
                needed |= {(group, plural, "patch"), (group, plural, "create")}
    return needed


def test_the_cluster_role_grants_exactly_the_hand_written_table() -> None:
    rules = granted(_one("ClusterRole"))
    assert sorted(rules - EXPECTED.keys()) == [], "granted but not in the table"
    assert sorted(EXPECTED.keys() - rules) == [], "in the table but not granted"


def test_every_api_call_in_the_operator_code_is_granted() -> None:
    needed = needed_by_code()
    # The scan must really see the code: these calls are known to exist.
    assert {("", "nodes", "list"), ("", "secrets", "get"), ("apps", "deployments", "create")} <= (
        needed
    )
    assert sorted(needed - granted(_one("ClusterRole"))) == []


@pytest.mark.parametrize(
    ("group", "resource", "verb"),
    [
        ("", "secrets", "list"),
        ("", "secrets", "watch"),
        ("", "secrets", "create"),
        ("", "pods", "delete"),
        ("", "pods", "get"),
        ("", "namespaces", "list"),  # only when watchNamespaces is set
        ("", "configmaps", "list"),
        ("apps", "deployments", "update"),
        ("slmfleet.io", "smallmodels", "delete"),
        ("slmfleet.io", "gpuclasses", "create"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "create"),
        ("rbac.authorization.k8s.io", "clusterroles", "create"),
        ("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
        ("", "serviceaccounts/token", "create"),
    ],
)
def test_what_the_operator_never_needs_is_not_granted(group: str, resource: str, verb: str) -> None:
    assert (group, resource, verb) not in granted(_one("ClusterRole"))


def test_no_wildcards_and_no_resource_names() -> None:
    for rule in _one("ClusterRole")["rules"]:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
        assert "nonResourceURLs" not in rule
        assert "resourceNames" not in rule


def test_the_binding_gives_the_role_to_the_operator_service_account() -> None:
    binding = _one("ClusterRoleBinding")
    account = _one("ServiceAccount")["metadata"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": _one("ClusterRole")["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]
