"""The OCPP 1.6J adapter: one object for the life of the agent, one ChargePoint per connection.

It implements the station's ``BackendPort`` (agent/backend/ports.py) in OCPP 1.6 and answers
what the backend asks through the handler objects in ``agent/ocpp16/handlers/``, which see
the station only through its ``StationPort`` and the neutral services of
``agent/backend/services.py``.

Charge point → backend: BootNotification (§4.2, Accepted / Pending / Rejected with the
returned interval), Heartbeat (§4.6), StatusNotification (§4.9), Authorize (§4.1),
MeterValues outside transactions, and the durable outbox (transaction messages and security
events, rendered by ``agent/ocpp16/outbox.py``, delivered by the neutral pump).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from agent.backend.ports import IdTagInfo, Sample, StationPort
from agent.backend.services import AdapterServices, DiagnosticsStatus, FirmwareStatus, LogReport, SignedReport
from agent.core.identity import ConnectorRef, IdToken
from agent.core.session import ConnectorStatus, Fault
from agent.core.status_hold import StatusHold
from agent.ocpp16 import costmsg, display_messages
from agent.ocpp16.connection import ChargePoint16, LinkDown
from agent.ocpp16.handlers import build_handlers
from agent.ocpp16.keys import ConfigurationKeys
from agent.ocpp16.handlers.local_auth import id_tag_info
from agent.ocpp16.outbox import Outbox16, meter_value
from agent.ocpp16.pricing_keys import PricingKeys
from agent.ocpp16.reports import report_request
from agent.ocpp16.security_keys import SecurityKeys

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


@dataclass(frozen=True)
class Identity:
    """Who the station is (BootNotification.req, §6.2)."""

    charge_point_id: str
    vendor: str
    model: str
    serial_number: str
    firmware_version: str


class Ocpp16Adapter:
    subprotocol = SUBPROTOCOL

    def __init__(
        self,
        station: StationPort,
        services: AdapterServices,
        identity: Identity,
        *,
        number_of_connectors: int,
        response_timeout_s: float = 30.0,
    ) -> None:
        self.station = station
        self.services = services
        self.identity = identity
        self.charge_point_id = identity.charge_point_id
        self.keys = ConfigurationKeys(services.settings, number_of_connectors)
        self.security_keys = SecurityKeys(services.security, services.store)
        self.keys.add(self.security_keys)
        self.boot = call.BootNotification(
            charge_point_model=identity.model,
            charge_point_vendor=identity.vendor,
            charge_point_serial_number=identity.serial_number or None,
            firmware_version=identity.firmware_version,
        )
        self._response_timeout_s = response_timeout_s
        self._cp: ChargePoint16 | None = None
        self._accepted = False
        self._registered_once = False
        self._status_wakeup = asyncio.Event()
        self._heartbeat_changed = asyncio.Event()
        services.settings.on_change(lambda name, _value: name == "heartbeat_interval_s" and self._heartbeat_changed.set())
        self._unsent_status: dict[int, tuple[ConnectorStatus, Fault | None]] = {}  # by connectorId
        self.status_hold = StatusHold(lambda: services.settings["minimum_status_duration_s"])  # §9.1.19
        self.registration: str | None = None
        self.outbox = Outbox16(self)
        self.handlers = build_handlers(self)
        # What the person at the charger sees, in 1.6: the California Pricing DataTransfer
        # messages and keys, and backend display messages over DataTransfer (our vendorId).
        user_info = services.user_info
        pricing_keys = PricingKeys(user_info.pricing, services.store, changed=user_info.changed)
        pricing_keys.set_default_price_text(user_info.default_price_text)
        self.keys.add(pricing_keys)
        self.costs = costmsg.CostMessages(self, user_info.pricing, user_info.changed)
        self.data_transfer = {
            **services.data_transfer,
            costmsg.VENDOR_ID: self.costs,
            display_messages.VENDOR_ID: display_messages.DisplayMessages(
                user_info.messages, set(station.evses()), lambda: user_info.pricing.language, _monotonic, user_info.changed
            ),
        }

    def background(self) -> list[Any]:
        """What runs for the life of the agent besides connections (price message triggers)."""
        return [self.costs.run()]

    # ---- the BackendPort -----------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._accepted and self._cp is not None

    async def authorize(self, id_token: IdToken) -> IdTagInfo | None:
        if not self.online:
            return None
        remembered: list[IdTagInfo | None] = []
        try:
            await self.call(call.Authorize(id_tag=id_token.value),
                            apply=lambda result: remembered.append(self.remember(id_token.value, result.id_tag_info)))
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("Authorize %s: no answer (%s)", id_token.value, type(exc).__name__)
            return None
        return remembered[0] if remembered else None

    def remember(self, id_tag: str, wire: dict[str, Any]) -> IdTagInfo | None:
        """OCPP 1.6 §3.5.2: every idTagInfo received goes to the authorization cache."""
        try:
            info = id_tag_info(wire)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("idTagInfo for %s not understood (%r): not cached", id_tag, exc)
            return None
        self.services.local_auth.remember(id_tag, info)
        return info

    def status_changed(self, where: ConnectorRef, status: ConnectorStatus, fault: Fault | None) -> None:
        # §9.1.19 MinimumStatusDuration: sent once it has lasted that long (agent/core/status_hold.py).
        self.status_hold.changed(where.evse_id, (status, fault), _monotonic())
        self._status_wakeup.set()

    def outbox_changed(self) -> None:
        self.services.outbox.changed()

    def reservation_ended(self, reservation_id: int, why: str) -> None:
        """OCPP 1.6 tells the end of a reservation by the connector's StatusNotification only."""

    def meter_values(self, evse_id: int, sample: Sample) -> None:
        if self.online:
            asyncio.ensure_future(self._send_untracked(call.MeterValues(connector_id=evse_id, meter_value=[meter_value(sample)])))

    async def _send_untracked(self, payload: Any) -> None:
        try:
            await self.call(payload)
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("%s: %r", type(payload).__name__, exc)

    # ---- one connection ------------------------------------------------------------

    async def run_session(self, ws: Any) -> None:
        """Serve one websocket connection until it closes."""
        cp = ChargePoint16(self.charge_point_id, ws, self.handlers.for_connection(), self._response_timeout_s)
        self._cp = cp
        self._accepted = False
        receiver = asyncio.create_task(cp.start(), name="ocpp-receive")
        workers: list[asyncio.Task] = []
        closed = asyncio.create_task(ws.wait_closed())
        boot = asyncio.create_task(self._register())
        try:
            done, _ = await asyncio.wait({receiver, closed, boot}, return_when=asyncio.FIRST_COMPLETED)
            if boot in done and boot.exception() is None and not closed.done():
                # Registered: everything that was waiting can go now.
                self._unsent_status.update({ref.evse_id: value for ref, value in self.station.statuses().items()})
                self._unsent_status[0] = self.station.station_status()
                self._status_wakeup.set()
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
            self._accepted = False
            self._cp = None
            for task in (receiver, *workers, boot, closed):
                task.cancel()
            await asyncio.gather(receiver, *workers, boot, closed, return_exceptions=True)

    async def call(self, payload: Any, *, unique_id: str | None = None, apply: Any = None) -> Any:
        """Send a CALL on the current connection (LinkDown when there is none or it closes);
        ``apply(answer)`` runs before the backend's next frame is handled."""
        cp = self._cp
        if cp is None:
            raise LinkDown("not connected")
        return await cp.send_call(payload, unique_id=unique_id, apply=apply)

    def prepare_call(self, payload: Any, unique_id: str) -> Any:
        """``payload`` made ready to send on the current connection (``call`` takes either)."""
        cp = self._cp
        return cp.prepare_call(payload, unique_id) if cp is not None else payload

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
            result = await self.call(self.boot)
            self.services.clock.sync(result.current_time)
            self.registration = result.status
            if result.status == RegistrationStatus.accepted:
                if result.interval > 0:
                    self.services.settings.set("heartbeat_interval_s", result.interval)
                self._accepted = True
                self._registered_once = True
                self.services.on_registered()
                log.info("BootNotification accepted, heartbeat every %d s", self.services.settings["heartbeat_interval_s"])
                return
            retry = result.interval if result.interval > 0 else 30
            log.warning("BootNotification %s, trying again in %d s", result.status, retry)
            await asyncio.sleep(retry)

    async def _heartbeats(self) -> None:
        while True:
            self._heartbeat_changed.clear()
            try:  # §9.1.11 HeartbeatInterval: a new value (ChangeConfiguration) counts from now.
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
            try:  # asyncio.timeout: wait_for (3.11) may swallow a cancellation that meets the event
                async with asyncio.timeout(None if due is None else max(0.0, due - _monotonic())):
                    await self._status_wakeup.wait()
            except TimeoutError:
                pass
            self._status_wakeup.clear()
            self._unsent_status.update(self.status_hold.due(_monotonic()))
            while self._unsent_status:
                connector_id = min(self._unsent_status)
                status, fault = self._unsent_status.pop(connector_id)
                await self.send_status(connector_id, status, fault)

    async def send_status(self, connector_id: int, status: ConnectorStatus, fault: Fault | None) -> None:
        error_code, vendor_code = ERROR_CODES[fault]
        # What the backend will know from now on: a change back while this one is on its way
        # is a change to report (agent/status_hold.py). A lost link resends every status.
        self.status_hold.reported(connector_id, (status, fault))
        try:
            await self.call(
                call.StatusNotification(
                    connector_id=connector_id,
                    error_code=error_code,
                    status=status.value,
                    timestamp=self.services.clock.iso(),
                    vendor_error_code=vendor_code,
                )
            )
        except (OCPPError, asyncio.TimeoutError) as exc:
            log.warning("StatusNotification %d %s: %s", connector_id, status.value, exc)

    async def send_meter_values_now(self, connector_id: int) -> None:
        """TriggerMessage MeterValues (§5.17): the latest reading, outside the durable queue."""
        transaction = self.station.transaction_on(connector_id)
        backend_id = transaction.backend_id if transaction is not None else None
        sample = self.station.sample(connector_id, "Trigger")
        await self.call(
            call.MeterValues(
                connector_id=connector_id,
                transaction_id=int(backend_id) if backend_id is not None else None,
                meter_value=[meter_value(sample)],
            )
        )

    async def send_report(self, report: FirmwareStatus | DiagnosticsStatus | SignedReport | LogReport) -> bool:
        """A firmware / diagnostics / log status for the neutral report queue; True when done
        with (delivered, or refused for good), False when it could not be sent yet."""
        if not self.online:
            return False
        payload = report_request(report, self.services.store)
        try:
            await self.call(payload)
        except (LinkDown, asyncio.TimeoutError):
            return False
        except OCPPError as exc:
            log.warning("%s %s: refused by the backend: %s", type(payload).__name__, payload.status, exc)
        return True


def _monotonic() -> float:
    import time

    return time.monotonic()
