"""Credentials never survive into condition messages or Events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from slmfleet.conditions import Verdict, conditions_for
from slmfleet.redact import REDACTED, redact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Invalid header value b'Bearer hf_abcdefghijklmnop\\n'", "hf_abcdefghijklmnop"),
        ("Invalid header value b'Bearer opaque.value\\n'", "opaque.value"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('{"authorization": "Bearer abc"}', "abc"),
        ("headers {'x-api-key': 'k3y-value'} rejected", "k3y-value"),
        ("GET https://api.example/v1?token=s3cr3t&x=1 failed", "s3cr3t"),
        ("GET https://api.example/v1?api_key=s3cr3t failed", "s3cr3t"),
        ("upstream said: invalid key sk-proj-ABCDEFGH12345", "sk-proj-ABCDEFGH12345"),
        ("token ghp_ABCDEFGHIJKLMNOPQRSTUV is revoked", "ghp_ABCDEFGHIJKLMNOPQRSTUV"),
        ("jwt eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl expired", "eyJzdWIiOiIx"),
        ("token abcd-1234-efgh was refused", "abcd-1234-efgh"),
        ("Cookie: session=abcdef; Path=/", "session=abcdef"),
    ],
)
def test_credentials_are_removed(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "SmallModel 'qwen' has no ready replicas",
        "a token was rejected by the Hub (401): provide a valid token.",
        "Secret 'api-key' is not labelled slmfleet.io/usable-by=router",
        "https://api.example/v1 is not in the allowed hosts",
    ],
)
def test_ordinary_messages_are_kept(text: str) -> None:
    assert redact(text) == text


def test_known_secret_values_are_removed_even_without_a_recognisable_shape() -> None:
    assert redact("the endpoint echoed plainword42", ["plainword42\n"]) == (
        f"the endpoint echoed {REDACTED}"
    )
    assert redact("short abc", ["abc"]) == "short abc"  # too short to be a credential


def test_condition_messages_and_their_transitions_are_redacted() -> None:
    verdict = Verdict(False, "HubError", "b'Bearer hf_abcdefghijklmnop\\n'", stalled=True)
    conditions, transitions = conditions_for(verdict, [], 1, datetime.now(UTC))
    texts = [c["message"] for c in conditions] + [t.message for t in transitions]
    assert texts and all("hf_abcdefghijklmnop" not in t for t in texts)
