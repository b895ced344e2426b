"""What a CRD says about a kind besides its schema: names, scope, columns, subresources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from slmfleet import GROUP, VERSION


@dataclass(frozen=True)
class PrinterColumn:
    """One ``kubectl get`` column."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str = ""
    priority: int = 0

    def to_crd(self) -> dict[str, object]:
        column: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
        }
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        return column


AGE_COLUMN = PrinterColumn("AGE", "date", ".metadata.creationTimestamp")


@dataclass(frozen=True)
class ScaleSubresource:
    """Where ``kubectl scale`` and the HorizontalPodAutoscaler read and write replicas."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str | None = None

    def to_crd(self) -> dict[str, str]:
        scale = {
            "specReplicasPath": self.spec_replicas_path,
            "statusReplicasPath": self.status_replicas_path,
        }
        if self.label_selector_path:
            scale["labelSelectorPath"] = self.label_selector_path
        return scale


@dataclass(frozen=True)
class KindInfo:
    """Everything crdgen needs to render one CustomResourceDefinition."""

    kind: str
    plural: str
    scope: Literal["Namespaced", "Cluster"]
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    description: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ("slmfleet",)
    printer_columns: tuple[PrinterColumn, ...] = (AGE_COLUMN,)
    scale: ScaleSubresource | None = None
    group: str = GROUP
    version: str = VERSION

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"
