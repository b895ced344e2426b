"""Kubernetes quantities: exact values of every suffix family, and what is not a quantity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from slmfleet.api.quantity import parse_quantity

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (2, Decimal(2)),
        ("2", Decimal(2)),
        ("500m", Decimal("0.5")),
        ("3500m", Decimal("3.5")),
        ("250u", Decimal("0.00025")),
        ("100n", Decimal("0.0000001")),
        ("1.5k", Decimal(1500)),
        ("16Gi", Decimal(16 * 1024 * 1024 * 1024)),
        ("1536Mi", Decimal(1536 * 1024 * 1024)),
        ("1Ki", Decimal(1024)),
        ("2Ti", Decimal(2 * 1024**4)),
        ("1E", Decimal(10**18)),
        ("32G", Decimal(32_000_000_000)),
        ("2E2", Decimal(200)),
        ("1e3", Decimal(1000)),
        ("5e-1", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("-1", Decimal(-1)),
        ("+4", Decimal(4)),
    ],
)
def test_parse_quantity(text: int | str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["abc", "1.2.3", "5 Gi", "Gi", "1gi", "1KiB", ""])
def test_not_a_quantity(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)
