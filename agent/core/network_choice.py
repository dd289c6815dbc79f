"""Which network connection profile the next connection attempt uses (OCPP 2.0.1 B10), as a pure
rule: failures and successes in, a configuration slot out. No I/O, no clock.

- B10.FR.04: after a (re)start the station begins with the first entry of
  NetworkConfigurationPriority.
- B10.FR.03: it makes NetworkProfileConnectionAttempts attempts per entry, then goes on with
  the next entry.
- B10.FR.08/FR.09: after the last entry it starts over with the first one (it never stops
  trying: a station that gives up is a stranded asset).
- B10.FR.03 "when the connection to the CSMS is lost": it begins again with the first entry,
  so a preferred profile that works again is used again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SlotChoice:
    priority: tuple[int, ...]  # the configured slots, in NetworkConfigurationPriority order
    index: int = 0
    failures: int = 0  # failed attempts with the current entry, in a row

    def __post_init__(self) -> None:
        if not self.priority:
            raise ValueError("NetworkConfigurationPriority names no usable slot")

    @property
    def slot(self) -> int:
        """The slot to connect with now."""
        return self.priority[self.index]

    def failed(self, attempts: int) -> bool:
        """An attempt with ``slot`` failed; ``attempts``: NetworkProfileConnectionAttempts.
        True when the next attempt uses another entry."""
        self.failures += 1
        if self.failures < max(1, attempts):
            return False
        self.failures = 0
        self.index = (self.index + 1) % len(self.priority)
        return len(self.priority) > 1

    def connected(self) -> None:
        self.failures = 0

    def lost(self) -> None:
        """The connection that was up closed: begin again with the first entry."""
        self.index = 0
        self.failures = 0
