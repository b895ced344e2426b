"""ModelRoute validation: the rules the CRD's schema and CEL enforce, checked in Python too."""

from __future__ import annotations

from typing import Any

import pytest

from slmfleet.api import SpecError, parse_modelroute
from slmfleet.api.crdgen import crd
from slmfleet.api.modelroute import MODELROUTE_KIND

pytestmark = pytest.mark.unit

SM = {"name": "a", "smallModelRef": {"name": "qwen"}}
URL = {"name": "b", "url": "https://api.example.com/v1", "model": "gpt"}


def body(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "slmfleet.io/v1alpha1", "kind": "ModelRoute",
            "metadata": {"name": "r"}, "spec": spec}  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"backends": []}, "spec.backends"),
        ({"backends": [{"name": "a"}]}, "exactly one of smallModelRef or url"),
        ({"backends": [{**SM, "url": "https://x.example/v1"}]}, "exactly one of smallModelRef or url"),
        ({"backends": [{**SM, "apiKeySecretRef": {"name": "s", "key": "k"}}]}, "only to url backends"),
        ({"backends": [{"name": "b", "url": "https://api.example.com/v1"}]}, "needs model"),
        ({"backends": [{**URL, "url": "https://api.example.com"}]}, "should match"),
        ({"backends": [SM, {**SM}]}, "backend names must be unique"),
        ({"backends": [SM], "fallback": ["z"]}, "fallback names a backend"),
        ({"backends": [SM, URL], "cascade": {"tiers": ["a", "z"]}}, "cascade tiers name a backend"),
        ({"backends": [SM], "cascade": {"tiers": ["a"]}}, "spec.cascade.tiers"),
        ({"backends": [SM], "provider": "gateway-api"}, "needs parentRefs"),
        ({"backends": [{**SM, "weight": 101}]}, "spec.backends[0].weight"),
        ({"backends": [SM], "retries": 6}, "spec.retries"),
        ({"backends": [SM], "cascade": {"tiers": ["a", "a"], "minMeanLogprob": 0.5}}, "minMeanLogprob"),
    ],
)  # fmt: skip
def test_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_modelroute(body(**spec))
    assert message in caught.value.message


def test_invalid_json_schema_names_the_field() -> None:
    schema = {"type": "objekt", "properties": {"id": {"pattern": "\\p{L}"}}}
    with pytest.raises(SpecError) as caught:
        parse_modelroute(
            body(backends=[SM, URL], cascade={"tiers": ["a", "b"], "jsonSchema": schema})
        )
    assert caught.value.errors == (
        'spec.cascade.jsonSchema: Invalid value: "object": not a valid JSON Schema: '
        "$.properties.id.pattern: '\\\\p{L}' is not a 'regex'",
        'spec.cascade.jsonSchema: Invalid value: "object": not a valid JSON Schema: '
        "$.type: 'objekt' is not valid under any of the given schemas",
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]},
        {"prefixItems": [{"type": "string"}], "unevaluatedItems": False},
        {"oneOf": [{"format": "date-time"}, {"pattern": "^[a-z]+$", "minLength": 2}]},
    ],
)
def test_json_schema_of_any_known_draft_is_accepted(schema: dict[str, Any]) -> None:
    route = parse_modelroute(
        body(backends=[SM, URL], cascade={"tiers": ["a", "b"], "jsonSchema": schema})
    )
    assert route.spec.cascade is not None and route.spec.cascade.json_schema == schema


def test_json_schema_of_an_unknown_draft_is_refused() -> None:
    cascade = {"tiers": ["a", "b"], "jsonSchema": {"$schema": "https://example.com/my-draft"}}
    with pytest.raises(SpecError, match="is not a JSON Schema draft this operator knows"):
        parse_modelroute(body(backends=[SM, URL], cascade=cascade))


def test_accepted_with_every_feature() -> None:
    route = parse_modelroute(
        body(
            match={"model": "support-triage", "headers": {"x-tenant": "acme"}},
            backends=[SM, {**URL, "apiKeySecretRef": {"name": "key", "key": "token"}, "weight": 0}],
            retries=1,
            timeoutSeconds=30,
            fallback=["b"],
            cascade={"tiers": ["a", "b"], "minMeanLogprob": -1.5, "jsonSchema": {"type": "object"}},
        )
    )
    assert route.spec.cascade is not None
    assert route.spec.cascade.max_escalation_fraction == 0.2  # the documented default
    assert route.spec.provider == "router"


def test_crd_names_and_columns() -> None:
    names = crd(MODELROUTE_KIND)["spec"]["names"]
    assert (names["shortNames"], names["categories"], names["kind"]) == (
        ["mr"], ["slmfleet"], "ModelRoute")  # fmt: skip
