"""RouterConfig: the JSON document the operator renders into a ConfigMap for the router.

Every model is frozen; a loaded config is an immutable snapshot that in-flight requests keep
while a newer one is swapped in.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from slmfleet.api.regex import check_regex
from slmfleet.router.schema_check import AnswerCheck, answer_check, schema_problems

_ENDPOINT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")


class _CamelModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class EndpointPolicy(StrEnum):
    """How a request picks one endpoint of a backend."""

    LEAST_IN_FLIGHT = "leastInFlight"
    ROUND_ROBIN = "roundRobin"


class RouteMatch(_CamelModel):
    """Which requests a route takes: the OpenAI `model` name (or alias) and exact headers."""

    model: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _lower_header_names(cls, value: dict[str, str]) -> dict[str, str]:
        return {name.lower(): wanted for name, wanted in value.items()}


def _check_endpoints(value: tuple[str, ...]) -> tuple[str, ...]:
    for endpoint in value:
        match = _ENDPOINT.match(endpoint)
        if match is None or not 0 < int(match.group(2)) < 65536:
            raise ValueError(f"endpoint {endpoint!r} is not host:port")
    return value


class RevisionSplit(_CamelModel):
    """One revision's share of a backend's requests while a canary runs, and its endpoints."""

    revision: str = Field(min_length=1)
    weight: int = Field(ge=0, le=100)
    endpoints: tuple[str, ...] = ()
    mirror_percent: float = Field(default=0, ge=0, le=100)
    """Percent of the backend's answered requests also sent here (a shadow step's canary)."""

    _endpoints_are_host_port = field_validator("endpoints")(_check_endpoints)


class Backend(_CamelModel):
    """One destination: in-cluster endpoints (filled by discovery) or an external base URL.

    While a SmallModel rolls out a canary, ``revisions`` splits the backend's requests between
    its stable and canary revisions by weight; ``endpoints`` then lists the endpoints of both.
    """

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    weight: int = Field(default=100, ge=0, le=100)
    revision: str = ""
    endpoints: tuple[str, ...] = ()
    url: str | None = None
    api_key_env: str | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    revisions: tuple[RevisionSplit, ...] = ()
    hold_seconds: float | None = Field(default=None, ge=0)
    """How long a request waits for this backend's first endpoint; unset: the defaults' hold."""

    _endpoints_are_host_port = field_validator("endpoints")(_check_endpoints)

    @model_validator(mode="after")
    def _url_or_endpoints(self) -> Backend:
        if self.url is not None and self.endpoints:
            raise ValueError(f"backend {self.name!r}: give either url or endpoints, not both")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"backend {self.name!r}: url must start with http:// or https://")
        if self.api_key_env is not None and self.url is None:
            raise ValueError(f"backend {self.name!r}: apiKeyEnv only applies to url backends")
        if self.revisions and self.url is not None:
            raise ValueError(f"backend {self.name!r}: revisions only apply to in-cluster backends")
        if self.hold_seconds is not None and self.url is not None:
            raise ValueError(
                f"backend {self.name!r}: holdSeconds only applies to in-cluster backends"
            )
        names = [split.revision for split in self.revisions]
        if len(set(names)) != len(names):
            raise ValueError(f"backend {self.name!r}: revision names must be unique")
        return self


class CascadePolicy(_CamelModel):
    """Ordered tiers of backends; a request climbs a tier when the answer fails the checks."""

    tiers: tuple[str, ...] = Field(min_length=2)
    min_mean_logprob: float | None = Field(default=None, le=0)
    json_schema: dict[str, Any] | None = None
    regex: str | None = None
    escalate_on_length: bool = True
    escalate_on_error: bool = True
    max_escalation_fraction: float = Field(default=0.2, ge=0, le=1)
    window_seconds: float = Field(default=60.0, gt=0)

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    @field_validator("json_schema")
    @classmethod
    def _schema_is_valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problems = schema_problems(value) if value is not None else []
        if problems:
            raise ValueError("jsonSchema is not a valid JSON Schema: " + "; ".join(problems))
        return value

    @cached_property
    def answer_check(self) -> AnswerCheck | None:
        """The compiled check of ``json_schema``, made once per config snapshot."""
        return answer_check(self.json_schema) if self.json_schema is not None else None


class ShadowPolicy(_CamelModel):
    """Mirror a sample of the route's answered requests to another backend, off the served path."""

    backend: str = Field(min_length=1)
    percent: float = Field(gt=0, le=100)


