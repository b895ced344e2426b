"""EvalSuite: a quality gate of prompts with expected answers, run against a canary revision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator

from slmfleet import API_VERSION
from slmfleet.api.base import ApiModel, SpecModel, StatusModel
from slmfleet.api.cel import Cel, exactly_one
from slmfleet.api.common import LocalObjectReference, ObjectMeta, ObjectName
from slmfleet.api.crdmeta import AGE_COLUMN, KindInfo, PrinterColumn
from slmfleet.api.errors import spec_error
from slmfleet.api.eval_dataset import CasesSource
from slmfleet.api.json_schema import AnswerSchema
from slmfleet.api.parse import plain
from slmfleet.api.regex import compile_regex

Checker = Literal["exact", "contains", "regex", "json-schema", "one-of", "judge"]
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
            "self.checker == 'judge' || (self.checker == 'one-of' ? has(self.oneOf) : "
            "(self.checker == 'json-schema' ? has(self.jsonSchema) : has(self.expected)))",
            "one-of needs oneOf, json-schema needs jsonSchema, the other checkers need expected",
            lambda c: (
                c.checker == "judge"
                or (
                    c.one_of is not None
                    if c.checker == "one-of"
                    else (
                        c.json_schema is not None
                        if c.checker == "json-schema"
                        else c.expected is not None
                    )
                )
            ),
        ),
        Cel(
            "self.checker != 'judge' || has(self.rubric)",
            "judge needs rubric",
            lambda c: c.checker != "judge" or c.rubric is not None,
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
    rubric: str | None = Field(
        None,
        max_length=8192,
        description=(
            "judge: what a good answer does; the suite's reference model grades the answer "
            "against it (PASS or FAIL), counted apart from the other checkers."
        ),
    )
    checker: Checker = Field(
        "exact", description="exact, contains, regex, json-schema, one-of, judge."
    )
    max_tokens: int = Field(64, ge=1, le=4096, description="Most tokens to generate.")

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        if self.checker == "regex" and self.expected is not None:
            try:
                compile_regex(self.expected)
            except ValueError as exc:
                raise ValueError(f"expected: {exc}") from None
        return self


class RouteBackendRef(SpecModel):
    """One backend of a ModelRoute in the suite's namespace."""

    name: ObjectName = Field(description="ModelRoute name.")
    backend: str = Field(max_length=63, description="Name of the backend in spec.backends.")


class EvalReference(SpecModel):
    """The model the candidate is compared with, case by case (a hosted API or a bigger model)."""

    CEL_RULES = (
        exactly_one(
            "smallModelRef",
            "modelRouteRef",
            "a reference sets exactly one of smallModelRef or modelRouteRef",
        ),
    )

    small_model_ref: LocalObjectReference | None = Field(
        None, description="A SmallModel in this namespace; its stable revision's ready pods answer."
    )
    model_route_ref: RouteBackendRef | None = Field(
        None,
        description=(
            "A ModelRoute backend: a url backend is called with its API key under the route's "
            "rules (allowed hosts, Secret labelled slmfleet.io/usable-by=router); a "
            "smallModelRef backend like smallModelRef."
        ),
    )
    max_gap: float = Field(
        0.02,
        ge=0,
        le=1,
        description=(
            "Largest pass-rate gap of the canary below the reference (0.02 = 2 points), proven "
            "at the suite's confidence."
        ),
    )


class EvalSuiteSpec(SpecModel):
    """Cases and the score that passes."""

    CEL_RULES = (
        Cel(
            "has(self.cases) != has(self.casesFrom)",
            "a suite sets exactly one of cases or casesFrom",
            lambda s: (s.cases is None) != (s.cases_from is None),
        ),
        Cel(
            "!has(self.cases) || !self.cases.exists(c, c.checker == 'judge') || "
            "has(self.reference)",
            "judge cases need a reference, the model that grades them",
            lambda s: (
                s.reference is not None or not any(c.checker == "judge" for c in s.cases or ())
            ),
        ),
    )

    cases: list[EvalCase] | None = Field(
        None, min_length=1, max_length=MAX_CASES, description="Eval cases, inline."
    )
    cases_from: CasesSource | None = Field(
        None, description="Eval cases from a dataset (JSONL), instead of inline cases."
    )
    pass_threshold: float = Field(
        0.9, ge=0, le=1, description="Least fraction of cases the canary must pass."
    )
    max_drop_vs_stable: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "Largest pass-rate drop of the canary below the stable revision (0.05 = 5 points), "
            "proven at the suite's confidence on the same cases."
        ),
    )
    reference: EvalReference | None = Field(
        None, description="A reference model the canary must come within maxGap of."
    )
    confidence: float = Field(
        0.95,
        ge=0.5,
        le=0.999,
        description=(
            "Confidence of the paired comparisons (stable, reference): a gap is a pass or a fail "
            "only when its interval at this confidence lies on one side of the margin."
        ),
    )
    judge_pass_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "Least fraction of judge cases the reference must grade PASS; unset: the judge "
            "score is reported, not gated."
        ),
    )
    timeout_seconds: int = Field(30, ge=1, le=600, description="Per-request timeout.")
    concurrency: int = Field(16, ge=1, le=128, description="Requests in flight per side.")
    deadline_seconds: int = Field(
        120,
        ge=1,
        le=3600,
        description="Longest one run may take; a run cut short is inconclusive.",
    )


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
        "EvalSuite holds prompts or chats with expected answers and a checker each (inline or a "
        "JSONL dataset); a SmallModel rollout runs it against the canary and gates on the score "
        "and on paired comparisons with the stable revision and a reference model."
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
