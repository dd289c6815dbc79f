"""The station: its connectors, their hardware and their sessions, run together.

``Station`` is composed of objects it owns, each handed what it uses:

- a ``DevicePoller`` per connector (agent/station/device_poller.py) reads the board and the
  meter and turns what it sees into session events;
- the ``MeterSampler`` (agent/station/meter_sampler.py) is the one path that reads a meter,
  and samples meter values;
- the ``TransactionRecorder`` (agent/station/transactions.py) stores each transaction's
  start and stop;
- the ``ReservationDesk`` (agent/station/reservations.py), ``ChargingLimits``
  (agent/station/charging_limits.py) and the ``Authorizer`` (agent/station/authorization.py).

The station feeds each session its events (``dispatch``), carries out the commands it returns
(board writes, transactions, status reports), routes presented cards
(agent/core/card_routing.py) and answers what the backend asks (agent/backend/ports.py
StationPort). It knows the backend only through ``agent.backend.ports.BackendPort``. The rest
of the agent reads a connector through ``view`` (agent/station/view.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from agent.backend.ports import (
    AvailabilityResult,
    BackendPort,
    ReservationRequest,
    Sample,
    TransactionView,
    UnlockResult,
)
from agent.core.card_routing import connector_for_card, connector_for_remote_start
from agent.core.connector_facts import ConnectorFacts
from agent.core.identity import ConnectorRef, IdToken, IdTokenType, card
from agent.core.session import (
    AuthorizationResult,
    Authorize,
    AvailabilityChanged,
    CardIgnored,
    CardPresented,
    ChargingStateChanged,
    Command,
    ConnectorStatus,
    Event,
    Fault,
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
    TransactionAuthorized,
    TransactionDeauthorized,
    TransactionRejected,
    UnlockRequested,
)
from agent.core.transaction_points import TransactionPoints
from agent.persistence.settings import Settings
from agent.persistence.store import StorageError, Store, TransactionRecord
from agent.station.authorization import Authorizer, LocalAuthorization, Verdict
from agent.station.board_watch import AcknowledgeCut
from agent.station.charging_limits import ChargingLimits
from agent.station.clock import Clock
from agent.station.connector import Connector, ConnectorHardware
from agent.station.device_poller import DevicePoller
from agent.station.history import History
from agent.station.meter_sampler import MeterSampler
from agent.station.reservations import ReservationDesk
from agent.station.transactions import TransactionRecorder
from agent.station.view import ConnectorView, connector_view
from drivers.interfaces import CardReader, DeviceError, DeviceUnavailable, MeterReading

if TYPE_CHECKING:
    from agent.station.safety_io import ConnectorSafety

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
        """``hardware``: each connector's devices (fixed from now on); ``storage_ok`` False: the
        store is a stand-in in memory, every connector faults (agent/app/composition.py
        open_store); ``free_vend_id_tag``: plug in and charge as this idTag, no card
        ([free_vend] id_tag; Session.free_vend_id_tag)."""
        connectors = [
            Connector(hw, Session(max_current_a=hw.max_current_a, free_vend_id_tag=free_vend_id_tag)) for hw in hardware
        ]
        self.connectors = {c.id: c for c in connectors}
        self.storage_ok = storage_ok
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
        self.history = History(store, clock.iso)
        # OCPP 1.6 §3.12: after availability and open transactions are known.
        self.reservations = ReservationDesk(
            store, clock, monotonic, {c.id: c.session for c in connectors}, self.dispatch,
            restored=lambda evse_id: self.connectors[evse_id].restored is not None,
        )
        self.reservations.restore()
        self.reservations.on_ended = self._reservation_ended
        self.reservations.update_kept()  # before the first event: a free vend start may not take it
        self.charging_limits = ChargingLimits(self, store, monotonic)  # smart charging profiles
        self.meters = MeterSampler(
            self.connectors, settings=settings, store=store, clock=clock, monotonic=monotonic,
            dispatch=self._dispatch, backend=self._backend, temperature=self._temperature,
        )
        self.transactions = TransactionRecorder(
            self.connectors, store=store, settings=settings, clock=clock, monotonic=monotonic, meters=self.meters,
            history=self.history, dispatch=self._dispatch, backend=self._backend,
        )
        self._pollers = {
            conn.id: DevicePoller(conn, dispatch=partial(self._dispatch, conn), meters=self.meters,
                                  resolve_restored=self.transactions.resolve_restored)
            for conn in connectors
        }

    # ---- running ---------------------------------------------------------------------

    async def run(self) -> None:
        for conn in self.connectors.values():
            if not self.storage_ok:
                self._dispatch(conn, FaultRaised(Fault.STORAGE))
            self._tasks.append(asyncio.create_task(self._pollers[conn.id].run(), name=f"poll-{conn.id}"))
            self._tasks.append(asyncio.create_task(self._execute(conn), name=f"commands-{conn.id}"))
            if conn.hardware.safety is not None:
                self._tasks.append(self._start_safety(conn, conn.hardware.safety))
        if self.card_reader is not None:
            self._tasks.append(asyncio.create_task(self._read_cards(self.card_reader), name="cards"))
        self._tasks.append(asyncio.create_task(self.meters.run(), name="aligned-samples"))
        if self.storage_ok:  # a store in memory never becomes writable storage
            self._tasks.append(asyncio.create_task(self.transactions.watch_storage(self.storage_recheck_s),
                                                   name="storage"))
        self._tasks.append(asyncio.create_task(self.charging_limits.run(), name="charging-limits"))
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()

    def _start_safety(self, conn: Connector, safety: ConnectorSafety) -> asyncio.Task[None]:
        safety.attach(conn.id, conn.session, dispatch=partial(self._dispatch, conn), restate_offer=conn.restate_offer,
                      board_fault=lambda: conn.board_fault, online=lambda: bool(self.backend and self.backend.online))
        return asyncio.create_task(safety.run(), name=f"safety-{conn.id}")

    async def shutdown(self) -> None:
        """Stop polling; leave each board with charging off only if no session runs."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _backend(self) -> BackendPort | None:
        return self.backend  # attached after construction (agent/app/composition.py)

    def _temperature(self) -> float | None:
        return self.temperature_c

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
            case StartTransaction():
                await self.transactions.begin(conn, command)
            case StopTransaction(reason, id_tag, charging_state):
                if conn.transaction_local_id is not None:
                    await self.transactions.finish(conn, reason, id_tag, conn.transaction_local_id, charging_state)
            case TransactionAuthorized():
                self.transactions.authorized(conn, command)
            case TransactionDeauthorized(reason, id_tag):
                trigger = {StopReason.REMOTE: "RemoteStop", StopReason.DEAUTHORIZED: "Deauthorized"}.get(
                    reason, "StopAuthorized")
                self.transactions.updated(conn, trigger, id_tag=id_tag)
            case ChargingStateChanged(state, trigger):
                self.transactions.updated(conn, trigger, charging_state=state)
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
            case AcknowledgeCut(seq):  # the board watch's cut acted on (agent/station/board_watch.py)
                conn.hardware.board.acknowledge(seq)

    async def _authorize(self, conn: Connector, id_tag: str) -> None:
        try:
            verdict = await self.authorizer.authorize(id_tag, self.backend, card(id_tag))
        except Exception:  # never leave the session waiting for an answer: refuse
            log.exception("card %s: authorization failed", id_tag)
            self._dispatch(conn, AuthorizationResult(id_tag, False))
            return
        if verdict.accepted and self._master_pass(verdict.parent_id_tag):
            # OCPP 2.0.1 C16 / errata: a master pass stops transactions, it starts none (TC_C_45).
            verdict = Verdict(False, verdict.parent_id_tag, "a master pass (MasterPassGroupId) starts no transaction")
        log.info("card %s: %s", id_tag, verdict.why)
        self._dispatch(conn, AuthorizationResult(id_tag, verdict.accepted, verdict.parent_id_tag))

    def _master_pass(self, group: str | None) -> bool:
        """OCPP 2.0.1 AuthCtrlr.MasterPassGroupId (§2.3.7): the group of the master pass cards."""
        master = self.settings["master_pass_group_id"]
        return bool(master) and group is not None and group.casefold() == master.casefold()

    # ---- cards ---------------------------------------------------------------------

    async def _read_cards(self, reader: CardReader) -> None:
        async for id_tag in reader.cards():
            self._last_card = IdToken(id_tag)
            parent = None
            running = [c.session.transaction for c in self.connectors.values() if c.session.transaction]
            master_pass = bool(self.settings["master_pass_group_id"])
            if (any(tx.parent_id_tag for tx in running) or master_pass) and running \
                    and all(tx.id_tag != id_tag for tx in running):
                # A card of the same group may stop a session (OCPP 1.6 §5.16), a master pass
                # any (OCPP 2.0.1 C16): learn its parent.
                try:
                    parent = await self.authorizer.parent_of(id_tag, self.backend, card(id_tag))
                except Exception:  # the card still counts as itself; the reader goes on
                    log.exception("card %s: cannot learn its parent idTag", id_tag)
            if running and self._master_pass(parent):
                # C16.FR.02: no UI to choose one, so a master pass stops every transaction (E07).
                log.info("card %s: master pass, stopping every transaction", id_tag)
                for each in self.connectors.values():
                    if each.session.transaction is not None:
                        self._dispatch(each, StopRequested(StopReason.LOCAL, id_tag))
                continue
            conn = self.connectors[connector_for_card(self._facts(), id_tag, parent)]
            log.info("card %s presented -> connector %d", id_tag, conn.id)
            if parent is None and self.reservations.refuses(conn.id, id_tag) and self.reservations.group_holding(conn.id):
                # The connector is kept for a reservation of a group: is the card in it (OCPP 2.0.1 H03 S2)?
                try:
                    parent = await self.authorizer.parent_of(id_tag, self.backend, card(id_tag))
                except Exception:
                    log.exception("card %s: cannot learn its parent idTag", id_tag)
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
        known = self.authorizer.local.lookup(id_tag, id_token.type.value)
        parent = known.parent_id_tag if known is not None else None  # its group, if known here
        if evse_id is None:
            evse_id = connector_for_remote_start(self._facts(), id_tag, parent)
        conn = self.connectors.get(evse_id) if evse_id is not None else None
        if conn is None or not conn.session.takes_remote_start():
            return False
        if conn.session.reserved_for_other(id_tag, parent) or self.reservations.refuses(conn.id, id_tag, parent):
            # OCPP 1.6 §3.12.1: another idTag than the reservation's may start if its parent idTag
            # is the reservation's parentIdTag. Not known here: the backend tells it (Authorize)
            # before any start.
            group = self.reservations.group_holding(conn.id)
            if parent is not None or group is None or self.backend is None or not self.backend.online:
                return False
            asyncio.create_task(self._authorize_then_start(conn, id_token, remote_start_id))
            return True
        self.reservations.claim(conn.id, id_tag, parent)
        if self.settings["authorize_remote_tx_requests"]:
            asyncio.create_task(self._authorize_then_start(conn, id_token, remote_start_id))
        else:
            self._dispatch(conn, RemoteStartRequested(id_tag, parent, id_token.type.value, remote_start_id))
        return True

    async def _authorize_then_start(self, conn: Connector, id_token: IdToken, remote_start_id: int | None = None) -> None:
        """AuthorizeRemoteStart (2.0.1 F01/F02): the idToken, with its type, is authorized first;
        the remote start keeps its remoteStartId for the TransactionEvent."""
        id_tag = id_token.value
        verdict = await self.authorizer.authorize(id_tag, self.backend, id_token)
        log.info("remote start %s: %s", id_tag, verdict.why)
        if not verdict.accepted:
            return
        parent = verdict.parent_id_tag
        if conn.session.reserved_for_other(id_tag, parent) or self.reservations.refuses(conn.id, id_tag, parent):
            log.info("remote start %s: the connector is reserved for another idTag and group", id_tag)
            return
        self.reservations.claim(conn.id, id_tag, parent)
        self._dispatch(conn, RemoteStartRequested(id_tag, parent, id_token.type.value, remote_start_id))

    def configure_transactions(self, points: TransactionPoints) -> None:
        """When transactions start and end (agent/core/transaction_points.py): the OCPP 2.0.1
        adapter sets its TxStartPoint / TxStopPoint; otherwise 1.6's rule."""
        for conn in self.connectors.values():
            conn.session.points = points

    def reserve(self, request: ReservationRequest) -> ReserveResult:
        """OCPP 1.6 §5.13: reserve an EVSE (None: any) until ``expiry`` (wall clock)."""
        return self.reservations.reserve(request.evse_id or 0, request.id_token.value, request.group_id,
                                         request.expiry, request.reservation_id)

    def _reservation_ended(self, reservation_id: int, why: str) -> None:
        if self.backend is not None:
            self.backend.reservation_ended(reservation_id, why)

    def cancel_reservation(self, reservation_id: int) -> bool:
        """OCPP 1.6 §5.1: False when no reservation has this id."""
        return self.reservations.cancel(reservation_id)

    def remote_stop(self, transaction_id: str) -> bool:
        record = self.store.transaction_by_tx_id(transaction_id)
        conn = self.connectors.get(record.connector_id) if record is not None else None
        if record is None or conn is None or conn.transaction_local_id != record.local_id \
                or conn.session.transaction is None:
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
                stop = bool(self.settings["stop_on_invalid_id"])
                allowance_wh = self.settings["max_energy_on_invalid_id_wh"]
                if allowance_wh > 0:
                    self._tasks.append(asyncio.create_task(
                        self._reject_after(conn, record.local_id, record.meter_start_wh + allowance_wh, stop),
                        name=f"max-energy-on-invalid-id-{conn.id}"))
                else:
                    self._dispatch(conn, TransactionRejected(stop=stop))

    async def _reject_after(self, conn: Connector, local_id: int, until_wh: int, stop: bool) -> None:
        """OCPP 2.0.1 §2.6.7 TxCtrlr.MaxEnergyOnInvalidId: energy still flows after the token was
        found invalid, up to this much in the transaction; then it is deauthorized as without it."""
        log.info("connector %d: token invalid, charging on up to %d Wh (MaxEnergyOnInvalidId)", conn.id, until_wh)
        while conn.transaction_local_id == local_id:
            if conn.reading is not None and conn.reading.energy_wh >= until_wh:
                self._dispatch(conn, TransactionRejected(stop=stop))
                return
            await asyncio.sleep(max(0.1, conn.hardware.poll_interval_s))  # the poller renews the reading

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

    def hold_new_sessions(self, hold: bool) -> None:
        """OCPP 2.0.1 L01.FR.07 / L02.FR.04: while a firmware update waits for the running
        transactions to end, every EVSE not in use is Unavailable, and one in use becomes so when
        its transaction ends; lifted, each is again what ChangeAvailability made it. Not stored:
        a restart starts without it (agent/maintenance/firmware.py)."""
        stored = self.store.settings()
        for conn in self.connectors.values():
            operative = stored.get(f"availability.{conn.id}") != "inoperative"
            self._dispatch(conn, AvailabilityChanged(operative and not hold))
        self._station_status_changed()

    async def stop_all(self, reason: StopReason, evse_id: int | None = None, timeout_s: float = 10.0) -> None:
        """End every running transaction (of one EVSE, when given: Reset) and wait until each stop is stored."""
        # A transaction whose stop the session has decided but that is not stored yet counts
        # too: a restart now would resume it after the EV driver ended it.
        running = [c for c in self.connectors.values()
                   if (c.session.transaction is not None or c.transaction_local_id is not None)
                   and evse_id in (None, c.id)]
        for conn in running:
            if conn.session.transaction is not None:
                self._dispatch(conn, StopRequested(reason))
        async with asyncio.timeout(timeout_s):
            while any(c.transaction_local_id is not None for c in running):
                self.transactions.ended.clear()
                await self.transactions.ended.wait()

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
        return connector_view(self.connectors[evse_id], self.transaction_on(evse_id), self.clock.now())

    def hardware(self, evse_id: int) -> ConnectorHardware:
        """The EVSE's devices, fixed after start-up (the service page's hardware tests)."""
        return self.connectors[evse_id].hardware

    async def read_meter(self, evse_id: int) -> MeterReading | None:
        """Read the EVSE's meter now, through the one meter read path (agent/station/meter_sampler.py):
        None without a meter or when it did not answer (``view(evse_id).meter.last_error`` says why)."""
        return await self.meters.read(self.connectors[evse_id])

    def update_transaction_now(self, evse_id: int, trigger: str) -> bool:
        """A transaction update now (2.0.1 F06 TriggerMessage TransactionEvent), queued durably."""
        conn = self.connectors.get(evse_id)
        return conn is not None and self.meters.update_now(conn, trigger)

    def last_card(self) -> IdToken | None:
        """The card tapped last (for support and the service page)."""
        return self._last_card

