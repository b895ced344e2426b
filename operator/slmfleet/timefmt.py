"""RFC 3339 timestamps as the Kubernetes API writes them: UTC, ending in ``Z``.

The one place that turns times into status strings and back (conditions, rollout steps,
autoscaling, object timestamps). Formatting is pydantic's JSON form of an aware datetime;
parsing is the standard library's ``datetime.fromisoformat``, which reads RFC 3339 (``Z``
included) since Python 3.11.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, TypeAdapter

_DATETIME = TypeAdapter(AwareDatetime)


def format_time(moment: datetime, *, whole_seconds: bool = False) -> str:
    """``2026-03-01T12:00:30Z`` (with a fraction when ``moment`` has one, unless whole_seconds).

    Conditions use whole seconds, as ``metav1.Time`` does; ``moment`` must be timezone-aware.
    """
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone")
    utc = moment.astimezone(UTC)
    if whole_seconds:
        utc = utc.replace(microsecond=0)
    text: str = _DATETIME.dump_python(utc, mode="json")
    return text


def parse_time(text: str) -> datetime:
    """The aware datetime of an RFC 3339 timestamp; ValueError when it is not one."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return moment
