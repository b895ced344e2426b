"""Error kinds, how upstream outcomes map onto them, and OpenAI-shaped error bodies."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """Label values of the router's error counter."""

    CONNECT = "connect"
    TIMEOUT = "timeout"
    SERVER = "5xx"
    CLIENT = "4xx"
    BODY_TOO_LARGE = "body_too_large"
    BAD_REQUEST = "bad_request"
    NO_ROUTE = "no_route"
    NO_ENDPOINTS = "no_endpoints"
    BODY_TIMEOUT = "body_timeout"
    OVERLOADED = "overloaded"
    RESPONSE_TOO_LARGE = "response_too_large"
    UNAUTHORIZED = "unauthorized"


RETRYABLE = frozenset({ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.SERVER})

# Status and OpenAI error type the router answers with when it gives up for a kind of failure.
_FAILURE_RESPONSES: dict[ErrorKind, tuple[int, str]] = {
    ErrorKind.CONNECT: (502, "upstream_unreachable"),
    ErrorKind.TIMEOUT: (504, "upstream_timeout"),
    ErrorKind.SERVER: (502, "upstream_error"),
    ErrorKind.CLIENT: (400, "invalid_request_error"),
    ErrorKind.BODY_TOO_LARGE: (413, "invalid_request_error"),
    ErrorKind.BAD_REQUEST: (400, "invalid_request_error"),
    ErrorKind.NO_ROUTE: (404, "invalid_request_error"),
    ErrorKind.NO_ENDPOINTS: (503, "service_unavailable"),
    ErrorKind.BODY_TIMEOUT: (408, "invalid_request_error"),
    ErrorKind.OVERLOADED: (429, "rate_limit_exceeded"),
    ErrorKind.RESPONSE_TOO_LARGE: (502, "upstream_error"),
    ErrorKind.UNAUTHORIZED: (401, "authentication_error"),
}


def classify_status(status: int) -> ErrorKind | None:
    """The error kind of an upstream HTTP status, None for success (below 400)."""
    if status >= 500:
        return ErrorKind.SERVER
    if status >= 400:
        return ErrorKind.CLIENT
    return None


def is_retryable(kind: ErrorKind | None) -> bool:
    """Whether the next attempt (retry or fallback) may fix this failure."""
    return kind in RETRYABLE


def failure_status(kind: ErrorKind) -> int:
    """The HTTP status the router answers with after giving up on `kind`."""
    return _FAILURE_RESPONSES[kind][0]


def openai_error(
    message: str, kind: ErrorKind, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """An error body in OpenAI's shape: {"error": {message, type, param, code}}."""
    return {
        "error": {
            "message": message,
            "type": _FAILURE_RESPONSES[kind][1],
            "param": param,
            "code": code if code is not None else kind.value,
        }
    }
