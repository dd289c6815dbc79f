"""The station: connectors, their hardware and their sessions, run together.

It polls each board and meter, turns what it sees into session events, carries
out the commands the sessions return (board writes, durable transaction
messages, status reports) and answers what the backend asks (remote start/stop).
It knows the backend only through ``agent.backend.ports.BackendPort``. Polling the devices is in
``agent/station/device_poller.py`` and meter values in ``agent/station/meter_sampler.py`` (mixins of ``Station``).
"""

from __future__ import annotations

import asyncio
import json
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.station.authorization import Authorizer, LocalAuthorization
from agent.backend.ports import (
    AvailabilityResult,
    BackendPort,
    ReservationRequest,
    Sample,
    TransactionView,
    UnlockResult,
    sample_to_json,
)
from agent.core.card_routing import connector_for_card, connector_for_remote_start
from agent.core.connector_facts import ConnectorFacts
from agent.core.identity import ConnectorRef, IdToken, IdTokenType
from agent.station.charging_limits import ChargingLimits
from agent.station.clock import Clock
from agent.core.session import (
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
    RemoteStartRequested,
    ReservationEnded,
    ReserveResult,
    Session,
    StartTransaction,
    StatusChanged,
    StopReason,
    StopRequested,
    StopTransaction,
    TransactionRecorded,
    TransactionRejected,
    TransactionRestored,
    UnlockRequested,
)
from agent.station.connector import Connector, ConnectorHardware, DeviceHealth
from agent.station.reservations import ReservationDesk
from agent.station.view import ConnectorView, DeviceHealthView, contactor_view, session_progress
from agent.station.history import History
from agent.station.meter_sampler import MeterSampler
from agent.station.device_poller import DevicePoller
from agent.persistence.settings import Settings
from agent.persistence.store import StorageError, Store, TransactionRecord
from drivers.interfaces import (
    BoardStatus,
    CardReader,
    DeviceError,
    DeviceUnavailable,
    EvseBoard,
    PilotState,
)

log = logging.getLogger(__name__)


