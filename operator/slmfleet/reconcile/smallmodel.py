"""What a SmallModel should look like, decided purely from what was observed.

``decide`` takes the parsed model, its GPUClass, the model facts and the engine Deployment's state,
and returns the children to apply, the kstatus verdict and the status fields. When something is
wrong (no GPUClass, unknown model, does not fit) it returns no children at all: nothing that
already exists is touched, and Stalled says what to fix.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slmfleet.api.engine import extra_arg_value
from slmfleet.api.gpuclass import GPUClassSpec
from slmfleet.api.rollout_status import RolloutStatus
from slmfleet.api.smallmodel import SmallModel
from slmfleet.builders.deployment import ModelRef, deployment, desired_replicas
from slmfleet.builders.labels import REVISION_LABEL, label_selector, selector_labels
from slmfleet.builders.service import service
from slmfleet.conditions import Verdict
from slmfleet.planner import (
    GPUSpec,
    MemoryPlan,
    ModelFacts,
    ServingRequest,
    plan_memory,
    smallest_fitting,
)
from slmfleet.planner.compat import missing_plugin
from slmfleet.reconcile.cache_node import pin, pinned_verdict
from slmfleet.reconcile.cold_start import record
from slmfleet.reconcile.disruption_budget import budgets
from slmfleet.reconcile.rollout_conditions import rollout_verdict
from slmfleet.reconcile.weight_cache import WeightsObserved
from slmfleet.reconcile.weight_gate import weights_gate
from slmfleet.rollout.plan import replicas_of

BATCHED_TOKENS_FLAG = "--max-num-batched-tokens"


@dataclass(frozen=True)
class DeploymentState:
    """The parts of the engine Deployment's status that decide readiness."""

    generation: int
    observed_generation: int
    replicas: int
    ready_replicas: int
    updated_replicas: int
    revision: str | None
    spec_replicas: int | None = None
    """spec.replicas: what the Deployment is asked for (None: unknown, read ``replicas``)."""

    @property
    def asked(self) -> int:
        return self.replicas if self.spec_replicas is None else self.spec_replicas

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> DeploymentState:
        status = body.get("status") or {}
        meta = body.get("metadata") or {}
        return cls(
            generation=int(meta.get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
            replicas=int(status.get("replicas") or 0),
            ready_replicas=int(status.get("readyReplicas") or 0),
            updated_replicas=int(status.get("updatedReplicas") or 0),
            revision=(meta.get("labels") or {}).get(REVISION_LABEL),
            spec_replicas=int((body.get("spec") or {}).get("replicas", 1) or 0),
        )


@dataclass(frozen=True)
class Observed:
    """Everything the handler looked up before deciding."""

    gpuclass: GPUClassSpec | None
    facts: ModelFacts | None
    facts_error: str | None = None
    deployment: DeploymentState | None = None
    unschedulable: str | None = None
    other_gpuclasses: Sequence[GPUSpec] = ()
    revisions: Mapping[str, DeploymentState] = field(default_factory=dict)
    """Every engine Deployment of the model, by revision (one per revision)."""
    token_error: str | None = None
    """Why the Hub token Secret the model names cannot be used (see token_problem)."""
    weights: WeightsObserved | None = None
    """The weight cache of the spec's (repo, revision), when the model has spec.cache."""
    pods: tuple[Mapping[str, Any], ...] = ()
    """The model's engine pods (for the cold-start record)."""
    budgets: tuple[Mapping[str, Any], ...] = ()
    """The PodDisruptionBudgets labelled for the model (see disruption_budget.py)."""


def token_problem(secret: str, key: str, exists: bool, has_key: bool) -> str | None:
    """What is wrong with the token Secret a SmallModel names: engine pods that reference a
    missing Secret or key never start (the kubelet refuses the container)."""
    if not exists:
        return f"Secret {secret!r} named in spec.source.huggingFace.tokenSecretRef does not exist"
    if not has_key:
        return f"Secret {secret!r} has no key {key!r} (spec.source.huggingFace.tokenSecretRef)"
    return None


@dataclass(frozen=True)
class Decision:
    children: tuple[dict[str, Any], ...]
    verdict: Verdict
    status: dict[str, Any] = field(default_factory=dict)
    plan: MemoryPlan | None = None


def gpu_spec(name: str, spec: GPUClassSpec) -> GPUSpec:
    return GPUSpec(
        name=name,
        product=spec.product,
        memory_gib=spec.memory_gib,
        compute_capability=spec.compute_capability,
        gpus_per_replica=spec.gpus_per_replica,
        price_per_gpu_hour=spec.price_per_gpu_hour,
    )


def serving_request(model: SmallModel) -> ServingRequest:
    spec = model.spec
    batched = extra_arg_value(spec.engine.extra_args, BATCHED_TOKENS_FLAG)
    return ServingRequest(
        quantization=spec.quantization,
        dtype=spec.dtype,
        kv_cache_dtype=spec.kv_cache_dtype,
        max_model_len=spec.max_model_len,
        max_num_seqs=spec.max_num_seqs,
        tensor_parallel_size=spec.tensor_parallel_size,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        max_num_batched_tokens=int(batched) if batched and batched.isdigit() else None,
        quantization_plugins=spec.engine.plugins(),
    )


def stalled(reason: str, message: str, **status: Any) -> Decision:
    return Decision(
        (), Verdict(False, reason, message, stalled=True), {"phase": "Stalled", **status}
    )


def _does_not_fit(plan: MemoryPlan, model: SmallModel, observed: Observed) -> Decision:
    better = (
        smallest_fitting(observed.facts, serving_request(model), observed.other_gpuclasses)
        if observed.facts is not None
        else None
    )
    hint = (
        f" The smallest GPUClass that fits is {better.name}."
        if better
        else (" No GPUClass in the cluster fits it as requested.")
    )
    return stalled("DoesNotFit", plan.reason + hint, plan=plan.to_summary())


def _progress(
    model: SmallModel,
    rollout: RolloutStatus | None,
    state: DeploymentState | None,
    revision: str,
    unschedulable: str | None,
) -> tuple[Verdict, str]:
    rolling = rollout_verdict(model, revision, rollout)
    if rolling is not None:
        return rolling
    want = desired_replicas(model.spec)
    if state is None:
        return Verdict(
            False, "Creating", "creating the engine Deployment", reconciling=True
        ), "Pending"
    current = (
        state.observed_generation >= state.generation
        and state.revision == revision
        and state.updated_replicas >= want
    )
    ready = f"{state.ready_replicas}/{want} replicas ready"
    if current and state.ready_replicas >= want and state.replicas <= want:
        if want == 0:
            return Verdict(True, "ScaledToZero", "0 replicas requested"), "Ready"
        return Verdict(True, "Available", ready), "Ready"
    if unschedulable:
        message = f"{ready}; waiting for GPUs: {unschedulable}"
        return Verdict(False, "Unschedulable", message, reconciling=True), "Pending"
    if current and state.replicas == want and 0 < state.ready_replicas < want:
        return Verdict(False, "Degraded", ready, reconciling=True), "Degraded"
    return Verdict(
        False, "Progressing", f"rolling out revision {revision}: {ready}", reconciling=True
    ), "Progressing"


@dataclass(frozen=True)
class EngineDraft:
    """What the spec asks for, before the rollout decides replicas and the verdict."""

    engine: dict[str, Any]
    revision: str
    plan: MemoryPlan
    image: str
    cache: dict[str, Any] | None = None
    """status.cache of a model with a weight cache (complete by then)."""
    node: str | None = None
    """The node a ReadWriteOnce weight cache pins the engine's pods to."""


def draft(model: SmallModel, observed: Observed, default_image: str) -> EngineDraft | Decision:
    """The engine Deployment the spec produces, or a Stalled decision saying why there is none."""
    spec = model.spec
    if observed.gpuclass is None:
        return stalled(
            "GPUClassNotFound",
            f"GPUClass {spec.gpu_class_name!r} does not exist; create it or change "
            "spec.gpuClassName. Running replicas are left as they are.",
        )
    if observed.token_error is not None:
        return stalled(
            "TokenSecretNotFound", observed.token_error + ". Running replicas are left as they are."
        )
    if observed.facts is None:
        return stalled("ModelFactsUnavailable", observed.facts_error or "model facts unavailable")
    plugin = missing_plugin(observed.facts.quant_method or spec.quantization, spec.engine.plugins())
    if plugin:
        return stalled("QuantizationPluginMissing", plugin)
    gpu = gpu_spec(spec.gpu_class_name, observed.gpuclass)
    plan = plan_memory(observed.facts, serving_request(model), gpu)
    if not plan.fits:
        return _does_not_fit(plan, model, observed)
    ref = ModelRef(
        model.metadata.name, model.metadata.namespace or "default", model.metadata.uid or ""
    )
    image = spec.engine.image or default_image
    engine = deployment(ref, spec, observed.gpuclass, plan, image)
    revision = engine["metadata"]["labels"][REVISION_LABEL]
    gate = weights_gate(model, observed.weights, plan, observed.gpuclass, revision)
    if gate.waiting:
        assert gate.verdict is not None
        phase = "Stalled" if gate.verdict.stalled else "Progressing"
        status = {"phase": phase, "plan": plan.to_summary(), "cache": gate.status}
        return Decision(gate.children, gate.verdict, status, plan)
    if gate.node is not None:
        engine = pin(engine, gate.node)
    return EngineDraft(engine, revision, plan, image, gate.status, gate.node)


def finish(
    model: SmallModel, observed: Observed, d: EngineDraft, rollout: RolloutStatus | None
) -> Decision:
    """Replicas of the spec's revision, the verdict and the status, for the rollout ``rollout``."""
    spec, name = model.spec, model.metadata.name
    engine = copy.deepcopy(d.engine)
    planned = replicas_of(spec.rollout, rollout, d.revision, desired_replicas(spec))
    engine["spec"]["replicas"] = planned.get(d.revision, 0)
    state = observed.revisions.get(d.revision) if observed.revisions else observed.deployment
    verdict, phase = _progress(model, rollout, state, d.revision, observed.unschedulable)
    if d.node is not None and d.cache is not None:
        verdict = pinned_verdict(verdict, str(d.cache.get("name")), d.node)
    every = list(observed.revisions.values()) or ([state] if state else [])
    status = {
        "phase": phase,
        "plan": d.plan.to_summary(),
        "replicas": sum(s.replicas for s in every),
        "readyReplicas": sum(s.ready_replicas for s in every),
        "selector": label_selector(selector_labels(name)),
        "image": d.image,
        "revision": spec.source.hugging_face.revision if spec.source.hugging_face else None,
        "servedModelName": spec.served_model_name or name,
        "templateHash": d.revision,
    }
    if d.cache is not None or model.status.cache is not None:
        status["cache"] = d.cache  # None removes the status of a cache the spec dropped
    starts = record(
        [c.to_body() for c in model.status.cold_starts], d.revision, observed.pods, d.cache
    )
    if starts:
        status["coldStarts"] = starts
    ref = ModelRef(name, model.metadata.namespace or "default", model.metadata.uid or "")
    children = (engine, service(ref), *budgets(ref, spec))
    return Decision(children, verdict, status, d.plan)


def decide(model: SmallModel, observed: Observed, default_image: str) -> Decision:
    """The children to apply and the status to report for ``model`` (its current rollout)."""
    d = draft(model, observed, default_image)
    if isinstance(d, Decision):
        return d
    return finish(model, observed, d, model.status.rollout)
