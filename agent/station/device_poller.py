"""Polling one connector's board and meter (the station's side of the hardware).

The station owns one ``DevicePoller`` per connector. Every ``poll_interval_s`` it reads the
board and, about once a second, the meter (through ``MeterSampler.read``, the one meter
read path); then it lets the meter sampler take a periodic sample and tells the session the
time (``Tick``). What the board reports becomes session events: pilot changes, the faults it
reports, a cable in the socket, a board that stopped answering (``DeviceHealth``: lost
after three failed reads in a row). A board that rebooted is told again what to offer
(:func:`offer_disagreement`); an EV that draws more than offered faults the connector; an
open transaction found at start is resumed or closed on the first board reading
(``resolve_restored``, agent/station/transactions.py).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from agent.core.session import (
    CableChanged,
    Event,
    Fault,
    FaultCleared,
    FaultRaised,
    OfferCurrent,
    PilotChanged,
    Tick,
)
from agent.station.board_watch import AcknowledgeCut, BoardWatch
from drivers.interfaces import BoardFault, BoardStatus, DeviceError, DeviceUnavailable, PilotState

if TYPE_CHECKING:
    from agent.station.connector import Connector
    from agent.station.meter_sampler import MeterSampler

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


class DevicePoller:
    def __init__(
        self,
        conn: Connector,
        *,
        dispatch: Callable[[Event], None],
        meters: MeterSampler,
        resolve_restored: Callable[[Connector, PilotState], Awaitable[None]],
    ) -> None:
        """``dispatch`` feeds this connector's session; ``meters`` reads its meter and samples
        it; ``resolve_restored`` resumes or closes the transaction found open at start, given
        the first pilot state read."""
        self.conn = conn
        self._dispatch = dispatch
        self._meters = meters
        self._resolve_restored = resolve_restored
        self._over_current_reads = 0  # meter reads in a row above the offer
        self._offer_mismatches = 0  # board readings in a row whose offer disagrees

    async def run(self) -> None:
        conn = self.conn
        meter_every = max(1, round(1.0 / conn.hardware.poll_interval_s))
        polls = 0
        while True:
            try:
                await self.poll(meter=polls % meter_every == 0)
            except asyncio.CancelledError:
                raise
            except Exception:  # the poll loop is what keeps the connector safe: it never ends
                log.exception("connector %d: poll failed", conn.id)
            polls += 1
            await asyncio.sleep(conn.hardware.poll_interval_s)

    async def poll(self, meter: bool = True) -> None:
        """One poll: the board, the meter when ``meter`` (and there is one), a periodic sample
        if one is due, then ``Tick``."""
        await self.poll_board()
        if meter and self.conn.hardware.meter is not None:
            await self.poll_meter()
        self._meters.periodic(self.conn)
        self._dispatch(Tick())

    async def poll_board(self) -> None:
        board = self.conn.hardware.board
        if not isinstance(board, BoardWatch):
            try:
                status = await board.read_status()
            except (DeviceUnavailable, DeviceError) as exc:
                self._board_failed(exc)
                return
            await self._board_read(status)
            return
        # Watched on the hardware thread (agent/station/board_watch.py): its latest reading.
        reading = await board.next_reading()
        if reading.status is None:
            self._board_failed(reading.error)
        else:
            await self._board_read(reading.status)
        if reading.cut is not None:  # acted on once the commands just queued have run
            self.conn.commands.put_nowait([AcknowledgeCut(reading.cut.seq)])

    def _board_failed(self, exc: Exception) -> None:
        conn = self.conn
        if conn.board_health.failed(exc):
            log.error("connector %d: board lost: %s", conn.id, exc)
            self._dispatch(FaultRaised(Fault.BOARD_COMM))

    async def _board_read(self, status: BoardStatus) -> None:
        conn = self.conn
        if conn.board_health.succeeded():
            log.info("connector %d: board answers again", conn.id)
            self._dispatch(FaultCleared(Fault.BOARD_COMM))
            conn.restate_offer()  # a board that was away may have rebooted
        before, conn.board_status = conn.board_status, status
        self._check_board_offer(status, before)
        # What the board reports is the truth for the faults it reports: raised while it
        # reports them, cleared when it stops (the board latches e.g. an RCD trip itself).
        reported = BOARD_FAULTS.get(status.fault) if status.fault else None
        if reported is None and status.pilot is PilotState.E:
            reported = Fault.PILOT  # IEC 61851-1 state E: CP shorted to PE
        safety = conn.hardware.safety
        held = safety is not None and conn.board_fault is not None and safety.holds(conn.board_fault)
        if conn.board_fault is not None and conn.board_fault is not reported and not held:
            log.info("connector %d: board no longer reports %s", conn.id, conn.board_fault.value)
            self._dispatch(FaultCleared(conn.board_fault))
        if reported is not None and reported is not conn.board_fault:
            log.warning("connector %d: board reports %s", conn.id, reported.value)
            self._dispatch(FaultRaised(reported))
        conn.board_fault = reported
        pilot = status.pilot
        # A cable in the socket outlet (its PP coding read), with or without the EV: told before
        # the pilot, so a cable taken out with the EV leaves no Finishing behind.
        cable = status.cable_limit_a is not None
        if cable != conn.session.cable_in_socket:
            self._dispatch(CableChanged(cable))
        if conn.restored is not None:
            await self._resolve_restored(conn, pilot)
        if pilot != conn.session.pilot:
            if pilot is PilotState.A and Fault.OVERCURRENT in conn.session.faults:
                self._dispatch(FaultCleared(Fault.OVERCURRENT))  # a new EV, a new chance
            self._dispatch(PilotChanged(pilot))

    def _check_board_offer(self, status: BoardStatus, before: BoardStatus | None) -> None:
        """A board that rebooted offers its power-up current again (EVSE-DIN: 1000 := 2000,
        docs/hardware/evse-din.md#power-up), whatever limit is in force: what it offers must
        match what the session wants, in value and not only on or off. On two readings in a
        row that disagree (at once on a drop), the wanted offer is written again."""
        conn = self.conn
        wanted = conn.session.offered_a
        if wanted is None:  # nothing told yet: the first command states it
            self._offer_mismatches = 0
            return
        resolution = getattr(conn.hardware.board, "offer_resolution_a", DEFAULT_OFFER_RESOLUTION_A)
        why = offer_disagreement(wanted, status.offered_current_a, resolution,
                                 before.offered_current_a if before is not None else None)
        if why is None:
            self._offer_mismatches = 0
            return
        self._offer_mismatches += 1
        if why is OfferDisagreement.DROPPED or self._offer_mismatches >= OFFER_MISMATCH_READINGS:
            log.warning(
                "connector %d: board offers %.2f A but should offer %.2f A, it %s (rebooted?): setting it again",
                conn.id, status.offered_current_a, wanted, why.value,
            )
            conn.commands.put_nowait([OfferCurrent(wanted)])
            self._offer_mismatches = 0

    async def poll_meter(self) -> None:
        """Read the meter; an EV drawing more than offered (any phase above offer × 1.1 + 1 A)
        for OVERCURRENT_READS reads in a row faults the connector."""
        conn = self.conn
        reading = await self._meters.read(conn)
        if reading is None:
            return
        offered = conn.session.offered_a or 0.0
        if offered > 0 and reading.current_a and max(reading.current_a) > offered * 1.1 + 1.0:
            self._over_current_reads += 1
            if self._over_current_reads == OVERCURRENT_READS:
                log.error("connector %d: EV draws %.1f A, offered %.1f A", conn.id, max(reading.current_a), offered)
                self._dispatch(FaultRaised(Fault.OVERCURRENT))
        else:
            self._over_current_reads = 0