class Route(_CamelModel):
    """A served model name: its backends, split by weight, with fallback and optional cascade."""

    name: str = Field(min_length=1)
    match: RouteMatch = Field(default_factory=RouteMatch)
    backends: tuple[Backend, ...] = Field(min_length=1)
    timeout_seconds: float | None = Field(default=None, gt=0)
    retries: int = Field(default=0, ge=0, le=5)
    fallback: tuple[str, ...] = ()
    cascade: CascadePolicy | None = None
    client_keys_env: str | None = None
    shadow: ShadowPolicy | None = None

    @model_validator(mode="after")
    def _names_resolve(self) -> Route:
        names = [backend.name for backend in self.backends]
        if len(set(names)) != len(names):
            raise ValueError(f"route {self.name!r}: backend names must be unique")
        referenced = list(self.fallback) + list(self.cascade.tiers if self.cascade else ())
        referenced += [self.shadow.backend] if self.shadow else []
        unknown = sorted(set(referenced) - set(names))
        if unknown:
            raise ValueError(f"route {self.name!r}: unknown backends {unknown}")
        return self

    def backend(self, name: str) -> Backend | None:
        """The backend called `name`, if this route has one."""
        return next((b for b in self.backends if b.name == name), None)

    @property
    def model_names(self) -> tuple[str, ...]:
        """The OpenAI model names this route answers to: its name, then its alias."""
        alias = self.match.model
        return (self.name,) if alias in (None, self.name) else (self.name, str(alias))


class RouterDefaults(_CamelModel):
    """Limits that apply to every route."""

    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    request_timeout_seconds: float = Field(default=300.0, gt=0)
    hold_when_no_endpoints_seconds: float = Field(default=30.0, ge=0)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)
    max_concurrent_requests: int = Field(default=512, gt=0)
    max_held_requests: int = Field(default=256, ge=0)
    max_response_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    endpoint_policy: EndpointPolicy = EndpointPolicy.LEAST_IN_FLIGHT


class RouterConfig(_CamelModel):
    """The whole router configuration: defaults, routes, and the generation they make up.

    ``generation`` names this config's content (the operator writes ``content_generation()``);
    the router reports it in /health and a metric, so the operator can tell which config each
    router replica serves.
    """

    defaults: RouterDefaults = Field(default_factory=RouterDefaults)
    routes: tuple[Route, ...] = ()
    generation: str | None = Field(default=None, pattern=r"^[0-9a-z]{1,64}$")

    @model_validator(mode="after")
    def _route_names_unique(self) -> RouterConfig:
        names = [route.name for route in self.routes]
        if len(set(names)) != len(names):
            raise ValueError("route names must be unique")
        return self

    def hold_seconds(self, backend: Backend) -> float:
        """How long a request waits for ``backend`` to list an endpoint (within its deadline)."""
        if backend.hold_seconds is not None:
            return backend.hold_seconds
        return self.defaults.hold_when_no_endpoints_seconds

    def route(self, name: str) -> Route | None:
        """The route called `name`, if any."""
        return next((r for r in self.routes if r.name == name), None)

    def content_generation(self) -> str:
        """A short hash of the defaults and routes: equal for equal configs, new for any change."""
        canonical = self.model_dump_json(by_alias=True, exclude_none=True, exclude={"generation"})
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def served_generation(self) -> str:
        """The generation this config reports: the one written into it, else its own hash."""
        return self.generation or self.content_generation()

    def stamped(self) -> RouterConfig:
        """This config with ``generation`` set to its content hash (what the operator writes)."""
        return self.model_copy(update={"generation": self.content_generation()})

    def to_json(self) -> str:
        """The config as the camelCase JSON the router reads."""
        return self.model_dump_json(by_alias=True, exclude_none=True, indent=2)


def parse_config(text: str) -> RouterConfig:
    """Validate a JSON document into a RouterConfig (raises pydantic.ValidationError)."""
    return RouterConfig.model_validate(json.loads(text))


def load_config(path: str | Path) -> RouterConfig:
    """Read and validate the router config file at `path`."""
    return parse_config(Path(path).read_text(encoding="utf-8"))
