"""The OCPP 2.0.1 adapter: one object for the life of the agent, one ChargePoint per connection.

It implements the station's ``BackendPort`` (agent/backend/ports.py) in OCPP 2.0.1 and answers
what the backend asks through the handler objects of ``agent/ocpp201/handlers/``, which see the
station only through its ``StationPort``, the neutral services of agent/backend/services.py and
the device model (agent/ocpp201/device_model.py, built here from the station's description).

Station → backend: BootNotification (B01-B03: Accepted, Pending and Rejected with the returned
interval, with the reason of the boot), Heartbeat (G02), StatusNotification per connector (G01),
Authorize (C01), MeterValues outside transactions (J01), NotifyReport (B07/B08), firmware and
log status notifications with their requestId (L01, N01), and the durable outbox (transaction
events and security events, agent/ocpp201/outbox.py, delivered by the neutral pump).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v201 import call

from agent.backend.ports import IdTagInfo, Sample, StationPort
from agent.backend.services import AdapterServices, DiagnosticsStatus, FirmwareStatus, LogReport, SignedReport
from agent.core.identity import ConnectorRef, IdToken
from agent.core.session import ConnectorStatus, Fault
from agent.core.status_hold import StatusHold
from agent.core.transaction_points import TransactionPoints
from agent.ocpp201.connection import ChargePoint201, LinkDown
from agent.ocpp201.device_model import Component, DeviceModel, Variable
from agent.ocpp201.handlers import build_handlers
from agent.ocpp201.handlers.reservation import status_update
from agent.ocpp201.handlers.security import CertificateSigning
from agent.ocpp201.handlers.tariff_cost import authorize_answered, follow_tariff_fallback, transaction_answered
from agent.ocpp201.live import LiveValues
from agent.ocpp201.mapping import CONNECTOR_STATUS, UPLOAD_LOG_STATUS, id_token_info, meter_value
from agent.ocpp201.monitoring import Monitors
from agent.ocpp201.outbox import Outbox201
from agent.ocpp201.settings_map import StoreKeyValue
from agent.ocpp201.station_model import StationDescription, build_device_model

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp2.0.1"

# §3.5 BootReasonEnumType for what the agent knows of its last stop (agent/app/composition.py).
# B02.FR.09: requests a CSMS may not send while it keeps the station Pending.
PENDING_REFUSED = frozenset({"RequestStartTransaction", "RequestStopTransaction", "ReserveNow", "UnlockConnector"})

BOOT_REASONS = ("ApplicationReset", "FirmwareUpdate", "LocalReset", "PowerUp", "RemoteReset", "ScheduledReset",
                "Triggered", "Unknown", "Watchdog")

@dataclass(frozen=True)
class Identity:
    """Who the station is (BootNotificationRequest.chargingStation, §2.10)."""

    charge_point_id: str
    vendor: str
    model: str
    serial_number: str
    firmware_version: str


class Ocpp201Adapter:
    subprotocol = SUBPROTOCOL

    def __init__(
        self,
        station: StationPort,
        services: AdapterServices,
        identity: Identity,
        description: StationDescription,
        *,
        response_timeout_s: float = 30.0,
        boot_reason: str = "PowerUp",
    ) -> None:
        self.station = station
        self.services = services
        self.identity = identity
        self.charge_point_id = identity.charge_point_id
        self.description = description
        self.boot_reason = boot_reason if boot_reason in BOOT_REASONS else "Unknown"
        self.live = LiveValues(station, services, description)
        network = services.network
        self.device_model: DeviceModel = build_device_model(
            description, services.settings, StoreKeyValue(services.store), live=self.live.get, writer=self.live.write,
            slot_configured=network.configured if network is not None else (lambda slot: slot == 1),
        )
        self._response_timeout_s = response_timeout_s
        self._cp: ChargePoint201 | None = None
        self._accepted = False
        self._registered_once = False
        self._registered_profile: int | None = None  # the network profile slot accepted on
        self._boot_answered = asyncio.Event()
        self._retry_interval = 30
        self._status_wakeup = asyncio.Event()
        self._heartbeat_changed = asyncio.Event()
        services.settings.on_change(lambda name, _value: name == "heartbeat_interval_s" and self._heartbeat_changed.set())
        self._unsent_status: dict[ConnectorRef, ConnectorStatus] = {}
        self.status_hold = StatusHold(lambda: services.settings["minimum_status_duration_s"])
        self.registration: str | None = None
        self._lock_problems: dict[ConnectorRef, bool] = {}
        self._offline_since: float | None = None  # when the last accepted connection closed
        self._event_ids = 0  # NotifyEvent eventId (Part 2 §2.27 EventDataType), per start
        self.outbox = Outbox201(self)
        self.certificate_signing = CertificateSigning(self)  # A02, across connections
        self.handlers = build_handlers(self)
        self.data_transfer = dict(services.data_transfer)
        follow_tariff_fallback(self)  # I04
        self.monitors = Monitors(self)  # N: variable monitors and their NotifyEvent
        self._configured_station = False  # configure_station called: keep the station's points current
        services.settings.on_change(self._transaction_points_changed)

    def background(self) -> list[Any]:
        return [self.monitors.run()]

    def next_event_id(self) -> int:
        """A new NotifyEvent eventId (Part 2 §2.27 EventDataType), unique per start."""
        self._event_ids += 1
        return self._event_ids

    def configure_station(self) -> None:
        """E01 / E06: the station starts and ends transactions at the TxCtrlr's TxStartPoint and
        TxStopPoint (agent/core/transaction_points.py), and reports charging states."""
        settings = self.services.settings
        self.station.configure_transactions(TransactionPoints.named(settings["tx_start_point"], settings["tx_stop_point"]))
        self._configured_station = True

    def _transaction_points_changed(self, name: str, _value: Any) -> None:
        if name in ("tx_start_point", "tx_stop_point") and self._configured_station:
            self.configure_station()

    # ---- the BackendPort -----------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._accepted and self._cp is not None

    async def authorize(self, id_token: IdToken) -> IdTagInfo | None:
        """C01: AuthorizeRequest, unless DisableRemoteAuthorization says to decide locally."""
        if not self.online or self.services.settings["disable_remote_authorization"]:
            return None
        remembered: list[IdTagInfo | None] = []

        def answered(result: Any) -> None:
            remembered.append(self.remember(id_token.value, result.id_token_info, id_token.type.value))
            authorize_answered(self, result)  # I01: the driver's tariff on the display

        try:
            await self.call(
                call.Authorize(id_token={"id_token": id_token.value, "type": id_token.type.value}),
                apply=answered,
            )
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("Authorize %s: no answer (%s)", id_token.value, type(exc).__name__)
            return None
        return remembered[0] if remembered else None

    def remember(self, id_tag: str, wire: dict[str, Any], token_type: str | None = None) -> IdTagInfo | None:
        """C10: every IdTokenInfo received goes to the authorization cache, with its token's type."""
        try:
            info = id_token_info(wire)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("idTokenInfo for %s not understood (%r): not cached", id_tag, exc)
            return None
        self.services.local_auth.remember(id_tag, info, token_type)
        return info

    def status_changed(self, where: ConnectorRef, status: ConnectorStatus, fault: Fault | None) -> None:
        if where.evse_id == 0:
            return  # 2.0.1 has no status of the station as a whole (G01 reports connectors)
        self.status_hold.changed(where, CONNECTOR_STATUS[status], time.monotonic())
        self._status_wakeup.set()
        self.live.changed(where)
        self._lock_problem(where, fault is Fault.LOCK)

    def _lock_problem(self, where: ConnectorRef, problem: bool) -> None:
        """G05.FR.02: a cable lock that fails (and later works again) is reported as
        ConnectorPlugRetentionLock.Problem (NotifyEvent, trigger Delta), where the station has one."""
        if self._lock_problems.get(where, False) == problem or not self._has_lock(where):
            return
        self._lock_problems[where] = problem
        if not self.online:
            return
        self._event_ids += 1
        component = {"name": "ConnectorPlugRetentionLock", "evse": {"id": where.evse_id, "connector_id": where.connector_id}}
        event = {"event_id": self._event_ids, "timestamp": self.services.clock.iso(), "trigger": "Delta",
                 "actual_value": "true" if problem else "false", "component": component,
                 "variable": {"name": "Problem"}, "event_notification_type": "HardWiredNotification"}
        asyncio.ensure_future(self._send_untracked(call.NotifyEvent(
            generated_at=self.services.clock.iso(), seq_no=0, event_data=[event])))

    def _has_lock(self, where: ConnectorRef) -> bool:
        return any(e.id == where.evse_id and any(c.id == where.connector_id and c.lock for c in e.connectors)
                   for e in self.description.evses)

    def outbox_changed(self) -> None:
        self.services.outbox.changed()

    def reservation_ended(self, reservation_id: int, why: str) -> None:
        """H01.FR.20 / H04.FR.01: a reservation that expired, or whose EVSE became Faulted or
        Unavailable, is reported (ReservationStatusUpdate Expired / Removed)."""
        update = status_update(reservation_id, why)
        if update is not None and self.online:
            asyncio.ensure_future(self._send_untracked(update))

    def evses_with_connector_type(self, connector_type: str) -> list[int]:
        """H01.FR.06: the EVSEs with a connector of this type (Part 2 §3.22 ConnectorEnumType)."""
        return [e.id for e in self.description.evses if any(c.connector_type == connector_type for c in e.connectors)]

    def meter_values(self, evse_id: int, sample: Sample) -> None:
        """J01: clock-aligned values outside a transaction."""
        if self.online and self.services.settings["aligned_data_enabled"]:
            asyncio.ensure_future(self._send_untracked(call.MeterValues(evse_id=evse_id, meter_value=[meter_value(sample)])))

    async def _send_untracked(self, payload: Any) -> None:
        try:
            await self.call(payload)
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("%s: %r", type(payload).__name__, exc)

    # ---- one connection ------------------------------------------------------------

    async def run_session(self, ws: Any) -> None:
        """Serve one websocket connection until it closes."""
        cp = ChargePoint201(self.charge_point_id, ws, self.handlers.for_connection(), self._response_timeout_s)
        cp.refuses = self.refuses
        self._cp = cp
        self.configure_station()  # a 2.0.1 connection: its transaction points
        self._accepted = False
        if not self._registered_once:
            self.registration = None
        receiver = asyncio.create_task(cp.start(), name="ocpp-receive")
        workers: list[asyncio.Task] = []
        closed = asyncio.create_task(ws.wait_closed())
        boot = asyncio.create_task(self._register())
        try:
            done, _ = await asyncio.wait({receiver, closed, boot}, return_when=asyncio.FIRST_COMPLETED)
            if boot in done and boot.exception() is None and not closed.done():
                self._resync_statuses()
                workers = [
                    asyncio.create_task(self._heartbeats(), name="ocpp-heartbeat"),
                    asyncio.create_task(self._send_statuses(), name="ocpp-status"),
                    asyncio.create_task(self.services.outbox.run(self.outbox), name="ocpp-outbox"),
                ]
                await asyncio.wait({receiver, closed, *workers}, return_when=asyncio.FIRST_COMPLETED)
            for task in (boot, *workers):
                if task.done() and not task.cancelled() and task.exception() and not isinstance(task.exception(), LinkDown):
                    log.error("OCPP task failed", exc_info=task.exception())
        finally:
            if self._accepted:
                self._offline_since = time.monotonic()
            self._accepted = False
            self._cp = None
            for task in (receiver, *workers, boot, closed):
                task.cancel()
            await asyncio.gather(receiver, *workers, boot, closed, return_exceptions=True)

    def _resync_statuses(self) -> None:
        """B04: after a start, or an offline period longer than OfflineThreshold, every connector's
        status is sent (B04.FR.01); after a shorter one only those that changed meanwhile
        (B04.FR.02: the status hold has them)."""
        offline_s = None if self._offline_since is None else time.monotonic() - self._offline_since
        statuses = {ref: CONNECTOR_STATUS[s] for ref, (s, _) in self.station.statuses().items()}
        if offline_s is None or offline_s > self.services.settings["offline_threshold_s"]:
            self._unsent_status.update(statuses)
        else:
            self._unsent_status.update({ref: s for ref, s in statuses.items() if not self.status_hold.known(ref, s)})
        self._status_wakeup.set()

    async def call(self, payload: Any, *, unique_id: str | None = None, apply: Any = None) -> Any:
        cp = self._cp
        if cp is None:
            raise LinkDown("not connected")
        return await cp.send_call(payload, unique_id=unique_id, apply=apply)

    def prepare_call(self, payload: Any, unique_id: str) -> Any:
        """``payload`` made ready to send on the current connection (``call`` takes either)."""
        cp = self._cp
        return cp.prepare_call(payload, unique_id) if cp is not None else payload

    def boot_request(self, reason: str | None = None) -> Any:
        station: dict[str, Any] = {"model": self.identity.model, "vendor_name": self.identity.vendor}
        if self.identity.serial_number:
            station["serial_number"] = self.identity.serial_number
        if self.identity.firmware_version:
            station["firmware_version"] = self.identity.firmware_version
        return call.BootNotification(charging_station=station, reason=reason or self.boot_reason)

    async def _register(self) -> None:
        """B01-B03: BootNotification until Accepted; Pending/Rejected retry after ``interval``
        (B02.FR.01, B03.FR.01), sooner when a triggered BootNotification is accepted meanwhile.
        Once per start of the agent; a reconnect goes on with a Heartbeat (the station was not
        rebooted), unless the link moved to another network profile (B10.FR.10)."""
        profile = self.services.network.active_slot if self.services.network is not None else None
        if self._registered_once and profile == self._registered_profile:
            self._accepted = True
            await self.heartbeat()
            return
        while True:
            await self.boot()
            if self.registration == "Accepted":
                return
            self._boot_answered.clear()
            retry = self._retry_interval
            log.warning("BootNotification %s, trying again in %d s", self.registration, retry)
            try:
                async with asyncio.timeout(retry):
                    await self._boot_answered.wait()
            except TimeoutError:
                pass
            if self.registration == "Accepted":
                return

    async def boot(self, reason: str | None = None) -> None:
        """Send a BootNotification and take its answer (also when triggered, F06)."""
        await self.call(self.boot_request(reason), apply=self._boot_result)

    def _boot_result(self, result: Any) -> None:
        self.services.clock.sync(result.current_time)
        self.registration = result.status
        self._retry_interval = result.interval if result.interval > 0 else 30
        if result.status == "Accepted":
            if result.interval > 0:
                self.services.settings.set("heartbeat_interval_s", result.interval)
            self._accepted = True
            self._registered_once = True
            self._registered_profile = self.services.network.active_slot if self.services.network is not None else None
            self.services.on_registered()
            log.info("BootNotification accepted, heartbeat every %d s", self.services.settings["heartbeat_interval_s"])
        self._boot_answered.set()

    def refuses(self, action: str) -> str | None:
        """B02/B03: what the CSMS may not ask before the station is accepted (CALLERROR
        SecurityError): nothing while Rejected (B03.FR.03), no transaction while Pending (B02.FR.09)."""
        if self.registration == "Rejected":
            return "the CSMS rejected this station's BootNotification"
        if self.registration != "Accepted" and action in PENDING_REFUSED:  # Pending, or not answered yet
            return f"{action} before the station's registration is Accepted"
        return None

    async def _heartbeats(self) -> None:
        while True:
            self._heartbeat_changed.clear()
            try:  # a new HeartbeatInterval counts from now
                async with asyncio.timeout(max(1, self.services.settings["heartbeat_interval_s"])):
                    await self._heartbeat_changed.wait()
            except TimeoutError:
                await self.heartbeat()

    async def heartbeat(self) -> None:
        try:
            result = await self.call(call.Heartbeat())
        except (OCPPError, asyncio.TimeoutError) as exc:
            log.warning("Heartbeat: %s", exc)
            return
        self.services.clock.sync(result.current_time)

    async def _send_statuses(self) -> None:
        while True:
            due = self.status_hold.next_due()
            try:
                async with asyncio.timeout(None if due is None else max(0.0, due - time.monotonic())):
                    await self._status_wakeup.wait()
            except TimeoutError:
                pass
            self._status_wakeup.clear()
            self._unsent_status.update(self.status_hold.due(time.monotonic()))
            while self._unsent_status:
                where = min(self._unsent_status)
                await self.send_status(where, self._unsent_status.pop(where))

    async def send_status(self, where: ConnectorRef, status: str) -> None:
        self.status_hold.reported(where, status)
        try:
            await self.call(call.StatusNotification(timestamp=self.services.clock.iso(), connector_status=status,
                                                    evse_id=where.evse_id, connector_id=where.connector_id))
        except (OCPPError, asyncio.TimeoutError) as exc:
            log.warning("StatusNotification %s %s: %s", where, status, exc)

    async def send_meter_values_now(self, evse_id: int) -> None:
        """F06 TriggerMessage MeterValues: the latest reading, outside the durable queue."""
        sample = self.station.sample(evse_id, "Trigger")
        await self.call(call.MeterValues(evse_id=evse_id, meter_value=[meter_value(sample)]))

    async def send_report(self, report: FirmwareStatus | DiagnosticsStatus | SignedReport | LogReport) -> bool:
        """A firmware / log status for the neutral report queue (L01 FirmwareStatusNotification
        with the update's requestId, N01 LogStatusNotification); True when done with."""
        if not self.online:
            return False
        if isinstance(report, SignedReport):
            payload = call.FirmwareStatusNotification(status=report.status.value, request_id=report.request_id)
        elif isinstance(report, FirmwareStatus):
            payload = call.FirmwareStatusNotification(status=report.value)
        elif isinstance(report, LogReport):
            status = report.refusal.value if report.refusal is not None else UPLOAD_LOG_STATUS[report.status]
            payload = call.LogStatusNotification(status=status, request_id=report.request_id)
        else:
            return True  # GetDiagnostics is 1.6's: nothing to tell a 2.0.1 backend
        try:
            await self.call(payload)
        except (LinkDown, asyncio.TimeoutError):
            return False
        except OCPPError as exc:
            log.warning("%s %s: refused by the backend: %s", type(payload).__name__, payload.status, exc)
        return True

    # ---- what a TransactionEventResponse says besides the idTokenInfo -------------------

    def answered_transaction_event(self, body: dict[str, Any], answer: Any) -> None:
        """I02/I03: a totalCost for the display (running while charging, final when Ended), and the
        driver's personal message (I01/I06; agent/ocpp201/handlers/tariff_cost.py)."""
        transaction_answered(self, body, answer)


def variable_value(model: DeviceModel, component: str, variable: str, instance: str | None = None) -> Any:
    """A variable's value (for tests and diagnostics)."""
    return model.value(Component(component), Variable(variable, instance))
