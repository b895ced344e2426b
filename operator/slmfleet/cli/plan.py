"""The plan report shared by `slmfleet plan FILE.yaml` and `kubectl slm plan NAME`, and the
GPUClasses `slmfleet plan` uses when the files name none: the built-in ones (the examples)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.parse import parse_gpuclass
from slmfleet.api.smallmodel import SmallModel
from slmfleet.planner import (
    FactsUnavailable,
    plan_memory,
    render_fit_matrix,
    render_plan_table,
    resolve_facts,
)
from slmfleet.reconcile.smallmodel import gpu_spec, serving_request

BUILTIN_GPUCLASSES = "catalog_data/gpuclasses.yaml"
"""A copy of manifests/examples/gpuclasses.yaml (a unit test keeps them equal)."""


def builtin_gpuclass_docs() -> list[dict[str, Any]]:
    """The built-in GPUClass documents: common NVIDIA GPUs and an A100 MIG slice."""
    text = resources.files("slmfleet.planner").joinpath(BUILTIN_GPUCLASSES).read_text()
    return [d for d in yaml.safe_load_all(text) if d]


def gpuclass_specs(docs: list[dict[str, Any]]) -> dict[str, GPUClassSpec]:
    """GPUClass specs by name from documents (raises SpecError on an invalid one)."""
    return {
        d["metadata"]["name"]: parse_gpuclass(d).spec for d in docs if d.get("kind") == "GPUClass"
    }


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
