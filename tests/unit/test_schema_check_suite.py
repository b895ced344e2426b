"""The answer check against the official JSON Schema test suite (Draft 2020-12).

tests/data/json-schema-test-suite/ holds a copy of the suite's files for the keywords the check
supports (LICENSE beside them): every case must come out as the suite says, through the same
compiled check the router and the eval checker use. Cases whose schema the operator refuses when
it parses a route (Python's ``re`` has no ``\\p{...}``) must be refused, not passed; the few
RFC 3339 corner cases the format checker gets wrong are listed with their reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slmfleet.api.evalsuite import EvalCase
from slmfleet.router.schema_check import CHECKED_FORMATS, answer_check, schema_problems

pytestmark = pytest.mark.unit

SUITE = Path(__file__).resolve().parent.parent / "data" / "json-schema-test-suite"
DRAFT = SUITE / "draft2020-12"

# (file, case) the format checker (rfc3339-validator) answers the other way; kept visible here.
KNOWN_WRONG = {
    ("date-time", "a valid date-time with a leap second, UTC"): "leap seconds are refused",
    ("date-time", "a valid date-time with a leap second, with minus offset"): "leap seconds",
    ("date-time", "a trailing newline is invalid"): "the checker's regex allows a final newline",
    ("time", "a valid time string with leap second, Zulu"): "leap seconds are refused",
    ("time", "valid leap second, zero time-offset"): "leap seconds are refused",
    ("time", "valid leap second, positive time-offset"): "leap seconds are refused",
    ("time", "valid leap second, large positive time-offset"): "leap seconds are refused",
    ("time", "valid leap second, negative time-offset"): "leap seconds are refused",
    ("time", "valid leap second, large negative time-offset"): "leap seconds are refused",
}


def _groups() -> list[tuple[str, dict[str, Any]]]:
    """(file stem, group) of every group whose schema is an object: the CRD fields hold
    objects, so the suite's top-level ``true``/``false`` schemas cannot be written there."""
    return [
        (path.stem, group)
        for path in sorted(DRAFT.rglob("*.json"))
        for group in json.loads(path.read_text(encoding="utf-8"))
        if isinstance(group["schema"], dict)
    ]


GROUPS = _groups()
CASES = [
    pytest.param(group["schema"], case["data"], case["valid"], id=f"{name}: {case['description']}")
    for name, group in GROUPS
    if not schema_problems(group["schema"])
    for case in group["tests"]
    if (name, case["description"]) not in KNOWN_WRONG
]
REFUSED = [
    pytest.param(group["schema"], id=f"{name}: {group['description']}")
    for name, group in GROUPS
    if schema_problems(group["schema"])
]


def test_the_copy_is_there_with_its_licence() -> None:
    assert "Permission is hereby granted" in (SUITE / "LICENSE").read_text(encoding="utf-8")
    assert len(CASES) > 1000


@pytest.mark.parametrize(("schema", "data", "valid"), CASES)
def test_suite_case(schema: dict[str, Any], data: Any, valid: bool) -> None:
    assert answer_check(schema)(data) is valid


def test_only_unicode_property_escapes_are_refused() -> None:
    assert [p.id for p in REFUSED] == [
        "pattern: pattern with Unicode property escape requires unicode mode",
        "patternProperties: patternProperties with Unicode property escape",
    ]


@pytest.mark.parametrize("schema", REFUSED)
def test_refused_schema_is_a_spec_error(schema: dict[str, Any]) -> None:
    body = {"name": "c", "prompt": "p", "checker": "json-schema", "jsonSchema": schema}
    with pytest.raises(ValueError, match="is not a 'regex'"):
        EvalCase.model_validate(body)


def test_known_wrong_cases_are_still_wrong() -> None:
    """When the format checker starts getting these right, the list above should shrink."""
    still = {
        (name, case["description"])
        for name, group in GROUPS
        for case in group["tests"]
        if (name, case["description"]) in KNOWN_WRONG
        and answer_check(group["schema"])(case["data"]) is not case["valid"]
    }
    assert still == set(KNOWN_WRONG)


@pytest.mark.parametrize("name", ["date", "date-time", "time", "ipv4", "ipv6", "regex"])
def test_formats_of_the_copied_files_are_checked(name: str) -> None:
    assert name in CHECKED_FORMATS
