"""Shapes shared by every kind: names, references, conditions, and the few Pod fields
(env, tolerations, resources) that users set through our specs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field
from pydantic.config import JsonDict

from slmfleet.api.base import ApiModel, SpecModel, StatusModel
from slmfleet.api.cel import Cel
from slmfleet.api.quantity import Quantity

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
CONFIG_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

ObjectName = Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN, max_length=253)]
"""The name of a Kubernetes object (DNS subdomain)."""

ConditionStatus = Literal["True", "False", "Unknown"]


class ObjectMeta(ApiModel):
    """The parts of metadata the operator reads."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Condition(StatusModel):
    """One aspect of the object's state, as in metav1.Condition."""

    type: str = Field(
        max_length=316, description="Kind of condition in CamelCase, for example Ready."
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        "", max_length=1024, description="Machine-readable CamelCase cause of the last change."
    )
    message: str = Field("", max_length=32768, description="Human-readable details.")
    last_transition_time: AwareDatetime | None = Field(
        None, description="When status last changed."
    )
    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation the condition was computed from."
    )


CONDITIONS_LIST: JsonDict = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}
"""Schema extras for a conditions list: one entry per type, merged by type."""


class LocalObjectReference(SpecModel):
    """A reference to an object in the same namespace."""

    name: ObjectName = Field(description="Name of the object.")


class SecretKeyRef(SpecModel):
    """A key of a Secret in the model's namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: str = Field(
        "HF_TOKEN",
        pattern=CONFIG_KEY_PATTERN,
        max_length=253,
        description="Key in the Secret that holds the value.",
    )


class KeySelector(SpecModel):
    """A key of a Secret or ConfigMap."""

    name: ObjectName = Field(description="Name of the Secret or ConfigMap.")
    key: str = Field(pattern=CONFIG_KEY_PATTERN, max_length=253, description="Key to read.")


class EnvVarSource(SpecModel):
    """Where an environment variable's value comes from."""

    CEL_RULES = (
        Cel(
            "has(self.secretKeyRef) != has(self.configMapKeyRef)",
            "valueFrom must set exactly one of secretKeyRef or configMapKeyRef",
            lambda s: (s.secret_key_ref is None) != (s.config_map_key_ref is None),
        ),
    )

    secret_key_ref: KeySelector | None = Field(None, description="A key of a Secret.")
    config_map_key_ref: KeySelector | None = Field(None, description="A key of a ConfigMap.")


class EnvVar(SpecModel):
    """An environment variable for the engine container."""

    CEL_RULES = (
        Cel(
            "!(has(self.value) && has(self.valueFrom))",
            "env entries set value or valueFrom, not both",
            lambda s: s.value is None or s.value_from is None,
        ),
    )

    name: str = Field(pattern=ENV_NAME_PATTERN, max_length=256, description="Name of the variable.")
    value: str | None = Field(None, max_length=32768, description="Literal value.")
    value_from: EnvVarSource | None = Field(
        None, description="Read the value from a Secret or ConfigMap key instead."
    )


class Toleration(SpecModel):
    """A Pod toleration, as in core/v1."""

    CEL_RULES = (
        Cel(
            "has(self.key) || (has(self.operator) && self.operator == 'Exists')",
            "a toleration without a key must use operator Exists",
            lambda s: s.key is not None or s.operator == "Exists",
        ),
        Cel(
            "!(has(self.operator) && self.operator == 'Exists' && has(self.value)"
            " && self.value != '')",
            "a toleration with operator Exists must not set a value",
            lambda s: not (s.operator == "Exists" and s.value),
        ),
        Cel(
            "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
            "tolerationSeconds needs effect NoExecute",
            lambda s: s.toleration_seconds is None or s.effect == "NoExecute",
        ),
    )

    key: str | None = Field(None, max_length=316, description="Taint key; empty matches all.")
    operator: Literal["Exists", "Equal"] | None = Field(
        None, description="Exists or Equal (the default when unset)."
    )
    value: str | None = Field(None, max_length=63, description="Taint value for Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to match; empty matches all effects."
    )
    toleration_seconds: int | None = Field(
        None, description="How long a NoExecute taint is tolerated before eviction."
    )


class ResourceList(SpecModel):
    """CPU and memory amounts. The GPU count comes from the GPUClass, never from here."""

    cpu: Quantity | None = Field(None, description="CPU, for example 4 or 3500m.")
    memory: Quantity | None = Field(None, description="Memory, for example 32Gi.")


class ResourceRequirements(SpecModel):
    """CPU and memory requests and limits for the engine container."""

    requests: ResourceList | None = Field(None, description="Amounts the scheduler reserves.")
    limits: ResourceList | None = Field(None, description="Amounts the container may not exceed.")
