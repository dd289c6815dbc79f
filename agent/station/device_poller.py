"""Polling each connector's board and meter (the station's side of the hardware).

What the board reports becomes session events (pilot changes, faults it reports or a
device that stopped answering); a board that rebooted is told again what to offer
(:func:`offer_disagreement`); an open transaction found at start is resumed or closed on
the first reading.
``Station`` inherits this; it provides ``dispatch``, ``settings``, ``store`` and
``_finish_transaction``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import TYPE_CHECKING

from agent.core.session import (
    CableChanged,
    Fault,
    FaultCleared,
    FaultRaised,
    OfferCurrent,
    PilotChanged,
    StopReason,
    Tick,
    TransactionRestored,
)
from drivers.interfaces import BoardFault, BoardStatus, DeviceError, DeviceUnavailable, PilotState

if TYPE_CHECKING:
    from agent.station.connector import Connector

log = logging.getLogger("agent.station.station")

# Overcurrent: any phase above offered × 1.1 + 1 A for this many meter reads in a row.
OVERCURRENT_READS = 3
# A board whose offer disagrees for this many readings in a row is told again (one reading
# may come before a write in flight has landed).
OFFER_MISMATCH_READINGS = 2
# What a board reports of its offer, in its resolution (drivers: ``offer_resolution_a``;
# EVSE-DIN 1 or 0.01 A, Heidelberg 0.1 A, Bender and OpenEVSE 1 A). Every driver rounds a
# current down to it, so a board that was told W offers at most W and more than W minus one
# step, unless its own limit (cable coding, hardware maximum) holds it lower.
DEFAULT_OFFER_RESOLUTION_A = 1.0
ROUNDING_A = 0.001  # float noise of a decoded register value


class OfferDisagreement(enum.Enum):
    """How a board's offer differs from what it was told, when telling it again may help."""

    ON_WHEN_OFF = "offers current though told to stop"
    OFF_WHEN_ON = "offers nothing though told to offer"
    ABOVE = "offers more than told"  # e.g. its power-up default above the limit in force
    DROPPED = "dropped below what it was told"  # e.g. a power-up default under it


def offer_disagreement(wanted_a: float, offered_a: float, resolution_a: float,
                       before_a: float | None = None) -> OfferDisagreement | None:
    """Whether a board offering ``offered_a`` (``before_a`` at the reading before) does not do
    what it was told (``wanted_a``), compared at the board's ``resolution_a``.

    Offering less than told without a drop is the board's own limit (a 32 A cable under a
    40 A wish, a 16 A box), which telling it again would not change; a drop of at least one
    step while the wish stayed is a board that lost what it was told (rebooted to a lower
    power-up current, a watchdog's fail-safe current).
    """
    if wanted_a <= 0:
        return OfferDisagreement.ON_WHEN_OFF if offered_a > 0 else None
    if offered_a <= 0:
        return OfferDisagreement.OFF_WHEN_ON
    if offered_a > wanted_a + ROUNDING_A:
        return OfferDisagreement.ABOVE
    below = offered_a <= wanted_a - resolution_a + ROUNDING_A
    if below and before_a is not None and before_a - offered_a >= resolution_a - ROUNDING_A:
        return OfferDisagreement.DROPPED
    return None

BOARD_FAULTS = {
    BoardFault.RCD: Fault.RCD,
    BoardFault.DIODE: Fault.PILOT,
    BoardFault.PILOT: Fault.PILOT,
    BoardFault.VENTILATION: Fault.OTHER,
    BoardFault.OVERCURRENT: Fault.OVERCURRENT,
    BoardFault.OTHER: Fault.OTHER,
}


