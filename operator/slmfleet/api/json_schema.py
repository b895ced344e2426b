"""A field holding a JSON Schema that model answers are checked against (cascades, evals).

The schema itself is validated against its draft's meta-schema when the object is parsed, so a
misspelt type or a pattern Python cannot compile is a spec error naming the field (and the
object goes Stalled), not an answer check that can never pass.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from slmfleet.api.cel import cel_error
from slmfleet.router.schema_check import schema_problems


def _valid_schema(value: dict[str, Any]) -> dict[str, Any]:
    problems = schema_problems(value)
    if problems:
        # Worded like a failed rule: one "Invalid value" line per problem, under the field.
        raise cel_error(f"not a valid JSON Schema: {problem}" for problem in problems)
    return value


AnswerSchema = Annotated[dict[str, Any], AfterValidator(_valid_schema)]
"""A JSON Schema (Draft 2020-12 unless its ``$schema`` names another draft)."""
