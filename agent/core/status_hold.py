"""Which status changes are reported, and when: OCPP 1.6 §9.1.19 MinimumStatusDuration.

A status must have lasted ``duration()`` seconds before it is reported; one that gives way
sooner is never reported, and a change back to the status last reported reports nothing.
With a duration of 0 every change is due at once. Pure: times are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class StatusHold:
    def __init__(self, duration: Callable[[], float]) -> None:
        self._duration = duration
        self._pending: dict[Hashable, tuple[Any, float]] = {}  # key -> (status, since)
        self._reported: dict[Hashable, Any] = {}

    def changed(self, key: Hashable, status: Any, now: float) -> None:
        """``key``'s status is ``status`` from ``now`` on."""
        if self._reported.get(key, _NONE) == status:
            self._pending.pop(key, None)  # back to what the backend knows: nothing to say
        elif key not in self._pending or self._pending[key][0] != status:
            self._pending[key] = (status, now)

    def reported(self, key: Hashable, status: Any) -> None:
        """``status`` reached the backend (by this hold or otherwise: reconnect, trigger)."""
        self._reported[key] = status
        if key in self._pending and self._pending[key][0] == status:
            del self._pending[key]

    def known(self, key: Hashable, status: Any) -> bool:
        """The backend was told this status of ``key`` last (or it is on its way)."""
        return bool(self._reported.get(key, _NONE) == status)

    def due(self, now: float) -> dict[Hashable, Any]:
        """The statuses that have lasted long enough; they leave the hold to be sent, and from
        now on count as what the backend knows: a change back to the previous status while
        one of them is on its way is a change again, and is reported."""
        hold = self._duration()
        ready = {k: s for k, (s, since) in self._pending.items() if now - since >= hold}
        for key, status in ready.items():
            del self._pending[key]
            self._reported[key] = status
        return ready

    def next_due(self) -> float | None:
        """When the next pending status will have lasted long enough (None: none pending)."""
        if not self._pending:
            return None
        return min(since for _, since in self._pending.values()) + self._duration()


_NONE = object()