class DevicePolling:
    async def _poll(self, conn: Connector) -> None:
        meter_every = max(1, round(1.0 / conn.hardware.poll_interval_s))
        polls = 0
        while True:
            try:
                await self._poll_board(conn)
                if conn.hardware.meter is not None and polls % meter_every == 0:
                    await self._poll_meter(conn)
                self._sample_meter_values(conn)
                self._dispatch(conn, Tick())
            except asyncio.CancelledError:
                raise
            except Exception:  # the poll loop is what keeps the connector safe: it never ends
                log.exception("connector %d: poll failed", conn.id)
            polls += 1
            await asyncio.sleep(conn.hardware.poll_interval_s)

    async def _read_device(self, conn: Connector, what: str, read, fault: Fault):
        """``read()`` from a board or meter; None when it failed. After LOST_AFTER_FAILURES
        failures in a row the device counts as lost (``fault`` raised); its first answer
        after that clears the fault."""
        health = conn.board_health if what == "board" else conn.meter_health
        try:
            value = await read()
        except (DeviceUnavailable, DeviceError) as exc:
            if health.failed(exc):
                log.error("connector %d: %s lost: %s", conn.id, what, exc)
                self._dispatch(conn, FaultRaised(fault))
            return None
        if health.succeeded():
            log.info("connector %d: %s answers again", conn.id, what)
            self._dispatch(conn, FaultCleared(fault))
            if what == "board":
                # A board that was away may have rebooted: restate what we want from it.
                conn.commands.put_nowait([OfferCurrent(conn.session.offered_a or 0.0)])
        return value

    async def _poll_board(self, conn: Connector) -> None:
        status = await self._read_device(conn, "board", conn.hardware.board.read_status, Fault.BOARD_COMM)
        if status is None:
            return
        before, conn.board_status = conn.board_status, status
        self._check_board_offer(conn, status, before)
        # What the board reports is the truth for the faults it reports: raised while it
        # reports them, cleared when it stops (the board latches e.g. an RCD trip itself).
        reported = BOARD_FAULTS.get(status.fault) if status.fault else None
        if reported is None and status.pilot is PilotState.E:
            reported = Fault.PILOT  # IEC 61851-1 state E: CP shorted to PE
        safety = conn.hardware.safety
        held = safety is not None and conn.board_fault is not None and safety.holds(conn.board_fault)
        if conn.board_fault is not None and conn.board_fault is not reported and not held:
            log.info("connector %d: board no longer reports %s", conn.id, conn.board_fault.value)
            self._dispatch(conn, FaultCleared(conn.board_fault))
        if reported is not None and reported is not conn.board_fault:
            log.warning("connector %d: board reports %s", conn.id, reported.value)
            self._dispatch(conn, FaultRaised(reported))
        conn.board_fault = reported
        pilot = status.pilot
        # A cable in the socket outlet (its PP coding read), with or without the EV: told before
        # the pilot, so a cable taken out with the EV leaves no Finishing behind.
        cable = status.cable_limit_a is not None
        if cable != conn.session.cable_in_socket:
            self._dispatch(conn, CableChanged(cable))
        if conn.restored is not None:
            await self._resolve_restored(conn, pilot)
        if pilot != conn.session.pilot:
            if pilot is PilotState.A and Fault.OVERCURRENT in conn.session.faults:
                self._dispatch(conn, FaultCleared(Fault.OVERCURRENT))  # a new EV, a new chance
            self._dispatch(conn, PilotChanged(pilot))

    def _check_board_offer(self, conn: Connector, status: BoardStatus, before: BoardStatus | None) -> None:
        """A board that rebooted offers its power-up current again (EVSE-DIN: 1000 := 2000,
        docs/hardware/evse-din.md#power-up), whatever limit is in force: what it offers must
        match what the session wants, in value and not only on or off. On two readings in a
        row that disagree (at once on a drop), the wanted offer is written again."""
        wanted = conn.session.offered_a
        if wanted is None:  # nothing told yet: the first command states it
            conn.offer_mismatches = 0
            return
        resolution = getattr(conn.hardware.board, "offer_resolution_a", DEFAULT_OFFER_RESOLUTION_A)
        why = offer_disagreement(wanted, status.offered_current_a, resolution,
                                 before.offered_current_a if before is not None else None)
        if why is None:
            conn.offer_mismatches = 0
            return
        conn.offer_mismatches += 1
        if why is OfferDisagreement.DROPPED or conn.offer_mismatches >= OFFER_MISMATCH_READINGS:
            log.warning(
                "connector %d: board offers %.2f A but should offer %.2f A, it %s (rebooted?): setting it again",
                conn.id, status.offered_current_a, wanted, why.value,
            )
            conn.commands.put_nowait([OfferCurrent(wanted)])
            conn.offer_mismatches = 0

    async def _poll_meter(self, conn: Connector) -> None:
        reading = await self._read_device(conn, "meter", conn.hardware.meter.read, Fault.METER_COMM)
        if reading is None:
            return
        conn.reading = reading
        offered = conn.session.offered_a or 0.0
        if offered > 0 and reading.current_a and max(reading.current_a) > offered * 1.1 + 1.0:
            conn.over_current_reads += 1
            if conn.over_current_reads == OVERCURRENT_READS:
                log.error("connector %d: EV draws %.1f A, offered %.1f A", conn.id, max(reading.current_a), offered)
                self._dispatch(conn, FaultRaised(Fault.OVERCURRENT))
        else:
            conn.over_current_reads = 0

    async def _fresh_energy_wh(self, conn: Connector) -> int:
        """The meter's register now (for meterStart/meterStop), else the last reading."""
        if conn.hardware.meter is not None:
            try:
                conn.reading = await conn.hardware.meter.read()
            except (DeviceUnavailable, DeviceError) as exc:
                log.warning("connector %d: meter read failed, using the last reading: %s", conn.id, exc)
        return round(conn.reading.energy_wh) if conn.reading else 0

    async def _resolve_restored(self, conn: Connector, pilot: PilotState) -> None:
        """A transaction was open when the agent stopped: resume it, or close it (PowerLoss)
        when the EV left meanwhile. Decided on the first board reading, before anything
        else is told to the session, so a resumed session is never switched off."""
        record, conn.restored = conn.restored, None
        if pilot in (PilotState.B, PilotState.C, PilotState.D):
            log.info("connector %d: resuming transaction %d after restart", conn.id, record.local_id)
            conn.transaction_local_id = record.local_id
            self._dispatch(conn, TransactionRestored(record.id_tag, pilot))
            return
        log.info("connector %d: transaction %d ended while the agent was down (PowerLoss)", conn.id, record.local_id)
        await self._finish_transaction(conn, StopReason.POWER_LOSS, None, record.local_id)
