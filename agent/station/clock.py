"""Wall-clock time as the backend sees it.

The agent never sets the system clock: it keeps the offset between the backend's
time (BootNotification.conf / Heartbeat.conf ``currentTime``) and the local clock,
and uses it in every timestamp it sends.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

# A change of the agent's time by more than this is a "SettingSystemTime" security event.
JUMP_S = 60.0


class Clock:
    def __init__(self) -> None:
        self.offset_s = 0.0
        # Told (old offset, new offset) when a sync moves the time by more than JUMP_S.
        self.on_jump: Callable[[float, float], None] | None = None

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
        old, self.offset_s = self.offset_s, when.timestamp() - time.time()
        if self.on_jump is not None and abs(self.offset_s - old) > JUMP_S:
            self.on_jump(old, self.offset_s)

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
