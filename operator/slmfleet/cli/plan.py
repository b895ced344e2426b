"""The plan report shared by `slmfleet plan FILE.yaml` and `kubectl slm plan NAME`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.smallmodel import SmallModel
from slmfleet.planner import (
    FactsUnavailable,
    plan_memory,
    render_fit_matrix,
    render_plan_table,
    resolve_facts,
)
from slmfleet.reconcile.smallmodel import gpu_spec, serving_request


@dataclass(frozen=True)
class PlanReport:
    text: str
    fits: bool


def plan_report(
    model: SmallModel, gpuclasses: Mapping[str, GPUClassSpec], token: str | None = None
) -> PlanReport:
    """The plan on the model's own GPUClass, then the fit on every GPUClass given."""
    name = model.metadata.name
    hf = model.spec.source.hugging_face
    if hf is None:
        return PlanReport(f"{name}: a PVC source cannot be planned (no config.json to read)", False)
    try:
        resolved = resolve_facts(hf.repo, hf.revision, token=token)
    except FactsUnavailable as err:
        return PlanReport(f"{name}: {err}", False)
    request = serving_request(model)
    gpus = [gpu_spec(n, s) for n, s in sorted(gpuclasses.items())]
    lines = [f"SmallModel {name}: {hf.repo}@{hf.revision}", f"facts: {resolved.detail}", ""]
    own = gpuclasses.get(model.spec.gpu_class_name)
    fits = False
    if own is None:
        lines.append(f"GPUClass {model.spec.gpu_class_name!r} is not among the GPUClasses given.")
    else:
        plan = plan_memory(resolved.facts, request, gpu_spec(model.spec.gpu_class_name, own))
        fits = plan.fits
        lines.append(render_plan_table(plan))
    if gpus:
        lines += ["", "On every GPUClass:", render_fit_matrix(resolved.facts, request, gpus)]
    return PlanReport("\n".join(lines), fits)
