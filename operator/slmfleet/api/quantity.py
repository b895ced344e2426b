"""Kubernetes resource quantities (``500m``, ``2``, ``8Gi``, ``1e3``): the type and its value.

The pydantic type checks the API server's quantity pattern (also emitted into the CRDs); values
are computed by the kubernetes client.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from kubernetes.utils import quantity as kube_quantity
from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)


def parse_quantity(quantity: int | str) -> Decimal:
    """The exact value of a quantity in base units (cores, bytes).

    The text must match the pattern the CRD enforces (the API server's quantity grammar); the
    arithmetic is the kubernetes client's ``parse_quantity``.

    >>> parse_quantity("1536Mi") == 1536 * 1024**2
    True
    """
    if isinstance(quantity, str) and not _QUANTITY_RE.match(quantity):
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    value: Decimal = kube_quantity.parse_quantity(quantity)
    return value


def _validate_quantity(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("int_or_string_type", "Input should be an integer or a string")
    if not _QUANTITY_RE.match(value):
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": QUANTITY_PATTERN},
        )
    return value


Quantity = Annotated[
    int | str,
    PlainValidator(_validate_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
            "x-kubernetes-int-or-string": True,
        }
    ),
]
"""An integer or a quantity string, as in a Pod's resources."""
