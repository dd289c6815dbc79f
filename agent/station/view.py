"""One connector as the rest of the agent may see it: a read-only view, taken at one moment.

``Station.view(evse_id)`` builds it; the displays (``agent/ui``), the diagnostics archive,
``evse-agent status``, the thermal guard, smart charging and the firmware updater's busy check read
it instead of the station's connectors, sessions and store. Nothing read here changes the
station.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.backend.ports import TransactionView
from agent.core.session import ConnectorStatus, Fault, Reservation
from agent.station.connector import LOST_AFTER_FAILURES, DeviceHealth
from drivers.interfaces import BoardStatus, MeterReading, PilotState

if TYPE_CHECKING:
    from agent.station.connector import Connector


@dataclass(frozen=True)
class DeviceHealthView:
    """How a connector's board or meter answers."""

    answered: bool  # it has answered since the agent started
    failed_reads: int  # failed reads in a row, now
    last_error: str | None = None  # why the last failed read failed

    @property
    def answering(self) -> bool:
        """It answers: it did since the start and is not counted lost."""
        return self.answered and self.failed_reads < LOST_AFTER_FAILURES


@dataclass(frozen=True)
class ContactorView:
    """The connector's GPIO main contactor (agent/station/safety_io.py)."""

    commanded_closed: bool
    feedback_closed: bool | None  # its auxiliary contact; None: not wired


@dataclass(frozen=True)
class ConnectorView:
    evse_id: int
    status: ConnectorStatus
    fault: Fault | None  # the fault reported (the most serious one)
    faults: frozenset[Fault]  # every fault raised now
    pilot: PilotState
    available: bool
    offered_a: float | None  # what the board was last told to offer; None before the first command
    max_current_a: float  # the connector's configured maximum
    phases: int
    reading: MeterReading | None  # the meter's last reading
    board_status: BoardStatus | None  # the board's last status
    board: DeviceHealthView
    meter: DeviceHealthView | None  # None: the connector has no meter
    contactor: ContactorView | None  # None: no main contactor on GPIO (the board's relay only)
    cable_in_socket: bool  # a cable in the socket outlet (its PP coding read), with or without the EV
    authorizing: bool  # a card's Authorize is under way
    authorized: bool  # a card or remote start was accepted: the session waits for the EV
    identified: tuple[str, ...]  # the idTags its session knows: being authorized, waiting for the EV, charging
    reservation: Reservation | None  # its own reservation (OCPP 1.6 §3.12)
    transaction_id_tag: str | None  # the idTag of the session's transaction (also while its start is being stored)
    transaction_local_id: int | None  # the transaction open in storage here: running, restored or being closed
    transaction: TransactionView | None  # the running transaction, as stored
    session_energy_wh: float | None  # energy of the running transaction so far
    session_s: float | None  # seconds since the running transaction started

    @property
    def power_w(self) -> float | None:
        return self.reading.power_w if self.reading is not None else None

    @property
    def transaction_open(self) -> bool:
        """A transaction runs here, or is open in storage (restored, or being closed)."""
        return self.transaction_id_tag is not None or self.transaction_local_id is not None


def connector_view(conn: Connector, transaction: TransactionView | None, now: dt.datetime) -> ConnectorView:
    """``conn`` now; ``transaction``: its running transaction as stored (``Station.transaction_on``)."""
    session = conn.session
    tx = session.transaction
    energy_wh, session_s = session_progress(transaction, conn.reading, now)
    return ConnectorView(
        evse_id=conn.id,
        status=session.status(),
        fault=session.fault,
        faults=frozenset(session.faults),
        pilot=session.pilot,
        available=session.available,
        offered_a=session.offered_a,
        max_current_a=conn.hardware.max_current_a,
        phases=conn.hardware.phases,
        reading=conn.reading,
        board_status=conn.board_status,
        board=_health(conn.board_health),
        meter=_health(conn.meter_health) if conn.hardware.meter is not None else None,
        contactor=contactor_view(conn.hardware.safety),
        cable_in_socket=session.cable_in_socket,
        authorizing=session.pending_auth is not None,
        authorized=session.authorized is not None,
        identified=tuple(tag for tag in (session.pending_auth, session.authorized and session.authorized[0],
                                         tx and tx.id_tag) if tag),
        reservation=session.reservation,
        transaction_id_tag=tx.id_tag if tx is not None else None,
        transaction_local_id=conn.transaction_local_id,
        transaction=transaction,
        session_energy_wh=energy_wh,
        session_s=session_s,
    )


def _health(health: DeviceHealth) -> DeviceHealthView:
    return DeviceHealthView(health.answered, health.failures, health.last_error)


def session_progress(transaction: TransactionView | None, reading: MeterReading | None,
                     now: dt.datetime) -> tuple[float | None, float | None]:
    """(energy so far, seconds since the start) of the running ``transaction``: (None, None)
    without one; energy None without a meter reading."""
    if transaction is None:
        return None, None
    started = dt.datetime.fromisoformat(transaction.started_at.replace("Z", "+00:00"))
    seconds = max(0.0, (now - started).total_seconds())
    energy = max(0.0, reading.energy_wh - transaction.meter_start_wh) if reading is not None else None
    return energy, seconds


def contactor_view(safety: Any) -> ContactorView | None:
    """``safety``: the connector's agent.station.safety_io.ConnectorSafety, or None."""
    contactor = safety.devices.contactor if safety is not None else None
    if contactor is None:
        return None
    return ContactorView(contactor.commanded_closed, contactor.feedback_closed())
