"""The OCPP 1.6J adapter: one object for the life of the agent, one ChargePoint per connection.

Charge point → backend: BootNotification (§4.2, Accepted / Pending / Rejected with
the returned interval), Heartbeat (§4.6), StatusNotification (§4.9), Authorize
(§4.1), and the durable transaction messages StartTransaction / MeterValues /
StopTransaction (§4.8, §4.7, §4.10) from the outbox, in order, exactly once per
confirmation. Backend → charge point: see ``handlers.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from agent.backend.ports import IdTagInfo
from agent.station.clock import Clock
from agent.app.lifecycle import Lifecycle
from agent.ocpp16.handlers import ChargePoint16
from agent.ocpp16.keys import ConfigurationKeys
from agent.ocpp16.local_auth import id_tag_info
from agent.ocpp16.wire import SpecConnection
from agent.core.session import ConnectorStatus, Fault
from agent.persistence.settings import Settings
from agent.station.station import Station
from agent.core.status_hold import StatusHold
from agent.persistence.store import OutboxMessage, Store

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"

# OCPP 1.6 §7.6 ChargePointErrorCode, with a vendorErrorCode for support staff.
ERROR_CODES: dict[Fault | None, tuple[str, str | None]] = {
    None: ("NoError", None),
    Fault.RCD: ("GroundFailure", "E-RCD"),
    Fault.PILOT: ("EVCommunicationError", "E-PILOT"),
    Fault.OVERCURRENT: ("OverCurrentFailure", "E-OVERCURRENT"),
    Fault.BOARD_COMM: ("InternalError", "E-BOARD-COMM"),
    Fault.METER_COMM: ("PowerMeterFailure", "E-METER-COMM"),
    Fault.STORAGE: ("InternalError", "E-STORAGE"),
    Fault.NOT_RECORDED: ("InternalError", "E-TX-RECORD"),
    Fault.OTHER: ("OtherError", "E-OTHER"),
    Fault.EMERGENCY_STOP: ("OtherError", "E-ESTOP"),  # 1.6 has no code of its own for it
    Fault.WELDED: ("PowerSwitchFailure", "E-WELDED"),
    Fault.CONTACTOR: ("PowerSwitchFailure", "E-CONTACTOR"),
    Fault.RCM_TEST: ("GroundFailure", "E-RCM-TEST"),
    Fault.LOCK: ("ConnectorLockFailure", "E-LOCK"),
    Fault.HIGH_TEMPERATURE: ("HighTemperature", "E-TEMP-HIGH"),  # agent/station/thermal.py
    Fault.TEMP_SENSOR: ("InternalError", "E-TEMP-SENSOR"),
}


class LinkDown(Exception):
    """The connection closed while a CALL waited for its answer."""


class Ocpp16Backend:
    subprotocol = SUBPROTOCOL

    def __init__(
        self,
        station: Station,
        store: Store,
        settings: Settings,
        clock: Clock,
        *,
        charge_point_id: str,
        vendor: str,
        model: str,
        serial_number: str,
        firmware_version: str,
        response_timeout_s: float = 30.0,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        self.station = station
        self.lifecycle = lifecycle or Lifecycle()
        self.store = store
        self.settings = settings
        self.clock = clock
        self.keys = ConfigurationKeys(settings, len(station.connectors))
        self.charge_point_id = charge_point_id
        self._boot = call.BootNotification(
            charge_point_model=model,
            charge_point_vendor=vendor,
            charge_point_serial_number=serial_number or None,
            firmware_version=firmware_version,
        )
        self._response_timeout_s = response_timeout_s
        self._cp: ChargePoint16 | None = None
        self._ws = None
        self._accepted = False
        self._registered_once = False
        self._outbox_wakeup = asyncio.Event()
        self._outbox_drained = asyncio.Event()
        self._status_wakeup = asyncio.Event()
        self._unsent_status: dict[int, tuple[ConnectorStatus, Fault | None]] = {}
        self.status_hold = StatusHold(lambda: settings["minimum_status_duration_s"])  # §9.1.19
        self.registration: str | None = None
        # DataTransfer (§4.3 / §5.6) handlers by vendorId: (messageId, data) -> (status, data).
        self.data_transfer_handlers: dict[str, Callable[[str | None, str | None], tuple[str, str | None]]] = {}
        # Firmware Management (§3.11): agent.maintenance.firmware.FirmwareUpdater and
        # agent.maintenance.diagnostics.DiagnosticsCollector, set by the composition root (agent/app/composition.py).
        self.firmware = None
        self.diagnostics = None
        # Told once per start when BootNotification is Accepted (agent/maintenance/self_update.py confirms a new release).
        self.on_registered: Callable[[], None] = lambda: None

    # ---- the Backend interface -----------------------------------------------------

    @property
    def online(self) -> bool:
        return self._accepted and self._cp is not None

    async def authorize(self, id_tag: str) -> IdTagInfo | None:
        if not self.online:
            return None
        try:
            result = await self.call(call.Authorize(id_tag=id_tag))
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("Authorize %s: no answer (%s)", id_tag, type(exc).__name__)
            return None
        return self._remember(id_tag, result.id_tag_info)

    def _remember(self, id_tag: str, wire: dict[str, Any]) -> IdTagInfo | None:
        """OCPP 1.6 §3.5.2: every idTagInfo received goes to the authorization cache."""
        try:
            info = id_tag_info(wire)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("idTagInfo for %s not understood (%r): not cached", id_tag, exc)
            return None
        self.station.authorizer.local.remember(id_tag, info)
        return info

    def status_changed(self, connector_id: int, status: ConnectorStatus, fault: Fault | None) -> None:
        # §9.1.19 MinimumStatusDuration: sent once it has lasted that long (agent/core/status_hold.py).
        self.status_hold.changed(connector_id, (status, fault), Clock.monotonic())
        self._status_wakeup.set()

    def outbox_changed(self) -> None:
        self._outbox_wakeup.set()

    def meter_values(self, connector_id: int, sample: dict) -> None:
        if self.online:
            asyncio.ensure_future(self._send_untracked(call.MeterValues(connector_id=connector_id, meter_value=[_meter_value(sample)])))

    async def _send_untracked(self, payload: Any) -> None:
        try:
            await self.call(payload)
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("%s: %r", type(payload).__name__, exc)

    # ---- one connection ------------------------------------------------------------

    async def run_session(self, ws) -> None:
        """Serve one websocket connection until it closes."""
        self._ws = ws
        cp = ChargePoint16(self, SpecConnection(ws), response_timeout=self._response_timeout_s)
        self._cp = cp
        self._accepted = False
        receiver = asyncio.create_task(cp.start(), name="ocpp-receive")
        workers: list[asyncio.Task] = []
        try:
            closed = asyncio.create_task(ws.wait_closed())
            boot = asyncio.create_task(self._register())
            done, _ = await asyncio.wait({receiver, closed, boot}, return_when=asyncio.FIRST_COMPLETED)
            if boot in done and boot.exception() is None and not closed.done():
                # Registered: everything that was waiting can go now.
                self._unsent_status.update(self.station.statuses())
                self._unsent_status[0] = self.station.charge_point_status()
                self._status_wakeup.set()
                self._outbox_wakeup.set()
                workers = [
                    asyncio.create_task(self._heartbeats(), name="ocpp-heartbeat"),
                    asyncio.create_task(self._send_statuses(), name="ocpp-status"),
                    asyncio.create_task(self._send_outbox(), name="ocpp-outbox"),
                ]
                await asyncio.wait({receiver, closed, *workers}, return_when=asyncio.FIRST_COMPLETED)
            for task in (boot, *workers):
                if task.done() and not task.cancelled() and task.exception() and not isinstance(task.exception(), LinkDown):
                    log.error("OCPP task failed", exc_info=task.exception())
        finally:
            self._accepted = False
            self._cp = None
            for task in (receiver, *workers, boot, closed):
                task.cancel()
            await asyncio.gather(receiver, *workers, boot, closed, return_exceptions=True)

    async def call(self, payload: Any, *, unique_id: str | None = None) -> Any:
        """Send a CALL; fail at once with LinkDown if the connection closes meanwhile.

        (The library would let a pending call wait out its whole response timeout.)
        """
        cp, ws = self._cp, self._ws
        if cp is None:
            raise LinkDown("not connected")
        request = asyncio.ensure_future(cp.call(payload, suppress=False, unique_id=unique_id))
        # A request that fails after we stopped waiting for it (the link closed first) has
        # nobody left to tell: retrieve its exception so asyncio does not log it as lost.
        request.add_done_callback(lambda task: task.cancelled() or task.exception())
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            await asyncio.wait({request, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not request.done():
            request.cancel()
            raise LinkDown(f"connection closed during {type(payload).__name__}")
        try:
            return request.result()
        except Exception as exc:
            if ws.close_code is not None and not isinstance(exc, OCPPError):
                raise LinkDown(str(exc)) from exc
            raise

    async def _register(self) -> None:
        """OCPP 1.6 §4.2: BootNotification until Accepted; Pending/Rejected retry after ``interval``.

        Once per start of the agent: a reconnect is not a reboot (some backends close open
        transactions on a BootNotification), so after one Accepted a new connection goes
        straight on with a Heartbeat to sync the clock."""
        if self._registered_once:
            self._accepted = True
            await self.heartbeat()
            return
        while True:
            result = await self.call(self._boot)
            self.clock.sync(result.current_time)
            self.registration = result.status
            if result.status == RegistrationStatus.accepted:
                if result.interval > 0:
                    self.settings.set("heartbeat_interval_s", result.interval)
                self._accepted = True
                self._registered_once = True
                self.on_registered()
                log.info("BootNotification accepted, heartbeat every %d s", self.settings["heartbeat_interval_s"])
                return
            retry = result.interval if result.interval > 0 else 30
            log.warning("BootNotification %s, trying again in %d s", result.status, retry)
            await asyncio.sleep(retry)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(max(1, self.settings["heartbeat_interval_s"]))
            await self.heartbeat()

    async def heartbeat(self) -> None:
        try:
            result = await self.call(call.Heartbeat())
        except (OCPPError, asyncio.TimeoutError) as exc:
            log.warning("Heartbeat: %s", exc)
            return
        self.clock.sync(result.current_time)

    async def _send_statuses(self) -> None:
        while True:
            due = self.status_hold.next_due()
            try:
                await asyncio.wait_for(self._status_wakeup.wait(), None if due is None else max(0.0, due - Clock.monotonic()))
            except TimeoutError:
                pass
            self._status_wakeup.clear()
            self._unsent_status.update(self.status_hold.due(Clock.monotonic()))
            while self._unsent_status:
                connector_id = min(self._unsent_status)
                status, fault = self._unsent_status.pop(connector_id)
                await self.send_status(connector_id, status, fault)

    async def send_status(self, connector_id: int, status: ConnectorStatus, fault: Fault | None) -> None:
        error_code, vendor_code = ERROR_CODES[fault]
        try:
            await self.call(
                call.StatusNotification(
                    connector_id=connector_id,
                    error_code=error_code,
                    status=status.value,
                    timestamp=self.clock.iso(),
                    vendor_error_code=vendor_code,
                )
            )
        except (OCPPError, asyncio.TimeoutError) as exc:
            log.warning("StatusNotification %d %s: %s", connector_id, status.value, exc)
            return
        self.status_hold.reported(connector_id, (status, fault))

    async def send_meter_values_now(self, conn) -> None:
        """TriggerMessage MeterValues (§5.17): the latest reading, outside the durable queue."""
        record = self.store.transaction(conn.tx_local_id) if conn.tx_local_id is not None else None
        sample = self.station.sample(conn, "Trigger")
        await self.call(
            call.MeterValues(
                connector_id=conn.id,
                transaction_id=record.remote_id if record else None,
                meter_value=[_meter_value(sample)],
            )
        )

    async def drain_outbox(self, timeout_s: float) -> None:
        """Wait until every queued transaction message was delivered (TimeoutError if not)."""
        async with asyncio.timeout(timeout_s):
            while self.store.outbox_length():
                self._outbox_drained.clear()
                self._outbox_wakeup.set()
                await self._outbox_drained.wait()

    # ---- the outbox of transaction messages ----------------------------------------

    async def _send_outbox(self) -> None:
        while True:
            message = self.store.outbox_head()
            if message is None:
                self._outbox_drained.set()
                self._outbox_wakeup.clear()
                await self._outbox_wakeup.wait()
                continue
            await self._deliver(message)

    async def _deliver(self, message: OutboxMessage) -> None:
        payload = self._render(message)
        if payload is None:
            log.error("outbox: dropping %s #%d: its transaction was never accepted by the backend", message.kind, message.seq)
            self.store.drop(message.seq)
            return
        try:
            result = await self.call(payload, unique_id=message.unique_id)
        except (OCPPError, asyncio.TimeoutError) as exc:
            if message.kind == "security_event" and isinstance(exc, (OcppNotImplemented, NotSupportedError)):
                log.warning("outbox: the backend does not take SecurityEventNotification (%r); dropped", exc)
                self.store.drop(message.seq)
                return
            # OCPP 1.6 §4.10 / §9.1.37-38: retry TransactionMessageAttempts times,
            # TransactionMessageRetryInterval × attempt apart, then give up.
            attempts = message.attempts + 1
            if attempts >= self.settings["transaction_message_attempts"]:
                log.error("outbox: %s #%d dropped after %d attempts: %r", message.kind, message.seq, attempts, exc)
                self.store.drop(message.seq)
                return
            self.store.failed_attempt(message.seq)
            delay = self.settings["transaction_message_retry_interval_s"] * attempts
            log.warning("outbox: %s #%d failed (%r); attempt %d in %d s", message.kind, message.seq, exc, attempts + 1, delay)
            await asyncio.sleep(delay)
            return
        if message.kind == "tx_start":
            self.store.delivered(message.seq, remote_tx_id=result.transaction_id, local_tx_id=message.local_tx_id)
            self._remember(message.body["id_tag"], result.id_tag_info)
            status = result.id_tag_info.get("status")
            if status != "Accepted":
                log.warning("StartTransaction: idTag %s", status)
                self.station.transaction_rejected(message.local_tx_id)
        else:
            self.store.delivered(message.seq)
            if message.kind == "tx_stop" and message.body.get("id_tag") and result.id_tag_info:
                self._remember(message.body["id_tag"], result.id_tag_info)

    def _render(self, message: OutboxMessage) -> Any | None:
        body = message.body
        if message.kind == "security_event":  # Security Whitepaper: agent/security/events.py
            return call.SecurityEventNotification(type=body["type"], timestamp=body["timestamp"], tech_info=body["tech_info"])
        if message.kind == "tx_start":
            return call.StartTransaction(
                connector_id=body["connector_id"],
                id_tag=body["id_tag"],
                meter_start=body["meter_start_wh"],
                timestamp=body["timestamp"],
                reservation_id=body.get("reservation_id"),  # §3.12.1: the reservation it used
            )
        record = self.store.transaction(message.local_tx_id)
        if record is None or record.remote_id is None:
            return None
        if message.kind == "tx_meter":
            return call.MeterValues(
                connector_id=body["connector_id"],
                transaction_id=record.remote_id,
                meter_value=[_meter_value(s) for s in body["samples"]],
            )
        return call.StopTransaction(
            meter_stop=body["meter_stop_wh"],
            timestamp=body["timestamp"],
            transaction_id=record.remote_id,
            reason=body["reason"],
            id_tag=body.get("id_tag"),
            transaction_data=[_meter_value(s) for s in body["transaction_data"]] or None,
        )


def _meter_value(sample: dict[str, Any]) -> dict[str, Any]:
    """Neutral sample → OCPP 1.6 §7.32 MeterValue."""
    return {
        "timestamp": sample["timestamp"],
        "sampled_value": [
            {k: v for k, v in value.items() if k in ("value", "context", "measurand", "phase", "unit")}
            for value in sample["values"]
        ],
    }
