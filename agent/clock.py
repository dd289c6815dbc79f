"""Wall-clock time as the backend sees it.

The agent never sets the system clock: it keeps the offset between the backend's
time (BootNotification.conf / Heartbeat.conf ``currentTime``) and the local clock,
and uses it in every timestamp it sends.
"""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    def __init__(self) -> None:
        self.offset_s = 0.0

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(time.time() + self.offset_s, tz=dt.timezone.utc)

    def iso(self) -> str:
        """Now as RFC 3339 UTC with milliseconds: ``2026-11-25T14:57:16.123Z``."""
        return self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def sync(self, backend_time: str) -> None:
        """Take the backend's ``currentTime``; ignore values that do not parse."""
        try:
            when = dt.datetime.fromisoformat(backend_time.replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            return
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        self.offset_s = when.timestamp() - time.time()

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
