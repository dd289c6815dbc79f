"""Each connector's transactions in storage: begun, finished, resumed after a restart.

The station hands the session's ``StartTransaction`` and ``StopTransaction`` commands to the
``TransactionRecorder``. A start is stored with its meterStart and queued for the backend in
one database commit (agent/persistence/store.py); only then is the session told
``TransactionRecorded`` and offers energy, so nothing is charged that could not be billed. A
stop waits for the contactor to open, reads meterStop, adds the samples kept for it
(StopTxnSampledData / StopTxnAlignedData, kept in storage: they survive a restart) and is
stored; a stop the disk does not take is kept in memory and stored once it does
(``watch_storage``). A transaction found open at start is resumed when the EV is still
plugged in, else closed with reason PowerLoss (``resolve_restored``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agent.backend.ports import BackendPort, sample_to_json
from agent.core.session import (
    Fault,
    FaultCleared,
    FaultRaised,
    StartTransaction,
    StopReason,
    TransactionAuthorized,
    TransactionRecorded,
    TransactionRestored,
)
from agent.core.transaction_points import ChargingState
from agent.persistence.settings import Settings
from agent.persistence.store import StorageError, Store
from agent.station.clock import Clock
from agent.station.history import History
from drivers.interfaces import DeviceError, DeviceUnavailable, PilotState

if TYPE_CHECKING:
    from agent.core.session import Event
    from agent.station.connector import Connector
    from agent.station.meter_sampler import MeterSampler

log = logging.getLogger("agent.station.station")


class TransactionRecorder:
    def __init__(
        self,
        connectors: Mapping[int, Connector],
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        monotonic: Callable[[], float],
        meters: MeterSampler,
        history: History,
        dispatch: Callable[[Connector, Event], None],
        backend: Callable[[], BackendPort | None],
    ) -> None:
        """``meters`` reads meterStart / meterStop and the last sample; ``dispatch`` feeds a
        connector's session; ``backend`` is the backend now (None before one is attached)."""
        self._connectors = connectors
        self._store = store
        self._settings = settings
        self._clock = clock
        self._monotonic = monotonic
        self._meters = meters
        self._history = history
        self._dispatch = dispatch
        self._backend = backend
        self.ended = asyncio.Event()  # set each time a transaction's stop has been recorded
        self._unstored_stops: list[tuple] = []  # (local_id, meter_stop, timestamp, reason, body)

    async def begin(self, conn: Connector, command: StartTransaction) -> None:
        """Store the transaction and queue its start; then the session may offer energy."""
        id_tag, token_type, remote_start_id = command.id_tag, command.token_type, command.remote_start_id
        offline = self._offline()  # as the start happens, not once the meter has answered
        try:
            meter_start = await self._meters.energy_wh(conn)
            timestamp = self._clock.iso()
            event = self._event(conn, timestamp, offline, trigger=command.trigger.value, meter_wh=meter_start,
                                reservation_id=command.reservation_id, remote_start_id=remote_start_id,
                                samples=self._meters.started_samples(conn))
            if id_tag:  # "" = started before anyone was authorized (TxStartPoint EVConnected)
                event["id_token"] = {"value": id_tag, "type": token_type}
            if command.charging_state is not None:
                event["charging_state"] = command.charging_state.value
            conn.transaction_local_id = self._store.begin_transaction(
                conn.id,
                id_tag,
                meter_start,
                timestamp,
                event,
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
        self._meters.transaction_started(conn)
        self._dispatch(conn, TransactionRecorded(command.start))  # now the session offers energy
        log.info("connector %d: transaction %d started by %s at %d Wh", conn.id, conn.transaction_local_id, id_tag,
                 meter_start)
        self._history.record(conn.id, "start", f"transaction {conn.transaction_local_id} by {id_tag} at {meter_start} Wh")
        self._outbox_changed()

    async def finish(self, conn: Connector, reason: StopReason, id_tag: str | None, local_id: int,
                     charging_state: ChargingState | None = None) -> None:
        """Record the stop of transaction ``local_id`` (the card that stopped it: ``id_tag``;
        the charging state after it, when the session reports them)."""
        offline = self._offline()  # as the stop happens: the relay and the meter take a moment
        if conn.session.offered_a == 0 and conn.board_status is not None and conn.board_status.relay_closed:
            await self._wait_relay_open(conn)
        meter_stop = await self._meters.energy_wh(conn)
        timestamp = self._clock.iso()
        body = self._event(conn, timestamp, offline, meter_wh=meter_stop, reason=reason.value, samples=[])
        if id_tag:
            body["id_token"] = {"value": id_tag, "type": "ISO14443"}
        if charging_state is not None:
            body["charging_state"] = charging_state.value
        stop_measurands = list(
            dict.fromkeys(self._settings["stop_txn_sampled_data"] + self._settings["stop_txn_aligned_data"])
        )
        if stop_measurands and conn.reading is not None:
            try:
                record = self._store.transaction(local_id)
                kept = json.loads(record.stop_samples) if record is not None else []
                end = self._meters.sample(conn, "Transaction.End", stop_measurands)
                body["samples"] = [*kept, sample_to_json(end)]
            except Exception:  # the stop is recorded all the same, without its transactionData
                log.exception("connector %d: transactionData of transaction %d left out", conn.id, local_id)
        try:
            self._store.end_transaction(local_id, meter_stop, timestamp, reason.value, body)
        except StorageError as exc:
            # Disk full / read-only: the stop is kept in memory and stored when the disk
            # takes writes again (watch_storage); the session ends all the same.
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
        self.ended.set()
        log.info("connector %d: transaction %d stopped (%s) at %d Wh", conn.id, local_id, reason.value, meter_stop)
        self._history.record(conn.id, "stop", f"transaction {local_id} ({reason.value}) at {meter_stop} Wh")
        self._outbox_changed()

    def authorized(self, conn: Connector, command: TransactionAuthorized) -> None:
        """A transaction that started unauthorized has its driver now: stored with the event
        that tells it (TransactionEvent Updated with the idToken, E01.FR.02 / F02)."""
        if conn.transaction_local_id is None:
            return
        body = self._event(conn, self._clock.iso(), self._offline(), trigger=command.trigger.value, samples=[],
                           id_token={"value": command.id_tag, "type": command.token_type})
        if command.remote_start_id is not None:
            body["remote_start_id"] = command.remote_start_id
        self._store.authorize_transaction(conn.transaction_local_id, command.id_tag, command.token_type, body)
        self._outbox_changed()

    def updated(self, conn: Connector, trigger: str, *, charging_state: ChargingState | None = None,
                id_tag: str | None = None) -> None:
        """An event of the running transaction without meter values: its charging state changed,
        or its driver stopped the authorization while it goes on (TransactionEvent Updated)."""
        if conn.transaction_local_id is None:
            return
        body = self._event(conn, self._clock.iso(), self._offline(), trigger=trigger, samples=[])
        if charging_state is not None:
            body["charging_state"] = charging_state.value
        if id_tag:
            body["id_token"] = {"value": id_tag, "type": "ISO14443"}
        self._store.queue_meter_values(conn.transaction_local_id, body)
        self._outbox_changed()

    async def resolve_restored(self, conn: Connector, pilot: PilotState) -> None:
        """A transaction was open when the agent stopped: resume it, or close it (PowerLoss)
        when the EV left meanwhile. Decided on the first board reading (the device poller),
        before anything else is told to the session, so a resumed session is never switched off."""
        record, conn.restored = conn.restored, None
        if record is None:
            return
        if pilot in (PilotState.B, PilotState.C, PilotState.D):
            log.info("connector %d: resuming transaction %d after restart", conn.id, record.local_id)
            conn.transaction_local_id = record.local_id
            self._dispatch(conn, TransactionRestored(record.id_tag, pilot))
            return
        log.info("connector %d: transaction %d ended while the agent was down (PowerLoss)", conn.id, record.local_id)
        await self.finish(conn, StopReason.POWER_LOSS, None, record.local_id)

    async def watch_storage(self, recheck_s: float) -> None:
        """Every ``recheck_s`` while a connector has a storage fault: store what could not be
        stored, and clear the fault, once the database takes writes again."""
        while True:
            await asyncio.sleep(recheck_s)
            faulted = [c for c in self._connectors.values() if Fault.STORAGE in c.session.faults]
            if not faulted:
                continue
            try:
                while self._unstored_stops:
                    self._store.end_transaction(*self._unstored_stops[0])
                    self._unstored_stops.pop(0)
                    self._outbox_changed()
                self._store.put_setting("storage.probe", self._clock.iso())
            except StorageError:
                continue
            log.info("storage: writable again")
            for conn in faulted:
                self._dispatch(conn, FaultCleared(Fault.STORAGE))

    def _offline(self) -> bool:
        backend = self._backend()
        return not (backend is not None and backend.online)

    def _event(self, conn: Connector, timestamp: str, offline: bool, **fields: Any) -> dict[str, Any]:
        """A transaction event's body (agent/persistence/transaction_events.py); ``offline``: the
        link was down when it happened (OCPP 2.0.1 TransactionEventRequest.offline)."""
        return {"timestamp": timestamp, "evse_id": conn.id, "connector_id": 1, "offline": offline, **fields}

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

    def _outbox_changed(self) -> None:
        backend = self._backend()
        if backend is not None:
            backend.outbox_changed()
