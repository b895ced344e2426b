"""JSON Schema checks of model answers, done by the `jsonschema` library.

A schema is read as JSON Schema Draft 2020-12 unless its ``$schema`` names another draft the
library knows (4, 6, 7, 2019-09). Every keyword of that draft applies, and ``format`` is
asserted for the formats the library checks (see :data:`CHECKED_FORMATS`). References resolve
within the schema and to the drafts' meta-schemas only: nothing is fetched, so a ``$ref`` to
another document makes every answer fail the check.

:func:`schema_problems` is the meta-validation the operator runs when it parses a ModelRoute or
EvalSuite; :func:`answer_check` compiles a schema once (validators are cached per schema), so
checking an answer on the router's hot path never compiles. bench/jsonschema_validators.py
measured this library against fastjsonschema (bench/results/jsonschema.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema_specifications import REGISTRY
from referencing.exceptions import Unresolvable

DEFAULT_DRAFT = Draft202012Validator
DEFAULT_DIALECT = "https://json-schema.org/draft/2020-12/schema"
CHECKED_FORMATS = tuple(sorted(DEFAULT_DRAFT.FORMAT_CHECKER.checkers))
"""The ``format`` values asserted; any other format is an annotation and always passes."""

AnswerCheck = Callable[[Any], bool]
_CACHE_SIZE = 256


def _draft(schema: Mapping[str, Any]) -> type[Validator]:
    """The validator class of the draft ``schema`` declares; SchemaError for unknown ones."""
    dialect = schema.get("$schema", DEFAULT_DIALECT)
    cls = None
    if isinstance(dialect, str):
        cls = validators.validator_for({"$schema": dialect}, default=None)  # type: ignore[arg-type]
    if cls is None:
        raise SchemaError(f"{dialect!r} is not a JSON Schema draft this operator knows")
    return cls


@cache
def _meta_validator(cls: type[Validator]) -> Validator:
    return cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER)


def schema_problems(schema: Mapping[str, Any]) -> list[str]:
    """Why ``schema`` is not a valid schema of its draft, one line each (empty when it is)."""
    try:
        cls = _draft(schema)
    except SchemaError as err:
        return [f"$schema: {err.message}"]
    errors = sorted(_meta_validator(cls).iter_errors(dict(schema)), key=lambda e: e.json_path)
    return [f"{error.json_path}: {error.message}" for error in errors]


def _canonical(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=_CACHE_SIZE)
def _compiled(canonical: str) -> Validator:
    schema = json.loads(canonical)
    problems = schema_problems(schema)
    if problems:
        raise SchemaError("; ".join(problems))
    cls = _draft(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER, registry=REGISTRY)


def answer_check(schema: Mapping[str, Any]) -> AnswerCheck:
    """A compiled check of JSON values against ``schema`` (SchemaError when it is invalid).

    The same schema (by content) gives the cached validator back. A reference that does not
    resolve fails the value rather than raising.
    """
    validator = _compiled(_canonical(schema))

    def check(value: Any) -> bool:
        try:
            return bool(validator.is_valid(value))
        except Unresolvable:
            return False

    return check


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty when it conforms), each with its JSON path."""
    validator = _compiled(_canonical(schema))
    try:
        errors = sorted(validator.iter_errors(value), key=lambda e: e.json_path)
    except Unresolvable as err:
        return [f"$: {err}"]
    return [f"{error.json_path}: {error.message}" for error in errors]
