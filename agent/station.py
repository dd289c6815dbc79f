"""The station: connectors, their hardware and their sessions, run together.

It polls each board and meter, turns what it sees into session events, carries
out the commands the sessions return (board writes, durable transaction
messages, status reports) and answers what the backend asks (remote start/stop).
It knows the backend only through ``agent.backend.Backend``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.authorization import Authorizer, LocalAuthorization
from agent.backend import Backend
from agent.charging_limits import ChargingLimits
from agent.clock import Clock
from agent.session import (
    AuthorizationResult,
    Authorize,
    AvailabilityChanged,
    CardIgnored,
    CardPresented,
    Command,
    ConnectorStatus,
    Event,
    Fault,
    FaultCleared,
    FaultRaised,
    OfferCurrent,
    PilotChanged,
    RemoteStartRequested,
    ReservationEnded,
    ReserveResult,
    Session,
    StartTransaction,
    StatusChanged,
    StopReason,
    StopRequested,
    StopTransaction,
    Tick,
    TransactionRejected,
    TransactionRestored,
)
from agent.reservations import ReservationDesk
from agent.history import History
from agent.settings import Settings
from agent.store import StorageError, Store, TransactionRecord
from drivers.interfaces import (
    BoardFault,
    BoardStatus,
    CardReader,
    DeviceError,
    DeviceUnavailable,
    EvseBoard,
    MeterReading,
    PilotState,
    PowerMeter,
)

log = logging.getLogger(__name__)

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


@dataclass
class Connector:
    id: int
    board: EvseBoard
    meter: PowerMeter | None
    session: Session
    poll_interval_s: float = 0.25
    phases: int = 3
    reading: MeterReading | None = None
    tx_local_id: int | None = None
    device_failures: dict[str, int] = field(default_factory=dict)  # failed reads in a row: "board", "meter"
    over_current_reads: int = 0
    offer_mismatches: int = 0
    board_fault: Fault | None = None  # the fault the board itself reports now
    next_sample: float = 0.0
    restored: TransactionRecord | None = None  # open in storage at start, not yet resolved
    stop_txn_data: list[dict[str, Any]] = field(default_factory=list)  # samples for StopTransaction
    commands: asyncio.Queue = field(default_factory=asyncio.Queue)
    last_status: BoardStatus | None = None
    safety: Any = None  # agent.safety_io.ConnectorSafety: GPIO contactor, RCD, e-stop, lock, LEDs


class Station:
    def __init__(
        self,
        connectors: list[Connector],
        store: Store,
        settings: Settings,
        clock: Clock,
        card_reader: CardReader | None = None,
        monotonic: Callable[[], float] = Clock.monotonic,
        storage_ok: bool = True,
        storage_recheck_s: float = 30.0,
    ) -> None:
        self.connectors = {c.id: c for c in connectors}
        self.storage_ok = storage_ok  # False: running on a memory store, nothing is kept
        self.storage_recheck_s = storage_recheck_s
        self.store = store
        self.settings = settings
        self.clock = clock
        self.card_reader = card_reader
        self.backend: Backend | None = None
        # OCPP 1.6 §3.5: local list, cache and the rules; the adapter feeds the cache.
        self.authorizer = Authorizer(LocalAuthorization(store, settings, clock.now), settings)
        self._monotonic = monotonic
        self._tasks: list[asyncio.Task] = []
        self.last_card: str | None = None
        self.temperature_c: float | None = None  # the station's sensor, kept by agent/thermal.py
        for record in store.open_transactions():
            conn = self.connectors.get(record.connector_id)
            if conn is not None:
                conn.tx_local_id = record.local_id
                conn.restored = record
        settings.on_change(self._setting_changed)
        stored = store.settings()
        for conn in connectors:
            conn.session.connection_timeout_s = settings["connection_timeout_s"]
            conn.session.stop_on_ev_disconnect = settings["stop_on_ev_disconnect"]
            # Availability set by the backend persists across restarts (OCPP 1.6 §5.2).
            if stored.get(f"availability.{conn.id}") == "inoperative":
                conn.session.available = False
        self._transaction_ended = asyncio.Event()
        self._unstored_stops: list[tuple] = []  # (local_id, meter_stop, timestamp, reason, body)
        self.history = History(store, clock.iso)
        # OCPP 1.6 §3.12: after availability and open transactions are known.
        self.reservations = ReservationDesk(store, clock, monotonic, self.connectors, self.dispatch)
        self.reservations.restore()
        self.charging_limits = ChargingLimits(self, monotonic)  # smart charging profiles

    # ---- running ---------------------------------------------------------------------

    async def run(self) -> None:
        for conn in self.connectors.values():
            if not self.storage_ok:
                self.dispatch(conn, FaultRaised(Fault.STORAGE))
            self._tasks.append(asyncio.create_task(self._poll(conn), name=f"poll-{conn.id}"))
            self._tasks.append(asyncio.create_task(self._execute(conn), name=f"commands-{conn.id}"))
            if conn.safety is not None:
                conn.safety.attach(conn, lambda e, c=conn: self.dispatch(c, e), lambda: bool(self.backend and self.backend.online))
                self._tasks.append(asyncio.create_task(conn.safety.run(), name=f"safety-{conn.id}"))
        if self.card_reader is not None:
            self._tasks.append(asyncio.create_task(self._read_cards(), name="cards"))
        self._tasks.append(asyncio.create_task(self._clock_aligned_samples(), name="aligned-samples"))
        self._tasks.append(asyncio.create_task(self._watch_storage(), name="storage"))
        self._tasks.append(asyncio.create_task(self.charging_limits.run(), name="charging-limits"))
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()

    async def shutdown(self) -> None:
        """Stop polling; leave each board with charging off only if no session runs."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _setting_changed(self, name: str, value: Any) -> None:
        for conn in self.connectors.values():
            if name == "connection_timeout_s":
                conn.session.connection_timeout_s = value
            elif name == "stop_on_ev_disconnect":
                conn.session.stop_on_ev_disconnect = value

    def dispatch(self, conn: Connector, event: Event) -> None:
        """Feed ``event`` to the connector's session and queue what it commands."""
        commands = conn.session.handle(event, self._monotonic())
        if conn.safety is not None:
            conn.safety.session_changed()  # the GPIO contactor follows the session at once
        if commands:
            log.debug("connector %d: %s -> %s", conn.id, event, commands)
            conn.commands.put_nowait(commands)

    # ---- hardware polling ----------------------------------------------------------

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

    def _sample_meter_values(self, conn: Connector) -> None:
        interval = self.settings["meter_sample_interval_s"]
        if conn.tx_local_id is None or conn.session.transaction is None or interval <= 0 or conn.reading is None:
            return
        now = self._monotonic()
        if now < conn.next_sample:
            return
        if conn.next_sample:
            try:
                self.store.queue_meter_values(
                    conn.tx_local_id,
                    {"connector_id": conn.id, "samples": [self.sample(conn, "Sample.Periodic")]},
                )
            except StorageError as exc:
                log.critical("connector %d: meter values not stored: %s; stopping the session", conn.id, exc)
                self.dispatch(conn, FaultRaised(Fault.STORAGE))
                return
            self._outbox_changed()
            if self.settings["stop_txn_sampled_data"]:
                # OCPP 1.6 §9.1.31 StopTxnSampledData: every MeterValueSampleInterval of the transaction.
                conn.stop_txn_data.append(self.sample(conn, "Sample.Periodic", self.settings["stop_txn_sampled_data"]))
        conn.next_sample = now + interval

    def sample(self, conn: Connector, context: str, measurands: list[str] | None = None) -> dict[str, Any]:
        """One sampled reading in the agent's neutral form (OCPP 1.6 §7.43 SampledValue names)."""
        wanted = measurands if measurands is not None else self.settings["meter_sampled_data"]
        reading = conn.reading
        values: list[dict[str, Any]] = []
        for measurand in wanted:
            if measurand == "Energy.Active.Import.Register" and reading:
                values.append(_value(measurand, reading.energy_wh, "Wh", context))
            elif measurand == "Power.Active.Import" and reading:
                values.append(_value(measurand, reading.power_w, "W", context))
            elif measurand == "Current.Import" and reading:
                for i, amps in enumerate(reading.current_a[: conn.phases]):
                    values.append(_value(measurand, amps, "A", context, f"L{i + 1}"))
            elif measurand == "Voltage" and reading:
                for i, volts in enumerate(reading.voltage_v[: conn.phases]):
                    values.append(_value(measurand, volts, "V", context, f"L{i + 1}-N"))
            elif measurand == "Current.Offered":
                values.append(_value(measurand, conn.session.offered_a or 0.0, "A", context))
            elif measurand == "Temperature" and self.temperature_c is not None:
                values.append(_value(measurand, self.temperature_c, "Celsius", context))
        return {"timestamp": self.clock.iso(), "values": values}

    # ---- carrying out commands -----------------------------------------------------

    async def _execute(self, conn: Connector) -> None:
        while True:
            commands: list[Command] = await conn.commands.get()
            for command in commands:
                try:
                    await self._run_command(conn, command)
                except asyncio.CancelledError:
                    raise
                except StorageError as exc:
                    log.critical("connector %d: %s could not be stored: %s", conn.id, command, exc)
                    if isinstance(command, StartTransaction):
                        # A transaction that cannot be stored cannot be billed: it does not
                        # start, and the energy offer that came with it is never made.
                        self.dispatch(conn, FaultRaised(Fault.STORAGE))
                        break
                except Exception:
                    log.exception("connector %d: %s failed", conn.id, command)

    async def _run_command(self, conn: Connector, command: Command) -> None:
        match command:
            case OfferCurrent(amps):
                if conn.safety is not None:
                    amps = conn.safety.gate_offer(amps)  # lock before power, RCM self-test first
                try:
                    await conn.board.set_current_limit(amps)
                except (DeviceUnavailable, DeviceError) as exc:
                    # The poll loop notices a lost board; it restates the offer when it is back.
                    log.warning("connector %d: cannot set %.1f A on the board: %s", conn.id, amps, exc)
            case StartTransaction(id_tag, reservation_id):
                meter_start = await self._fresh_energy_wh(conn)
                timestamp = self.clock.iso()
                conn.tx_local_id = self.store.begin_transaction(
                    conn.id,
                    id_tag,
                    meter_start,
                    timestamp,
                    {"connector_id": conn.id, "id_tag": id_tag, "meter_start_wh": meter_start, "timestamp": timestamp,
                     "reservation_id": reservation_id},
                )
                conn.next_sample = 0.0
                conn.stop_txn_data = []
                log.info("connector %d: transaction %d started by %s at %d Wh", conn.id, conn.tx_local_id, id_tag, meter_start)
                self.history.record(conn.id, "start", f"transaction {conn.tx_local_id} by {id_tag} at {meter_start} Wh")
                self._outbox_changed()
            case StopTransaction(reason, id_tag):
                if conn.tx_local_id is not None:
                    await self._finish_transaction(conn, reason, id_tag, conn.tx_local_id)
            case Authorize(id_tag):
                asyncio.create_task(self._authorize(conn, id_tag))
            case StatusChanged(status, fault):
                log.info("connector %d: %s%s", conn.id, status.value, f" ({fault.value})" if fault else "")
                self.history.record(conn.id, "status", status.value + (f" ({fault.value})" if fault else ""))
                if self.backend is not None:
                    self.backend.status_changed(conn.id, status, fault)
            case CardIgnored(id_tag, why):
                log.info("connector %d: card %s: %s", conn.id, id_tag, why)
            case ReservationEnded(reservation_id, why):
                self.reservations.ended(conn.id, reservation_id, why)

    async def _finish_transaction(self, conn: Connector, reason: StopReason, id_tag: str | None, local_id: int) -> None:
        if conn.session.offered_a == 0 and conn.last_status is not None and conn.last_status.relay_closed:
            await self._wait_relay_open(conn)
        meter_stop = await self._fresh_energy_wh(conn)
        timestamp = self.clock.iso()
        body: dict[str, Any] = {
            "meter_stop_wh": meter_stop,
            "timestamp": timestamp,
            "reason": reason.value,
            "transaction_data": [],
        }
        if id_tag:
            body["id_tag"] = id_tag
        stop_measurands = list(
            dict.fromkeys(self.settings["stop_txn_sampled_data"] + self.settings["stop_txn_aligned_data"])
        )
        if stop_measurands and conn.reading is not None:
            body["transaction_data"] = conn.stop_txn_data + [self.sample(conn, "Transaction.End", stop_measurands)]
        try:
            self.store.end_transaction(local_id, meter_stop, timestamp, reason.value, body)
        except StorageError as exc:
            # Disk full / read-only: the stop is kept in memory and stored when the disk
            # takes writes again (_watch_storage); the session ends all the same.
            log.critical(
                "connector %d: StopTransaction of transaction %d (%s, meterStop %d Wh at %s) not stored: %s; "
                "kept in memory until storage works again",
                conn.id, local_id, reason.value, meter_stop, timestamp, exc,
            )
            self._unstored_stops.append((local_id, meter_stop, timestamp, reason.value, body))
            if Fault.STORAGE not in conn.session.faults:
                self.dispatch(conn, FaultRaised(Fault.STORAGE))
        if conn.tx_local_id == local_id:
            conn.tx_local_id = None
            conn.stop_txn_data = []
        self._transaction_ended.set()
        log.info("connector %d: transaction %d stopped (%s) at %d Wh", conn.id, local_id, reason.value, meter_stop)
        self.history.record(conn.id, "stop", f"transaction {local_id} ({reason.value}) at {meter_stop} Wh")
        self._outbox_changed()

    async def _wait_relay_open(self, conn: Connector, timeout_s: float = 2.0) -> None:
        """Give the board a moment to report the contactor open, so meterStop is final."""
        deadline = self._monotonic() + timeout_s
        while self._monotonic() < deadline:
            try:
                status = await conn.board.read_status()
            except (DeviceUnavailable, DeviceError):
                return
            if not status.relay_closed:
                return
            await asyncio.sleep(conn.poll_interval_s / 2)

    async def _authorize(self, conn: Connector, id_tag: str) -> None:
        try:
            verdict = await self.authorizer.authorize(id_tag, self.backend)
        except Exception:  # never leave the session waiting for an answer: refuse
            log.exception("card %s: authorization failed", id_tag)
            self.dispatch(conn, AuthorizationResult(id_tag, False))
            return
        log.info("card %s: %s", id_tag, verdict.why)
        self.dispatch(conn, AuthorizationResult(id_tag, verdict.accepted, verdict.parent_id_tag))

    def _outbox_changed(self) -> None:
        if self.backend is not None:
            self.backend.outbox_changed()

    # ---- cards ---------------------------------------------------------------------

    async def _read_cards(self) -> None:
        async for id_tag in self.card_reader.cards():
            self.last_card = id_tag
            parent = None
            running = [c.session.transaction for c in self.connectors.values() if c.session.transaction]
            if any(tx.parent_id_tag for tx in running) and all(tx.id_tag != id_tag for tx in running):
                # A card of the same group may stop a session (OCPP 1.6 §5.16): learn its parent.
                try:
                    parent = await self.authorizer.parent_of(id_tag, self.backend)
                except Exception:  # the card still counts as itself; the reader goes on
                    log.exception("card %s: cannot learn its parent idTag", id_tag)
            conn = self._connector_for_card(id_tag, parent)
            log.info("card %s presented -> connector %d", id_tag, conn.id)
            if self.reservations.refuses(conn, id_tag, parent):
                log.info("card %s: the last free connector is kept for a reservation", id_tag)
                continue
            self.reservations.claim(conn, id_tag, parent)
            self.dispatch(conn, CardPresented(id_tag, parent))

    def _connector_for_card(self, id_tag: str, parent_id_tag: str | None = None) -> Connector:
        conns = list(self.connectors.values())
        for conn in conns:  # the card's own session (or its group's): a tap stops it
            tx = conn.session.transaction
            if tx is not None and (tx.id_tag == id_tag or (parent_id_tag and tx.parent_id_tag == parent_id_tag)):
                return conn
        for conn in conns:  # the connector reserved for this card (OCPP 1.6 §3.12)
            if conn.session.reservation is not None and not conn.session.reserved_for_other(id_tag, parent_id_tag):
                return conn
        conns = [c for c in conns if not c.session.reserved_for_other(id_tag, parent_id_tag)] or conns
        for conn in conns:  # an EV plugged in and waiting for a card
            if conn.session.plugged and conn.session.can_start() and conn.session.authorized is None:
                return conn
        for conn in conns:
            if conn.session.can_start() and conn.session.authorized is None:
                return conn
        return conns[0]

    # ---- what the backend asks -----------------------------------------------------

    def remote_start(self, id_tag: str, connector_id: int | None) -> bool:
        """OCPP 1.6 §5.11: Accepted when the connector can start; the session does the rest."""
        if connector_id is None:
            candidates = [c for c in self.connectors.values() if c.session.can_start() and c.session.authorized is None]
            candidates = [c for c in candidates if not c.session.reserved_for_other(id_tag)]  # OCPP 1.6 §3.12
            candidates.sort(key=lambda c: (c.session.reservation is None, not c.session.plugged))
            conn = candidates[0] if candidates else None
        else:
            conn = self.connectors.get(connector_id)
        if conn is None or not conn.session.can_start() or conn.session.authorized is not None:
            return False
        if conn.session.reserved_for_other(id_tag) or self.reservations.refuses(conn, id_tag):
            return False  # OCPP 1.6 §3.12.1
        self.reservations.claim(conn, id_tag)
        if self.settings["authorize_remote_tx_requests"]:
            asyncio.create_task(self._authorize_then_start(conn, id_tag))
        else:
            self.dispatch(conn, RemoteStartRequested(id_tag))
        return True

    async def _authorize_then_start(self, conn: Connector, id_tag: str) -> None:
        verdict = await self.authorizer.authorize(id_tag, self.backend)
        log.info("remote start %s: %s", id_tag, verdict.why)
        if verdict.accepted:
            self.dispatch(conn, RemoteStartRequested(id_tag))

    def reserve(
        self, connector_id: int, id_tag: str, parent_id_tag: str | None, expiry: dt.datetime, reservation_id: int
    ) -> ReserveResult:
        """OCPP 1.6 §5.13: reserve a connector (0: any) for ``id_tag`` until ``expiry`` (wall clock)."""
        return self.reservations.reserve(connector_id, id_tag, parent_id_tag, expiry, reservation_id)

    def cancel_reservation(self, reservation_id: int) -> bool:
        """OCPP 1.6 §5.1: False when no reservation has this id."""
        return self.reservations.cancel(reservation_id)

    def remote_stop(self, remote_tx_id: int) -> bool:
        for conn in self.connectors.values():
            if conn.tx_local_id is None or conn.session.transaction is None:
                continue
            record = self.store.transaction(conn.tx_local_id)
            if record is not None and record.remote_id == remote_tx_id:
                self.dispatch(conn, StopRequested(StopReason.REMOTE))
                return True
        return False

    def transaction_rejected(self, local_tx_id: int) -> None:
        """StartTransaction.conf said the idTag is not valid (OCPP 1.6 §5.16 StopTransactionOnInvalidId)."""
        for conn in self.connectors.values():
            if conn.tx_local_id == local_tx_id:
                self.dispatch(conn, TransactionRejected(stop=bool(self.settings["stop_on_invalid_id"])))

    async def _watch_storage(self) -> None:
        """Store what could not be stored, and clear the storage fault, once the database
        takes writes again."""
        while True:
            await asyncio.sleep(self.storage_recheck_s)
            faulted = [c for c in self.connectors.values() if Fault.STORAGE in c.session.faults]
            if not faulted or not self.storage_ok:
                continue
            try:
                while self._unstored_stops:
                    self.store.end_transaction(*self._unstored_stops[0])
                    self._unstored_stops.pop(0)
                    self._outbox_changed()
                self.store.put_setting("storage.probe", self.clock.iso())
            except StorageError:
                continue
            log.info("storage: writable again")
            for conn in faulted:
                self.dispatch(conn, FaultCleared(Fault.STORAGE))

    def change_availability(self, connector_id: int, available: bool) -> str:
        """OCPP 1.6 §5.2: "Accepted", "Scheduled" (after the running transaction) or "Rejected"."""
        if connector_id == 0:
            targets = list(self.connectors.values())
        elif connector_id in self.connectors:
            targets = [self.connectors[connector_id]]
        else:
            return "Rejected"
        scheduled = False
        for conn in targets:
            self.store.put_setting(f"availability.{conn.id}", "operative" if available else "inoperative")
            self.dispatch(conn, AvailabilityChanged(available))
            scheduled = scheduled or conn.session.scheduled_available is not None
        return "Scheduled" if scheduled else "Accepted"

    async def stop_all(self, reason: StopReason, timeout_s: float = 10.0) -> None:
        """End every running transaction (Reset) and wait until each stop is stored."""
        running = [c for c in self.connectors.values() if c.session.transaction is not None]
        for conn in running:
            self.dispatch(conn, StopRequested(reason))
        async with asyncio.timeout(timeout_s):
            while any(c.tx_local_id is not None for c in running):
                self._transaction_ended.clear()
                await self._transaction_ended.wait()

    def unlock(self, connector_id: int) -> bool:
        """OCPP 1.6 §5.18: finish the connector's transaction first; True if there was one."""
        conn = self.connectors.get(connector_id)
        if conn is None or conn.session.transaction is None:
            return False
        self.dispatch(conn, StopRequested(StopReason.UNLOCK_COMMAND))
        return True

    def charge_point_status(self) -> tuple[ConnectorStatus, Fault | None]:
        """Connector 0: Unavailable when every connector is, else Available."""
        if all(not c.session.available for c in self.connectors.values()):
            return ConnectorStatus.UNAVAILABLE, None
        return ConnectorStatus.AVAILABLE, None

    async def _clock_aligned_samples(self) -> None:
        """OCPP 1.6 §9.1.3 ClockAlignedDataInterval: samples at whole multiples of the
        interval since midnight (backend time), MeterValuesAlignedData measurands."""
        while True:
            interval = self.settings["clock_aligned_interval_s"]
            if interval <= 0:
                await asyncio.sleep(5)
                continue
            now = self.clock.now()
            since_midnight = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
            await asyncio.sleep(interval - since_midnight % interval)
            for conn in self.connectors.values():
                if conn.reading is None:
                    continue
                try:
                    self._aligned_sample(conn)
                except StorageError as exc:
                    log.warning("connector %d: clock-aligned sample not stored: %s", conn.id, exc)

    def _aligned_sample(self, conn: Connector) -> None:
        sample = self.sample(conn, "Sample.Clock", self.settings["meter_aligned_data"])
        if conn.tx_local_id is not None and conn.session.transaction is not None:
            self.store.queue_meter_values(conn.tx_local_id, {"connector_id": conn.id, "samples": [sample]})
            self._outbox_changed()
            if self.settings["stop_txn_aligned_data"]:
                conn.stop_txn_data.append(self.sample(conn, "Sample.Clock", self.settings["stop_txn_aligned_data"]))
        elif self.backend is not None:
            self.backend.meter_values(conn.id, sample)

    def statuses(self) -> dict[int, tuple[ConnectorStatus, Fault | None]]:
        return {c.id: (c.session.status(), c.session.fault) for c in self.connectors.values()}


def _value(measurand: str, value: float, unit: str, context: str, phase: str | None = None) -> dict[str, Any]:
    sampled = {"measurand": measurand, "value": f"{value:.1f}" if unit != "Wh" else f"{round(value)}", "unit": unit, "context": context}
    if phase:
        sampled["phase"] = phase
    return sampled
