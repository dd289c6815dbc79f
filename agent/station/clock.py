"""Wall-clock time as the backend sees it, and which backend times the agent takes.

The agent never sets the system clock. It takes the backend's time (BootNotification.conf /
Heartbeat.conf ``currentTime``, OCPP 1.6 §4.2 / §4.6) and, from then on, advances it with the
monotonic clock, which NTP may slew but never steps: a later step of the system clock (NTP
catching up on a Pi that has no real-time clock) does not move the agent's time.

What a backend time may do (Security Whitepaper: the time is security relevant, it dates
every transaction, reservation and charging schedule):

- It must lie in ``[EARLIEST, LATEST)``, 2024-01-01 to 2100-01-01, always. A year-9999 time
  is refused, not taken (taken, it made every later timestamp raise).
- The first time taken after the agent starts may move the clock by any amount: a Raspberry
  Pi has no real-time clock, so until NTP runs its system clock may be days or years off.
- Later, a time that moves the clock by more than ``MAX_CORRECTION_S`` is refused: the
  monotonic clock drifts by its crystal's tolerance (100 ppm: under 9 s a day) and an honest,
  NTP-synced backend is right to a second, so 5 minutes covers a month without a sync and a
  backend briefly off by minutes, and is short enough that no tariff period, reservation or
  charging schedule jumps at once.
- A backend whose own clock was corrected reports the same new time again and again: a move
  beyond ``MAX_CORRECTION_S`` is taken once ``CONFIRMATIONS`` syncs in a row (3) report the
  same time (within ``SAME_TIME_S`` of one another, measured on the monotonic clock).

A refused time is reported to ``on_refused`` (the composition root records a security event,
InvalidMessages: "not valid OCPP messages", whitepaper §8) once per distinct value until a time
is taken again; a taken time that moves the clock by more than ``JUMP_S`` is reported to
``on_jump`` (SettingSystemTime). The clock never raises, whatever it was fed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

UTC = dt.UTC
EARLIEST = dt.datetime(2024, 1, 1, tzinfo=UTC)  # before this release existed
LATEST = dt.datetime(2100, 1, 1, tzinfo=UTC)
# A change of the agent's time by more than this is a "SettingSystemTime" security event.
JUMP_S = 60.0
# The most a sync after the first may move the time (see the module docstring).
MAX_CORRECTION_S = 300.0
# A larger move is taken once this many syncs in a row report the same time.
CONFIRMATIONS = 3
SAME_TIME_S = 10.0
_REPORTED_MAX = 16  # distinct refused values reported until a time is taken again


class Clock:
    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._anchor: tuple[float, float] | None = None  # (backend time, monotonic time) of the last sync taken
        self._candidate: float | None = None  # backend time minus monotonic time of a refused move
        self._confirmations = 0
        self._reported: set[str] = set()
        # Told (old offset, new offset) when a sync moves the time by more than JUMP_S.
        self.on_jump: Callable[[float, float], None] | None = None
        # Told (the backend's text, why it was refused) once per distinct refused value.
        self.on_refused: Callable[[str, str], None] | None = None

    # ---- reading -----------------------------------------------------------------------

    def timestamp(self) -> float:
        """Now, in seconds since the epoch (the system clock until the first sync)."""
        if self._anchor is None:
            return self._wall()
        backend, at = self._anchor
        return backend + (self._monotonic() - at)

    @property
    def offset_s(self) -> float:
        """The agent's time minus the system clock."""
        return self.timestamp() - self._wall()

    def now(self) -> dt.datetime:
        try:
            return dt.datetime.fromtimestamp(self.timestamp(), tz=UTC)
        except (OverflowError, OSError, ValueError):  # a system clock out of range: never raise
            return EARLIEST

    def iso(self) -> str:
        """Now as RFC 3339 UTC with milliseconds: ``2026-11-25T14:57:16.123Z``."""
        return self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()

    # ---- syncing -----------------------------------------------------------------------

    def sync(self, backend_time: str) -> bool:
        """Take the backend's ``currentTime`` if the rules above allow it; True if taken."""
        when = _parse(backend_time)
        if when is None:
            return self._refuse(backend_time, "not an RFC 3339 date-time", key=f"text:{backend_time!r:.80}")
        if not EARLIEST <= when < LATEST:
            return self._refuse(
                backend_time, f"outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}", key=f"text:{backend_time!r:.80}"
            )
        target = when.timestamp()
        moved = target - self.timestamp()
        if self._anchor is not None and abs(moved) > MAX_CORRECTION_S:
            candidate = target - self._monotonic()
            if self._candidate is not None and abs(candidate - self._candidate) <= SAME_TIME_S:
                self._confirmations += 1
            else:
                self._candidate, self._confirmations = candidate, 1
            if self._confirmations < CONFIRMATIONS:
                return self._refuse(
                    backend_time,
                    f"moves the time by {moved:+.0f} s (more than {MAX_CORRECTION_S:.0f} s); taken once "
                    f"{CONFIRMATIONS} syncs in a row report it ({self._confirmations} so far)",
                    key=f"move:{round(self._candidate / SAME_TIME_S)}",
                )
            log.warning("clock: the backend reported the same time %d times in a row: taking it", self._confirmations)
        old = self.offset_s
        self._anchor = (target, self._monotonic())
        self._candidate, self._confirmations = None, 0
        self._reported.clear()
        if self.on_jump is not None and abs(moved) > JUMP_S:
            self.on_jump(old, self.offset_s)
        return True

    def _refuse(self, backend_time: str, why: str, *, key: str) -> bool:
        log.warning("clock: backend time %r refused: %s", backend_time, why)
        if key not in self._reported and len(self._reported) < _REPORTED_MAX:
            self._reported.add(key)
            if self.on_refused is not None:
                self.on_refused(str(backend_time), why)
        return False


def _parse(text: object) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        when.timestamp()  # a year-1 time with an offset cannot be placed on the epoch
        return when
    except (ValueError, TypeError, OverflowError, OSError):
        return None
