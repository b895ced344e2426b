"""`slmfleet release-finalizers`: after the operator is uninstalled, let its objects go.

The operator puts no finalizer on anything, but versions before it did (`slmfleet.io/finalizer`,
kopf's, required by their timers) on SmallModels and GPUClasses; the operator removes it as it
handles each object, but without the operator nothing does, and deleting such a SmallModel or its
namespace would hang. This removes only that finalizer (others stay), with the object's
resourceVersion so a concurrent change is never overwritten; run it after `helm uninstall` of an
upgraded release that never got to handle every object.
"""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client.exceptions import ApiException

from slmfleet import GROUP
from slmfleet.k8s import Kube

FINALIZER = f"{GROUP}/finalizer"
KINDS = ("SmallModel", "GPUClass")


def release_finalizers(kube: Kube, say: Callable[[str], None] = print) -> int:
    """Remove the operator's finalizer from every SmallModel and GPUClass; how many changed."""
    changed = 0
    for kind in KINDS:
        for obj in kube.list(kind):
            meta = obj["metadata"]
            finalizers = list(meta.get("finalizers") or [])
            if FINALIZER not in finalizers:
                continue
            kept = [f for f in finalizers if f != FINALIZER]
            patch = {"metadata": {"finalizers": kept, "resourceVersion": meta["resourceVersion"]}}
            try:
                kube.merge_patch(kind, meta["name"], patch, meta.get("namespace"))
            except ApiException as err:
                if err.status in (404, 409):  # gone, or changed meanwhile: run again
                    say(f"skipped {kind} {meta['name']}: {err.reason}")
                    continue
                raise
            where = f"{meta['namespace']}/" if meta.get("namespace") else ""
            say(f"released {kind} {where}{meta['name']}")
            changed += 1
    return changed
