"""The safety reflex: what the hardware thread does on its own, before the station hears of it.

The station's session decides everything about charging, on the agent's event loop. That loop
also serves the backend, and backend work can hold it (a long computation, a flood of
requests). The reflex is the part that must not wait: it runs beside the board's polling in
the hardware thread (agent/station/hardware_thread.py) and, on a reading or an input that
makes offering current unsafe, cuts it at once (writes 0 A to the board, opens the GPIO
contactor), then tells the station, which reaches the same decision when its loop gets to it.

Unsafe (IEC 61851-1 Annex A, Table A.3; docs/hardware/control-pilot.md):
- pilot state A: no EV (unplugged while charging);
- pilot state E (CP shorted to PE) or F (EVSE not available);
- any fault the board reports about itself or the EV (RCD, diode, ventilation, overcurrent);
- a trip input: the RCD/RCM input, the emergency stop (agent/station/safety_io.py).
State B (the EV paused) is not: the board opens its own relay and the session goes on.

After a cut, the reflex holds it: an offer of current from the station is written as 0 until
the station acknowledges the cut (it has handled the event that reported it), so a command the
station sent before it knew cannot undo the cut; an EV plugged in meanwhile gets nothing it
was not authorized for. Pure: readings and commands in, what to write out.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.interfaces import BoardStatus, PilotState

UNSAFE_PILOT = {PilotState.A: "EV unplugged", PilotState.E: "pilot shorted (state E)",
                PilotState.F: "EVSE not available (state F)"}


def danger_in(status: BoardStatus) -> str | None:
    """Why offering current is unsafe given the board's reading, or None."""
    if status.fault is not None:
        return f"board reports {status.fault.value}"
    return UNSAFE_PILOT.get(status.pilot)


@dataclass(frozen=True)
class Cut:
    """Write 0 A and open the contactor now; ``seq`` identifies the cut for the acknowledgement."""

    reason: str
    seq: int


class SafetyReflex:
    """One connector's reflex. ``commanded_a`` is what the station last asked the board to offer."""

    def __init__(self) -> None:
        self.commanded_a = 0.0
        self.seq = 0  # cuts so far
        self.acknowledged = 0  # the last cut the station has handled
        self.reason: str | None = None  # the cut in force, if any

    @property
    def holding(self) -> bool:
        """A cut the station has not acknowledged yet: no current is offered."""
        return self.acknowledged < self.seq

    @property
    def energized(self) -> bool:
        """Current offered (or about to be): the board is watched closely."""
        return self.commanded_a > 0 and not self.holding

    def reading(self, status: BoardStatus) -> Cut | None:
        """A board reading: a cut when it shows a danger while current is offered or the
        board offers some (a board's own power-up current counts)."""
        reason = danger_in(status)
        if reason is None:
            return None
        offering = self.commanded_a > 0 or status.offered_current_a > 0 or status.relay_closed
        if not offering or self.holding:
            return None
        return self._cut(reason)

    def tripped(self, reason: str) -> Cut | None:
        """A trip input became active (RCD, emergency stop): a cut, unless one is held already."""
        if self.holding:
            return None
        return self._cut(reason)

    def _cut(self, reason: str) -> Cut:
        self.seq += 1
        self.reason = reason
        self.commanded_a = 0.0
        return Cut(reason, self.seq)

    def command(self, amps: float) -> float:
        """The station asks for ``amps``: what to write (0 while a cut is held)."""
        if self.holding and amps > 0:
            return 0.0
        self.commanded_a = amps
        return amps

    def acknowledge(self, seq: int) -> None:
        """The station has handled cut ``seq`` (and everything before it)."""
        if seq > self.acknowledged:
            self.acknowledged = min(seq, self.seq)
            if not self.holding:
                self.reason = None

    def may_close_contactor(self) -> bool:
        return not self.holding

    def poll_interval(self, idle_s: float, energized_s: float) -> float:
        """Poll the board every ``energized_s`` while current is offered, else ``idle_s``."""
        return energized_s if self.energized else idle_s
