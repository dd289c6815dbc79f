"""Polling each connector's board and meter (the station's side of the hardware).

What the board reports becomes session events (pilot changes, faults it reports or a
device that stopped answering); a board that rebooted is told again what to offer;
an open transaction found at start is resumed or closed on the first reading.
``Station`` inherits this; it provides ``dispatch``, ``settings``, ``store`` and
``_finish_transaction``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from agent.core.session import (
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
    from agent.station.station import Connector

log = logging.getLogger("agent.station.station")

# A device is reported lost after this many failed polls in a row.
LOST_AFTER_FAILURES = 3
# Overcurrent: any phase above offered × 1.1 + 1 A for this many meter reads in a row.
OVERCURRENT_READS = 3

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
        meter_every = max(1, round(1.0 / conn.poll_interval_s))
        polls = 0
        while True:
            try:
                await self._poll_board(conn)
                if conn.meter is not None and polls % meter_every == 0:
                    await self._poll_meter(conn)
                self._sample_meter_values(conn)
                self.dispatch(conn, Tick())
            except asyncio.CancelledError:
                raise
            except Exception:  # the poll loop is what keeps the connector safe: it never ends
                log.exception("connector %d: poll failed", conn.id)
            polls += 1
            await asyncio.sleep(conn.poll_interval_s)

    async def _read_device(self, conn: Connector, what: str, read, fault: Fault):
        """``read()`` from a board or meter; None when it failed. After LOST_AFTER_FAILURES
        failures in a row the device counts as lost (``fault`` raised); its first answer
        after that clears the fault."""
        failures = conn.device_failures
        try:
            value = await read()
        except (DeviceUnavailable, DeviceError) as exc:
            failures[what] = failures.get(what, 0) + 1
            if failures[what] == LOST_AFTER_FAILURES:
                log.error("connector %d: %s lost: %s", conn.id, what, exc)
                self.dispatch(conn, FaultRaised(fault))
            return None
        if failures.get(what, 0) >= LOST_AFTER_FAILURES:
            log.info("connector %d: %s answers again", conn.id, what)
            self.dispatch(conn, FaultCleared(fault))
            if what == "board":
                # A board that was away may have rebooted: restate what we want from it.
                conn.commands.put_nowait([OfferCurrent(conn.session.offered_a or 0.0)])
        failures[what] = 0
        return value

    async def _poll_board(self, conn: Connector) -> None:
        status = await self._read_device(conn, "board", conn.board.read_status, Fault.BOARD_COMM)
        if status is None:
            return
        conn.last_status = status
        self._check_board_offer(conn, status)
        # What the board reports is the truth for the faults it reports: raised while it
        # reports them, cleared when it stops (the board latches e.g. an RCD trip itself).
        reported = BOARD_FAULTS.get(status.fault) if status.fault else None
        if reported is None and status.pilot is PilotState.E:
            reported = Fault.PILOT  # IEC 61851-1 state E: CP shorted to PE
        held = conn.safety is not None and conn.board_fault is not None and conn.safety.holds(conn.board_fault)
        if conn.board_fault is not None and conn.board_fault is not reported and not held:
            log.info("connector %d: board no longer reports %s", conn.id, conn.board_fault.value)
            self.dispatch(conn, FaultCleared(conn.board_fault))
        if reported is not None and reported is not conn.board_fault:
            log.warning("connector %d: board reports %s", conn.id, reported.value)
            self.dispatch(conn, FaultRaised(reported))
        conn.board_fault = reported
        pilot = status.pilot
        if conn.restored is not None:
            await self._resolve_restored(conn, pilot)
        if pilot != conn.session.pilot:
            if pilot is PilotState.A and Fault.OVERCURRENT in conn.session.faults:
                self.dispatch(conn, FaultCleared(Fault.OVERCURRENT))  # a new EV, a new chance
            self.dispatch(conn, PilotChanged(pilot))

    def _check_board_offer(self, conn: Connector, status: BoardStatus) -> None:
        """A board that rebooted offers its power-up current again (EVSE-DIN: 1000 := 2000).
        Whether it offers anything at all must match what the session wants; on two
        readings in a row that disagree, the wanted offer is written again."""
        wanted = conn.session.offered_a
        if wanted is None or (wanted > 0) == (status.offered_current_a > 0):
            conn.offer_mismatches = 0
            return
        conn.offer_mismatches += 1
        if conn.offer_mismatches == 2:
            log.warning(
                "connector %d: board offers %.1f A but should offer %.1f A (rebooted?): setting it again",
                conn.id, status.offered_current_a, wanted,
            )
            conn.commands.put_nowait([OfferCurrent(wanted)])
            conn.offer_mismatches = 0

    async def _poll_meter(self, conn: Connector) -> None:
        reading = await self._read_device(conn, "meter", conn.meter.read, Fault.METER_COMM)
        if reading is None:
            return
        conn.reading = reading
        offered = conn.session.offered_a or 0.0
        if offered > 0 and reading.current_a and max(reading.current_a) > offered * 1.1 + 1.0:
            conn.over_current_reads += 1
            if conn.over_current_reads == OVERCURRENT_READS:
                log.error("connector %d: EV draws %.1f A, offered %.1f A", conn.id, max(reading.current_a), offered)
                self.dispatch(conn, FaultRaised(Fault.OVERCURRENT))
        else:
            conn.over_current_reads = 0

    async def _fresh_energy_wh(self, conn: Connector) -> int:
        """The meter's register now (for meterStart/meterStop), else the last reading."""
        if conn.meter is not None:
            try:
                conn.reading = await conn.meter.read()
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
            conn.tx_local_id = record.local_id
            self.dispatch(conn, TransactionRestored(record.id_tag, pilot))
            return
        log.info("connector %d: transaction %d ended while the agent was down (PowerLoss)", conn.id, record.local_id)
        await self._finish_transaction(conn, StopReason.POWER_LOSS, None, record.local_id)
