"""Kubernetes resource quantities (``500m``, ``2``, ``8Gi``, ``1e3``): the type and its value."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
_SPLIT_RE = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")

_BINARY_SUFFIXES = {s: Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")}
_DECIMAL_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def parse_quantity(quantity: int | str) -> Decimal:
    """The exact value of a quantity in base units (cores, bytes).

    >>> parse_quantity("1536Mi") == 1536 * 1024**2
    True
    """
    if isinstance(quantity, int):
        return Decimal(quantity)
    match = _SPLIT_RE.match(quantity) if _QUANTITY_RE.match(quantity) else None
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    number, suffix = Decimal(match.group(1)), match.group(2)
    if suffix.endswith("i"):
        return number * _BINARY_SUFFIXES[suffix[0]]
    if len(suffix) > 1 and suffix[0] in ("e", "E"):
        return number * Decimal(10) ** Decimal(suffix[1:])
    return number * _DECIMAL_SUFFIXES[suffix]


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