class Station:
    def __init__(
        self,
        hardware: list[ConnectorHardware],
        store: Store,
        settings: Settings,
        clock: Clock,
        card_reader: CardReader | None = None,
        monotonic: Callable[[], float] = Clock.monotonic,
        storage_ok: bool = True,
        storage_recheck_s: float = 30.0,
        free_vend_id_tag: str | None = None,
    ) -> None:
        """``hardware``: each connector's devices (fixed from now on); ``free_vend_id_tag``: plug
        in and charge as this idTag, no card ([free_vend] id_tag; Session.free_vend_id_tag)."""
        connectors = [
            Connector(hw, Session(max_current_a=hw.max_current_a, free_vend_id_tag=free_vend_id_tag)) for hw in hardware
        ]
        self.connectors = {c.id: c for c in connectors}
        self.storage_ok = storage_ok  # False: running on a memory store, nothing is kept
        self.storage_recheck_s = storage_recheck_s
        self.store = store
        self.settings = settings
        self.clock = clock
        self.card_reader = card_reader
        self.backend: BackendPort | None = None
        # OCPP 1.6 §3.5: local list, cache and the rules; the adapter feeds the cache.
        self.authorizer = Authorizer(LocalAuthorization(store, settings, clock.now), settings)
        self._monotonic = monotonic
        self._tasks: list[asyncio.Task] = []
        self._last_card: IdToken | None = None
        self.temperature_c: float | None = None  # the station's sensor, kept by agent/station/thermal.py
        for record in store.open_transactions():
            conn = self.connectors.get(record.connector_id)
            if conn is not None:
                conn.transaction_local_id = record.local_id
                conn.restored = record
        settings.on_change(self._setting_changed)
        stored = store.settings()
        for conn in connectors:
            conn.session.connection_timeout_s = settings["connection_timeout_s"]
            conn.session.stop_on_ev_disconnect = settings["stop_on_ev_disconnect"]
            conn.session.unlock_on_ev_disconnect = settings["unlock_on_ev_disconnect"]
            # Availability set by the backend persists across restarts (OCPP 1.6 §5.2).
            if stored.get(f"availability.{conn.id}") == "inoperative":
                conn.session.available = False
        # Connector 0, the charge point itself (OCPP 1.6 §5.2): set by a ChangeAvailability of
        # connector 0 only; a single connector made inoperative leaves it Available.
        self.operative = stored.get("availability.0") != "inoperative"
        self._reported_station_status = self.station_status()
        self._transaction_ended = asyncio.Event()
        self._unstored_stops: list[tuple] = []  # (local_id, meter_stop, timestamp, reason, body)
        self.history = History(store, clock.iso)
        # OCPP 1.6 §3.12: after availability and open transactions are known.
        self.reservations = ReservationDesk(
            store, clock, monotonic, {c.id: c.session for c in connectors},
            self.dispatch,
            restored=lambda evse_id: self.connectors[evse_id].restored is not None,
        )
        self.reservations.restore()
        self.reservations.update_kept()  # before the first event: a free vend start may not take it
        self.charging_limits = ChargingLimits(self, store, monotonic)  # smart charging profiles
        # The meter's one read path and its samples; a poller per connector for board and meter.
        self.meters = MeterSampler(
            self.connectors, settings=settings, store=store, clock=clock, monotonic=monotonic,
            dispatch=self._dispatch, backend=lambda: self.backend, temperature=lambda: self.temperature_c,
        )
        self._pollers = {
            conn.id: DevicePoller(conn, dispatch=lambda e, c=conn: self._dispatch(c, e), meters=self.meters,
                                  resolve_restored=self._resolve_restored)
            for conn in connectors
        }

    # ---- running ---------------------------------------------------------------------

    async def run(self) -> None:
        for conn in self.connectors.values():
            if not self.storage_ok:
                self._dispatch(conn, FaultRaised(Fault.STORAGE))
            self._tasks.append(asyncio.create_task(self._pollers[conn.id].run(), name=f"poll-{conn.id}"))
            self._tasks.append(asyncio.create_task(self._execute(conn), name=f"commands-{conn.id}"))
            safety = conn.hardware.safety
            if safety is not None:
                safety.attach(conn, lambda e, c=conn: self._dispatch(c, e), lambda: bool(self.backend and self.backend.online))
                self._tasks.append(asyncio.create_task(safety.run(), name=f"safety-{conn.id}"))
        if self.card_reader is not None:
            self._tasks.append(asyncio.create_task(self._read_cards(), name="cards"))
        self._tasks.append(asyncio.create_task(self.meters.run(), name="aligned-samples"))
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
            elif name == "unlock_on_ev_disconnect":
                conn.session.unlock_on_ev_disconnect = value

    def dispatch(self, evse_id: int, event: Event) -> None:
        """Feed ``event`` to the EVSE's session (the thermal guard, smart charging, ...)."""
        self._dispatch(self.connectors[evse_id], event)

    def _dispatch(self, conn: Connector, event: Event) -> None:
        """Feed ``event`` to the connector's session and queue what it commands."""
        commands = conn.session.handle(event, self._monotonic())
        if conn.hardware.safety is not None:
            conn.hardware.safety.session_changed()  # the GPIO contactor follows the session at once
        if commands:
            log.debug("connector %d: %s -> %s", conn.id, event, commands)
            conn.commands.put_nowait(commands)
        self.reservations.update_kept()  # OCPP 1.6 §3.12.1: the connector kept for connector 0's

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
                except Exception:
                    log.exception("connector %d: %s failed", conn.id, command)

    async def _run_command(self, conn: Connector, command: Command) -> None:
        match command:
            case OfferCurrent(amps):
                if conn.hardware.safety is not None:
                    amps = conn.hardware.safety.gate_offer(amps)  # lock before power, RCM self-test first
                try:
                    await conn.hardware.board.set_current_limit(amps)
                except (DeviceUnavailable, DeviceError) as exc:
                    # The poll loop notices a lost board; it restates the offer when it is back.
                    log.warning("connector %d: cannot set %.1f A on the board: %s", conn.id, amps, exc)
            case StartTransaction(id_tag, reservation_id, start, trigger, token_type, remote_start_id):
                try:
                    meter_start = await self.meters.energy_wh(conn)
                    timestamp = self.clock.iso()
                    conn.transaction_local_id = self.store.begin_transaction(
                        conn.id,
                        id_tag,
                        meter_start,
                        timestamp,
                        self._event(conn, timestamp, trigger=trigger.value, id_token={"value": id_tag, "type": token_type},
                                    meter_wh=meter_start, reservation_id=reservation_id, remote_start_id=remote_start_id),
                        token_type=token_type,
                        remote_start_id=remote_start_id,
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # A transaction that is not stored and queued cannot be billed: whatever the
                    # reason, it does not start and no energy is offered for it (the session
                    # waits for TransactionRecorded); the connector faults.
                    storage = isinstance(exc, StorageError)
                    log.critical("connector %d: transaction by %s not recorded, no energy offered: %s: %s",
                                 conn.id, id_tag, type(exc).__name__, exc, exc_info=not storage)
                    self._dispatch(conn, FaultRaised(Fault.STORAGE if storage else Fault.NOT_RECORDED))
                    return
                self.meters.transaction_started(conn)
                self._dispatch(conn, TransactionRecorded(start))  # now the session offers energy
                log.info("connector %d: transaction %d started by %s at %d Wh", conn.id, conn.transaction_local_id, id_tag, meter_start)
                self.history.record(conn.id, "start", f"transaction {conn.transaction_local_id} by {id_tag} at {meter_start} Wh")
                self._outbox_changed()
            case StopTransaction(reason, id_tag):
                if conn.transaction_local_id is not None:
                    await self._finish_transaction(conn, reason, id_tag, conn.transaction_local_id)
            case Authorize(id_tag):
                asyncio.create_task(self._authorize(conn, id_tag))
            case StatusChanged(status, fault):
                log.info("connector %d: %s%s", conn.id, status.value, f" ({fault.value})" if fault else "")
                self.history.record(conn.id, "status", status.value + (f" ({fault.value})" if fault else ""))
                if self.backend is not None:
                    self.backend.status_changed(ConnectorRef(conn.id), status, fault)
                self._station_status_changed()
            case CardIgnored(id_tag, why):
                log.info("connector %d: card %s: %s", conn.id, id_tag, why)
            case ReservationEnded(reservation_id, why):
                self.reservations.ended(conn.id, reservation_id, why)

    async def _finish_transaction(self, conn: Connector, reason: StopReason, id_tag: str | None, local_id: int) -> None:
        if conn.session.offered_a == 0 and conn.board_status is not None and conn.board_status.relay_closed:
            await self._wait_relay_open(conn)
        meter_stop = await self.meters.energy_wh(conn)
        timestamp = self.clock.iso()
        body = self._event(conn, timestamp, meter_wh=meter_stop, reason=reason.value, samples=[])
        if id_tag:
            body["id_token"] = {"value": id_tag, "type": "ISO14443"}
        stop_measurands = list(
            dict.fromkeys(self.settings["stop_txn_sampled_data"] + self.settings["stop_txn_aligned_data"])
        )
        if stop_measurands and conn.reading is not None:
            try:
                record = self.store.transaction(local_id)
                kept = json.loads(record.stop_samples) if record is not None else []
                body["samples"] = [*kept, sample_to_json(self.meters.sample(conn, "Transaction.End", stop_measurands))]
            except Exception:  # the stop is recorded all the same, without its transactionData
                log.exception("connector %d: transactionData of transaction %d left out", conn.id, local_id)
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
                self._dispatch(conn, FaultRaised(Fault.STORAGE))
        if conn.transaction_local_id == local_id:
            conn.transaction_local_id = None
        self._transaction_ended.set()
        log.info("connector %d: transaction %d stopped (%s) at %d Wh", conn.id, local_id, reason.value, meter_stop)
        self.history.record(conn.id, "stop", f"transaction {local_id} ({reason.value}) at {meter_stop} Wh")
        self._outbox_changed()

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

    def _event(self, conn: Connector, timestamp: str, **fields: Any) -> dict[str, Any]:
        """A transaction event's body (agent/persistence/transaction_events.py)."""
        return {"timestamp": timestamp, "evse_id": conn.id, "connector_id": 1,
                "offline": not (self.backend is not None and self.backend.online), **fields}

    async def _wait_relay_open(self, conn: Connector, timeout_s: float = 2.0) -> None:
        """Give the board a moment to report the contactor open, so meterStop is final."""
        deadline = self._monotonic() + timeout_s
        while self._monotonic() < deadline:
            try:
                status = await conn.hardware.board.read_status()
            except (DeviceUnavailable, DeviceError):
                return
            if not status.relay_closed:
                return
            await asyncio.sleep(conn.hardware.poll_interval_s / 2)

    async def _authorize(self, conn: Connector, id_tag: str) -> None:
        try:
            verdict = await self.authorizer.authorize(id_tag, self.backend)
        except Exception:  # never leave the session waiting for an answer: refuse
            log.exception("card %s: authorization failed", id_tag)
            self._dispatch(conn, AuthorizationResult(id_tag, False))
            return
        log.info("card %s: %s", id_tag, verdict.why)
        self._dispatch(conn, AuthorizationResult(id_tag, verdict.accepted, verdict.parent_id_tag))

    def _outbox_changed(self) -> None:
        if self.backend is not None:
            self.backend.outbox_changed()

    # ---- cards ---------------------------------------------------------------------

    async def _read_cards(self) -> None:
        async for id_tag in self.card_reader.cards():
            self._last_card = IdToken(id_tag)
            parent = None
            running = [c.session.transaction for c in self.connectors.values() if c.session.transaction]
            if any(tx.parent_id_tag for tx in running) and all(tx.id_tag != id_tag for tx in running):
                # A card of the same group may stop a session (OCPP 1.6 §5.16): learn its parent.
                try:
                    parent = await self.authorizer.parent_of(id_tag, self.backend)
                except Exception:  # the card still counts as itself; the reader goes on
                    log.exception("card %s: cannot learn its parent idTag", id_tag)
            conn = self.connectors[connector_for_card(self._facts(), id_tag, parent)]
            log.info("card %s presented -> connector %d", id_tag, conn.id)
            if self.reservations.refuses(conn.id, id_tag, parent):
                log.info("card %s: the last free connector is kept for a reservation", id_tag)
                continue
            self.reservations.claim(conn.id, id_tag, parent)
            self._dispatch(conn, CardPresented(id_tag, parent))

    def _facts(self) -> list[ConnectorFacts]:
        return [ConnectorFacts.of(c.id, c.session) for c in self.connectors.values()]

    # ---- what a backend may ask (agent/backend/ports.py StationPort) -----------------

    def evses(self) -> dict[int, tuple[int, ...]]:
        """EVSE id -> its connector ids (one connector per EVSE on this station)."""
        return {conn.id: (1,) for conn in self.connectors.values()}

    def remote_start(self, id_token: IdToken, evse_id: int | None, remote_start_id: int | None = None) -> bool:
        """OCPP 1.6 §5.11 / 2.0.1 F01: Accepted when the EVSE can start; the session does the rest."""
        id_tag = id_token.value
        known = self.authorizer.local.lookup(id_tag)
        parent = known.parent_id_tag if known is not None else None  # its group, if known here
        if evse_id is None:
            evse_id = connector_for_remote_start(self._facts(), id_tag, parent)
        conn = self.connectors.get(evse_id) if evse_id is not None else None
        if conn is None or not conn.session.can_start() or conn.session.authorized is not None:
            return False
        if conn.session.reserved_for_other(id_tag, parent) or self.reservations.refuses(conn.id, id_tag, parent):
            # OCPP 1.6 §3.12.1: another idTag than the reservation's may start if its parent idTag
            # is the reservation's parentIdTag. Not known here: the backend tells it (Authorize)
            # before any start.
            group = self.reservations.group_holding(conn.id)
            if parent is not None or group is None or self.backend is None or not self.backend.online:
                return False
            asyncio.create_task(self._authorize_then_start(conn, id_tag))
            return True
        self.reservations.claim(conn.id, id_tag, parent)
        if self.settings["authorize_remote_tx_requests"]:
            asyncio.create_task(self._authorize_then_start(conn, id_tag))
        else:
            self._dispatch(conn, RemoteStartRequested(id_tag, parent, id_token.type.value, remote_start_id))
        return True

    async def _authorize_then_start(self, conn: Connector, id_tag: str) -> None:
        verdict = await self.authorizer.authorize(id_tag, self.backend)
        log.info("remote start %s: %s", id_tag, verdict.why)
        if not verdict.accepted:
            return
        parent = verdict.parent_id_tag
        if conn.session.reserved_for_other(id_tag, parent) or self.reservations.refuses(conn.id, id_tag, parent):
            log.info("remote start %s: the connector is reserved for another idTag and group", id_tag)
            return
        self.reservations.claim(conn.id, id_tag, parent)
        self._dispatch(conn, RemoteStartRequested(id_tag, parent))

    def reserve(self, request: ReservationRequest) -> ReserveResult:
        """OCPP 1.6 §5.13: reserve an EVSE (None: any) until ``expiry`` (wall clock)."""
        return self.reservations.reserve(request.evse_id or 0, request.id_token.value, request.group_id,
                                         request.expiry, request.reservation_id)

    def cancel_reservation(self, reservation_id: int) -> bool:
        """OCPP 1.6 §5.1: False when no reservation has this id."""
        return self.reservations.cancel(reservation_id)

    def remote_stop(self, transaction_id: str) -> bool:
        record = self.store.transaction_by_tx_id(transaction_id)
        conn = self.connectors.get(record.connector_id) if record is not None else None
        if conn is None or conn.transaction_local_id != record.local_id or conn.session.transaction is None:
            return False
        self._dispatch(conn, StopRequested(StopReason.REMOTE))
        return True

    def transaction(self, transaction_id: str) -> TransactionView | None:
        record = self.store.transaction_by_tx_id(transaction_id)
        return self._view(record) if record is not None else None

    def transaction_on(self, evse_id: int) -> TransactionView | None:
        conn = self.connectors.get(evse_id)
        if conn is None or conn.transaction_local_id is None or conn.session.transaction is None:
            return None
        record = self.store.transaction(conn.transaction_local_id)
        return self._view(record) if record is not None else None

    def transaction_by_backend_id(self, backend_id: str) -> TransactionView | None:
        if not backend_id.lstrip("-").isdigit():
            return None
        record = self.store.transaction_by_remote_id(int(backend_id))
        return self._view(record) if record is not None else None

    def _view(self, record: TransactionRecord) -> TransactionView:
        conn = self.connectors.get(record.connector_id)
        running = record.stopped_at is None and conn is not None and conn.transaction_local_id == record.local_id
        return TransactionView(
            transaction_id=record.tx_id,
            evse_id=record.connector_id,
            connector_id=1,
            id_token=IdToken(record.id_tag, IdTokenType(record.token_type)),
            started_at=record.started_at,
            meter_start_wh=record.meter_start_wh,
            backend_id=None if record.remote_id is None else str(record.remote_id),
            running=running,
            remote_start_id=record.remote_start_id,
        )

    def start_refused(self, transaction_id: str) -> None:
        """The backend refused the token the transaction started with (OCPP 1.6 §5.16
        StopTransactionOnInvalidId)."""
        record = self.store.transaction_by_tx_id(transaction_id)
        for conn in self.connectors.values():
            if record is not None and conn.transaction_local_id == record.local_id:
                self._dispatch(conn, TransactionRejected(stop=bool(self.settings["stop_on_invalid_id"])))

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
                self._dispatch(conn, FaultCleared(Fault.STORAGE))

    def change_availability(self, evse_id: int | None, operative: bool) -> AvailabilityResult:
        """OCPP 1.6 §5.2: Accepted, Scheduled (after the running transaction) or Rejected;
        ``evse_id`` None (1.6 connector 0): the whole station."""
        if evse_id is None or evse_id == 0:
            targets = list(self.connectors.values())
        elif evse_id in self.connectors:
            targets = [self.connectors[evse_id]]
        else:
            return AvailabilityResult.REJECTED
        if not evse_id:
            self.operative = operative
            self.store.put_setting("availability.0", "operative" if operative else "inoperative")
        scheduled = False
        for conn in targets:
            self.store.put_setting(f"availability.{conn.id}", "operative" if operative else "inoperative")
            self._dispatch(conn, AvailabilityChanged(operative))
            scheduled = scheduled or conn.session.scheduled_available is not None
        self._station_status_changed()
        return AvailabilityResult.SCHEDULED if scheduled else AvailabilityResult.ACCEPTED

    async def stop_all(self, reason: StopReason, timeout_s: float = 10.0) -> None:
        """End every running transaction (Reset) and wait until each stop is stored."""
        running = [c for c in self.connectors.values() if c.session.transaction is not None]
        for conn in running:
            self._dispatch(conn, StopRequested(reason))
        async with asyncio.timeout(timeout_s):
            while any(c.transaction_local_id is not None for c in running):
                self._transaction_ended.clear()
                await self._transaction_ended.wait()

    async def unlock(self, where: ConnectorRef) -> UnlockResult:
        """OCPP 1.6 §5.18: the connector's transaction is finished first; then its cable lock,
        where one is configured, opens once the contactor is open (agent/station/safety_io.py)."""
        conn = self.connectors.get(where.evse_id)
        if conn is None or where.connector_id != 1:
            return UnlockResult.UNKNOWN_CONNECTOR
        stopped = conn.session.transaction is not None
        # The transaction ends first (reason UnlockCommand) and a cable held after the EV left
        # is let go.
        self._dispatch(conn, UnlockRequested())
        safety = conn.hardware.safety
        unlocked = await safety.unlock() if safety is not None else None
        log.info("connector %d: unlock: transaction stopped: %s; lock: %s", conn.id, stopped,
                 {None: "none", True: "unlocked", False: "failed"}[unlocked])
        if unlocked is None:
            return UnlockResult.NOT_SUPPORTED
        return UnlockResult.UNLOCKED if unlocked else UnlockResult.UNLOCK_FAILED

    def station_status(self) -> tuple[ConnectorStatus, Fault | None]:
        """The whole station (OCPP 1.6 connector 0): Unavailable once it was made inoperative
        and its connectors are (a change Scheduled behind a transaction applies when it ends),
        else Available."""
        if not self.operative and all(not c.session.available for c in self.connectors.values()):
            return ConnectorStatus.UNAVAILABLE, None
        return ConnectorStatus.AVAILABLE, None

    def _station_status_changed(self) -> None:
        now = self.station_status()
        if now != self._reported_station_status:
            self._reported_station_status = now
            if self.backend is not None:
                self.backend.status_changed(ConnectorRef(0), *now)

    def statuses(self) -> dict[ConnectorRef, tuple[ConnectorStatus, Fault | None]]:
        return {ConnectorRef(c.id): (c.session.status(), c.session.fault) for c in self.connectors.values()}

    def sample(self, evse_id: int, context: str, measurands: list[str] | None = None) -> Sample:
        """The latest reading of the EVSE's meter, as a sample (a trigger, a price message)."""
        return self.meters.sample(self.connectors[evse_id], context, measurands)

    def view(self, evse_id: int) -> ConnectorView:
        """The EVSE as the displays, diagnostics and guards may read it (agent/station/view.py)."""
        conn = self.connectors[evse_id]
        session = conn.session
        transaction = self.transaction_on(evse_id)
        energy_wh, session_s = session_progress(transaction, conn.reading, self.clock.now())
        return ConnectorView(
            evse_id=evse_id,
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
            identified=tuple(tag for tag in (session.pending_auth, session.authorized and session.authorized[0],
                                             session.transaction and session.transaction.id_tag) if tag),
            reservation=session.reservation,
            transaction_id_tag=session.transaction.id_tag if session.transaction is not None else None,
            transaction_local_id=conn.transaction_local_id,
            transaction=transaction,
            session_energy_wh=energy_wh,
            session_s=session_s,
        )

    def last_card(self) -> IdToken | None:
        """The card tapped last (for support and the service page)."""
        return self._last_card


def _health(health: DeviceHealth) -> DeviceHealthView:
    return DeviceHealthView(health.answered, health.failures, health.last_error)
