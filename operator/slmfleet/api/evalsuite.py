"""EvalSuite: a quality gate of prompts with expected answers, run against a canary revision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator

from slmfleet import API_VERSION
from slmfleet.api.base import ApiModel, SpecModel, StatusModel
from slmfleet.api.cel import Cel
from slmfleet.api.common import ObjectMeta
from slmfleet.api.crdmeta import AGE_COLUMN, KindInfo, PrinterColumn
from slmfleet.api.errors import spec_error
from slmfleet.api.json_schema import AnswerSchema
from slmfleet.api.parse import plain
from slmfleet.api.regex import compile_regex

Checker = Literal["exact", "contains", "regex", "json-schema", "one-of"]
MAX_CASES = 200


class ChatMessage(SpecModel):
    """One OpenAI chat message."""

    role: Literal["system", "user", "assistant"] = Field(description="Who speaks.")
    content: str = Field(max_length=32768, description="What is said.")


class EvalCase(SpecModel):
    """A prompt (or chat) and how to judge the answer."""

    CEL_RULES = (
        Cel(
            "has(self.prompt) != has(self.messages)",
            "a case needs exactly one of prompt or messages",
            lambda c: (c.prompt is None) != (c.messages is None),
        ),
        Cel(
            "self.checker == 'one-of' ? has(self.oneOf) : "
            "(self.checker == 'json-schema' ? has(self.jsonSchema) : has(self.expected))",
            "one-of needs oneOf, json-schema needs jsonSchema, the other checkers need expected",
            lambda c: (
                c.one_of is not None
                if c.checker == "one-of"
                else (
                    c.json_schema is not None
                    if c.checker == "json-schema"
                    else c.expected is not None
                )
            ),
        ),
    )

    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", max_length=63, description="Name.")
    prompt: str | None = Field(None, max_length=32768, description="A completion prompt.")
    messages: list[ChatMessage] | None = Field(
        None, min_length=1, max_length=32, description="Chat messages, sent to chat completions."
    )
    expected: str | None = Field(None, max_length=32768, description="Expected text or pattern.")
    one_of: list[str] | None = Field(
        None, min_length=1, max_length=64, description="Labels of which the answer must be one."
    )
    json_schema: AnswerSchema | None = Field(
        None,
        description=(
            "JSON Schema the answer, parsed as JSON, must be valid against "
            "(Draft 2020-12 unless its $schema names another draft)."
        ),
    )
    checker: Checker = Field("exact", description="exact, contains, regex, json-schema, one-of.")
    max_tokens: int = Field(64, ge=1, le=4096, description="Most tokens to generate.")

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        if self.checker == "regex" and self.expected is not None:
            try:
                compile_regex(self.expected)
            except ValueError as exc:
                raise ValueError(f"expected: {exc}") from None
        return self


class EvalSuiteSpec(SpecModel):
    """Cases and the score that passes."""

    cases: list[EvalCase] = Field(min_length=1, max_length=MAX_CASES, description="Eval cases.")
    pass_threshold: float = Field(
        0.9, ge=0, le=1, description="Least fraction of cases the canary must pass."
    )
    max_drop_vs_stable: float | None = Field(
        None, ge=0, le=1, description="Largest score drop of the canary below the stable revision."
    )
    timeout_seconds: int = Field(30, ge=1, le=600, description="Per-request timeout.")


class EvalSuiteStatus(StatusModel):
    """Nothing yet: results live on the SmallModel that runs the suite."""

    cases: int | None = Field(None, description="Number of cases.")


class EvalSuite(ApiModel):
    """A quality gate for SmallModel rollouts."""

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: Literal["EvalSuite"] = "EvalSuite"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: EvalSuiteSpec
    status: EvalSuiteStatus = Field(default_factory=EvalSuiteStatus)


EVALSUITE_KIND = KindInfo(
    kind="EvalSuite",
    plural="evalsuites",
    scope="Namespaced",
    spec_model=EvalSuiteSpec,
    status_model=EvalSuiteStatus,
    description=(
        "EvalSuite holds prompts or chats with expected answers and a checker each; a "
        "SmallModel rollout runs it against the canary and gates on the score."
    ),
    short_names=("es",),
    printer_columns=(
        PrinterColumn("THRESHOLD", "number", ".spec.passThreshold", "Least passing score"),
        AGE_COLUMN,
    ),
)


def parse_evalsuite(body: Mapping[str, Any]) -> EvalSuite:
    """An EvalSuite from its body; :class:`SpecError` lists every problem."""
    try:
        return EvalSuite.model_validate(plain(body))
    except ValidationError as exc:
        raise spec_error(exc) from None
