"""A connector of the station: its hardware, fixed after start-up, apart from its state at run time.

``ConnectorHardware`` is what the composition root builds from a ``[[connectors]]`` section
(agent/app/composition.py): the board, the meter, the GPIO safety I/O and the figures that go
with them. ``Connector`` is what the station keeps for it while it runs: the session, the last
readings, the transaction open in storage, how the devices answer, the queue of commands.
Only the station and the objects it owns (agent/station/device_poller.py,
agent/station/meter_sampler.py, agent/station/transactions.py) change a ``Connector``; the
rest of the agent reads ``Station.view`` (agent/station/view.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.core.session import Command, Fault, OfferCurrent, Session
from drivers.interfaces import BoardStatus, EvseBoard, MeterReading, PowerMeter

if TYPE_CHECKING:
    from agent.persistence.store import TransactionRecord
    from agent.station.safety_io import ConnectorSafety

# A device is reported lost (its fault raised) after this many failed reads in a row.
LOST_AFTER_FAILURES = 3


@dataclass(frozen=True)
class ConnectorHardware:
    evse_id: int  # OCPP 1.6 connectorId (one connector per EVSE)
    board: EvseBoard
    meter: PowerMeter | None = None
    safety: ConnectorSafety | None = None  # GPIO contactor, RCD, e-stop, lock, LEDs (agent/station/safety_io.py)
    poll_interval_s: float = 0.25  # how often the board is read (the meter about once a second)
    phases: int = 3
    max_current_a: float = 32.0  # the most the connector may offer ([[connectors]] max_current_a)


@dataclass
class DeviceHealth:
    """How a board or a meter answers: lost after ``LOST_AFTER_FAILURES`` failed reads in a row,
    back at its first answer."""

    failures: int = 0  # failed reads in a row
    last_error: str | None = None  # why the last failed read failed
    answered: bool = False  # it has answered since the agent started

    @property
    def lost(self) -> bool:
        return self.failures >= LOST_AFTER_FAILURES

    def failed(self, error: Exception) -> bool:
        """Count a failed read; True when this one makes the device lost."""
        self.failures += 1
        self.last_error = str(error) or type(error).__name__
        return self.failures == LOST_AFTER_FAILURES

    def succeeded(self) -> bool:
        """Count an answer; True when the device was lost until now."""
        was_lost = self.lost
        self.failures = 0
        self.answered = True
        return was_lost


@dataclass
class Connector:
    hardware: ConnectorHardware
    session: Session
    reading: MeterReading | None = None  # the meter's last reading (agent/station/device_poller.py)
    board_status: BoardStatus | None = None  # the board's last status
    board_fault: Fault | None = None  # the fault the board itself reports now
    transaction_local_id: int | None = None  # the transaction open in storage here (running, restored or closing)
    restored: TransactionRecord | None = None  # open in storage at start, not yet resolved
    board_health: DeviceHealth = field(default_factory=DeviceHealth)
    meter_health: DeviceHealth = field(default_factory=DeviceHealth)
    commands: asyncio.Queue[list[Command]] = field(default_factory=asyncio.Queue)  # what the session commanded

    @property
    def id(self) -> int:
        return self.hardware.evse_id

    def restate_offer(self) -> None:
        """Tell the board again what the session offers (a board back from a reboot, an offer
        the safety I/O held back)."""
        self.commands.put_nowait([OfferCurrent(self.session.offered_a or 0.0)])
