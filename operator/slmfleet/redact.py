"""Strip credentials from text that leaves the operator: condition messages, Events, logs.

Error texts of HTTP clients quote what they sent: a header value that failed validation
("Invalid header value b'Bearer hf_...\\n'"), a URL with a token in its query. Every message bound
for a status or an Event goes through :func:`redact`, which removes header values of credential
headers, bearer/basic credentials, tokens of well-known formats and secret-looking query values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_CREDENTIAL_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-api-key|api-key|x-auth-token|cookie|set-cookie)"
    r"""(["']?\s*[:=]\s*)(?:b?["'])?[^\r\n,;}'"]*(?:\\n|\\r)*["']?"""
)
_SCHEME_CREDENTIAL = re.compile(
    r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=:-]+(?:\\n|\\r)*"
    # "token <value>" only where the value looks like one: 8+ characters, not all letters.
    r"|\b(token)(\s+)(?=[A-Za-z]*[0-9._~+/=:-])[A-Za-z0-9._~+/=:-]{8,}"
)
_KNOWN_TOKENS = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{8,}"  # Hugging Face
    r"|sk-[A-Za-z0-9_-]{8,}"  # OpenAI-style keys
    r"|gh[pousr]_[A-Za-z0-9]{16,}"  # GitHub
    r"|xox[abposr]-[A-Za-z0-9-]{8,}"  # Slack
    r"|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"  # JWTs (ServiceAccount tokens)
)
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|access_token|api_key|apikey|key|sig|signature|password)=)[^&\s'\"]+"
)
_MIN_LITERAL = 4


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials: known secret values first, then credential-shaped parts."""
    for value in sorted({s.strip() for s in secrets}, key=len, reverse=True):
        if len(value) >= _MIN_LITERAL:
            text = text.replace(value, REDACTED)
    text = _CREDENTIAL_HEADER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: f"{m[1] or m[3]}{m[2] or m[4]}{REDACTED}", text)
    text = _KNOWN_TOKENS.sub(REDACTED, text)
    return _SECRET_QUERY.sub(lambda m: f"{m[1]}{REDACTED}", text)
