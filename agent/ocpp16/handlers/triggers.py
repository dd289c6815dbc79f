"""TriggerMessage (OCPP 1.6 §5.17) and ExtendedTriggerMessage (Security Whitepaper §5.5): the
answer and what is sent come from one decision (agent/ocpp16/trigger_rules.py); the triggered
messages go out one at a time after the answer, from a bounded queue of this connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, TriggerMessageStatus, UploadLogStatus

from agent.backend.services import DiagnosticsStatus, FirmwareStatus
from agent.ocpp16.connection import LinkDown
from agent.ocpp16.reports import CORE_FIRMWARE_STATUS, UPLOAD_LOG_STATUS, last_signed_firmware_status
from agent.ocpp16.trigger_rules import EXTENDED_TRIGGER_MESSAGE, TRIGGER_MESSAGE, Answer, Decision, FollowUp, FollowUpQueue

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter
    from agent.ocpp16.handlers.certificates import CertificateHandlers

log = logging.getLogger(__name__)


class TriggerHandlers:
    def __init__(self, adapter: Ocpp16Adapter, certificates: CertificateHandlers) -> None:
        self.adapter = adapter
        self.station = adapter.station
        self.services = adapter.services
        self.certificates = certificates  # SignChargePointCertificate sends a SignCertificate
        self.follow_ups = FollowUpQueue()
        self._task: asyncio.Task | None = None

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, call_unique_id: str = "") -> Any:
        decision = self._decide(TRIGGER_MESSAGE, requested_message, connector_id, call_unique_id)
        return call_result.TriggerMessage(status=TriggerMessageStatus(decision.answer.value))

    @after(Action.trigger_message)
    def after_trigger_message(self, call_unique_id: str = "", **_: Any) -> None:
        self._release(call_unique_id)

    @on(Action.extended_trigger_message)
    def on_extended_trigger_message(self, requested_message: str, connector_id: int | None = None, call_unique_id: str = "") -> Any:
        decision = self._decide(EXTENDED_TRIGGER_MESSAGE, requested_message, connector_id, call_unique_id)
        return call_result.ExtendedTriggerMessage(status=TriggerMessageStatus(decision.answer.value))

    @after(Action.extended_trigger_message)
    def after_extended_trigger_message(self, call_unique_id: str = "", **_: Any) -> None:
        self._release(call_unique_id)

    # ---- the triggered messages --------------------------------------------------------

    def _decide(self, triggers: dict, requested: str, connector_id: int | None, request_id: str) -> Decision:
        decision = self.follow_ups.decide(
            requested, connector_id, triggers=triggers, connectors=list(self.station.evses()), request_id=request_id
        )
        if decision.answer is not Answer.ACCEPTED:
            log.info("trigger %s (connector %s): %s, %s", requested, connector_id, decision.answer.value, decision.reason)
        return decision

    def _release(self, request_id: str) -> None:
        """The trigger's answer went out: its follow-ups go now, one at a time, by one task."""
        self.follow_ups.release(request_id)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._send_follow_ups())

    async def _send_follow_ups(self) -> None:
        while (follow_up := self.follow_ups.next()) is not None:
            try:
                await self._send(follow_up)
            except LinkDown:
                self.follow_ups.clear()  # this connection is gone; its triggers with it
                return
            except (OCPPError, asyncio.TimeoutError) as exc:
                log.warning("triggered %s: %r", follow_up.message, exc)
            except Exception:  # a bug in one follow-up must not stop the others
                log.exception("triggered %s failed", follow_up.message)

    async def _send(self, follow_up: FollowUp) -> None:
        adapter, cid = self.adapter, follow_up.connector_id
        match follow_up.message:
            case "BootNotification":
                await adapter.call(adapter.boot)
            case "Heartbeat":
                await adapter.heartbeat()
            case "StatusNotification" if cid == 0:
                await adapter.send_status(0, *self.station.station_status())
            case "StatusNotification":
                statuses = {ref.evse_id: value for ref, value in self.station.statuses().items()}
                await adapter.send_status(cid, *statuses[cid])
            case "MeterValues":
                await adapter.send_meter_values_now(cid)
            case "DiagnosticsStatusNotification":
                await adapter.call(call.DiagnosticsStatusNotification(status=self._diagnostics_status()))
            case "FirmwareStatusNotification":
                await adapter.call(call.FirmwareStatusNotification(status=self._firmware_status()))
            case "SignedFirmwareStatusNotification":
                await adapter.call(self._signed_firmware_status_notification())
            case "LogStatusNotification":
                await adapter.call(self._log_status_notification())
            case "SignCertificate":
                await self.certificates.sign_certificate()
            case _:
                raise ValueError(f"no follow-up {follow_up.message}")

    # §4.4 / §4.5: Idle unless an upload / update is under way.
    def _diagnostics_status(self) -> str:
        collector = self.services.diagnostics
        if collector is None or collector.request_id is not None:  # nothing, or a GetLog upload
            return DiagnosticsStatus.IDLE.value
        return collector.status.value

    def _firmware_status(self) -> str:
        updater = self.services.firmware
        status = updater.status if updater is not None else FirmwareStatus.IDLE
        return CORE_FIRMWARE_STATUS.get(status, status).value

    def _log_status_notification(self) -> call.LogStatusNotification:
        """LogStatusNotification.req now: the status of the GetLog upload under way, and its
        requestId (N01.FR.12) unless Idle."""
        collector = self.services.diagnostics
        if collector is None or collector.request_id is None:  # nothing, or a GetDiagnostics upload
            return call.LogStatusNotification(status=UploadLogStatus.idle.value, request_id=None)
        status = UPLOAD_LOG_STATUS[collector.status].value
        busy = status != UploadLogStatus.idle.value
        return call.LogStatusNotification(status=status, request_id=collector.request_id if busy else None)

    def _signed_firmware_status_notification(self) -> call.SignedFirmwareStatusNotification:
        """The status last sent (L01.FR.29) with its requestId (L01.FR.21), or Idle when that
        was Installed (L01.FR.28) or none was ever sent."""
        last = last_signed_firmware_status(self.services.store)
        if last is None or last[0] == FirmwareStatus.INSTALLED.value:
            return call.SignedFirmwareStatusNotification(status=FirmwareStatus.IDLE.value, request_id=None)
        status, request_id = last
        return call.SignedFirmwareStatusNotification(
            status=status, request_id=request_id if status != FirmwareStatus.IDLE.value else None
        )
