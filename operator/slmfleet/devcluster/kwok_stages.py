"""kwok pod lifecycle for the local cluster: a pod is Ready only once its backing process serves.

kwok's built-in pod stage marks a pod Running and Ready in one step, before any process answers at
its address. Here a pod first becomes Running with its IP but not Ready; the pod backer starts
the process behind it, waits until it accepts connections, and then sets the annotation
``SERVING_ANNOTATION``; only then does kwok mark the pod Ready. So Services, EndpointSlices and the
router see a pod as ready exactly when something answers, as a readiness probe would ensure.

Deletion follows the kubelet too. A pod the backer runs a process for carries
``BACKED_ANNOTATION``; once it has a deletionTimestamp kwok makes it not Ready (so it leaves the
EndpointSlices) while the backer runs its preStop wait, SIGTERMs the process and SIGKILLs it
after the grace period (see termination.py), then sets ``TERMINATED_ANNOTATION``; only then does
kwok remove the pod. A pod with no process behind it is removed at once.
"""

from __future__ import annotations

from typing import Any

SERVING_ANNOTATION = "dev.slmfleet.io/serving"
BACKED_ANNOTATION = "dev.slmfleet.io/backed"
TERMINATED_ANNOTATION = "dev.slmfleet.io/terminated"

_CONTAINERS = """
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: READY
  restartCount: 0
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
"""


def _conditions(ready: str) -> str:
    rows = [("Initialized", "True"), ("PodScheduled", "True"), ("Ready", ready),
            ("ContainersReady", ready)]  # fmt: skip
    return "conditions:\n" + "".join(
        f'- type: {kind}\n  status: "{status}"\n  lastTransitionTime: {{{{ $now | Quote }}}}\n'
        for kind, status in rows
    )


def _template(ready: str, with_address: bool) -> str:
    address = (
        "hostIP: {{ NodeIPWith .spec.nodeName | Quote }}\n"
        'podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" )'
        ' ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}\n'
        "startTime: {{ $now | Quote }}\n"
        if with_address
        else ""
    )
    containers = _CONTAINERS.replace("READY", "true" if ready == "True" else "false")
    return "{{ $now := Now }}\n" + _conditions(ready) + containers + address + "phase: Running\n"


def _stage(name: str, expressions: list[dict[str, Any]], nxt: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchExpressions": expressions},
            "next": nxt,
        },
    }


NOT_DELETED = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
DELETED = {"key": ".metadata.deletionTimestamp", "operator": "Exists"}
READY_IS_TRUE = {
    "key": '.status.conditions.[] | select( .type == "Ready" ) | .status',
    "operator": "In",
    "values": ["True"],
}


def _annotation(name: str, operator: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": f'.metadata.annotations["{name}"]', "operator": operator}
    if operator == "In":
        expression["values"] = ["true"]
    return expression


def pod_stages() -> list[dict[str, Any]]:
    """Start (Running, an IP, not Ready), serve (Ready once annotated), and on deletion: not
    Ready while the backer terminates the process, removed once it has (at once when unbacked).
    """
    return [
        _stage(
            "slmfleet-pod-start",
            [NOT_DELETED, {"key": ".status.podIP", "operator": "DoesNotExist"}],
            {"statusTemplate": _template("False", with_address=True)},
        ),
        _stage(
            "slmfleet-pod-serve",
            [
                NOT_DELETED,
                {"key": ".status.podIP", "operator": "Exists"},
                {"key": ".status.phase", "operator": "In", "values": ["Running"]},  # not ended
                _annotation(SERVING_ANNOTATION, "In"),
                {
                    "key": '.status.conditions.[] | select( .type == "Ready" ) | .status',
                    "operator": "In",
                    "values": ["False"],
                },
            ],
            {"statusTemplate": _template("True", with_address=False)},
        ),
        _stage(
            "slmfleet-pod-terminating",
            [
                DELETED,
                _annotation(BACKED_ANNOTATION, "In"),
                _annotation(TERMINATED_ANNOTATION, "DoesNotExist"),
                READY_IS_TRUE,
            ],
            {"statusTemplate": _template("False", with_address=False)},
        ),
        _stage(
            "slmfleet-pod-delete",
            [DELETED, _annotation(BACKED_ANNOTATION, "DoesNotExist")],
            {"finalizers": {"empty": True}, "delete": True},
        ),
        _stage(
            "slmfleet-pod-delete-terminated",
            [DELETED, _annotation(TERMINATED_ANNOTATION, "In")],
            {"finalizers": {"empty": True}, "delete": True},
        ),
    ]
