"""Date-times in OCPP 1.6 requests (OCPP-J §3.1.4: UTC; one without a zone is taken as UTC)."""

from __future__ import annotations

import datetime as dt

from ocpp.exceptions import PropertyConstraintViolationError


def parse_time(text: str, field: str) -> dt.datetime:
    """``text`` as an aware date-time; a CALLERROR PropertyConstraintViolation naming ``field``."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise PropertyConstraintViolationError(description=f"{field}: {text!r} is not a date and time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
