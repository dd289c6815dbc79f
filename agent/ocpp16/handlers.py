"""Backend → charge point requests of OCPP 1.6J (§5), answered by the station.

The library's receive loop awaits each handler before reading the next frame, so a
handler never makes a CALL itself: follow-up messages go out from ``@after`` hooks
(which the library runs as tasks once the answer is sent). Triggered messages go out
one at a time from one task per connection, from a bounded queue (``triggers.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ConfigurationStatus,
    RemoteStartStopStatus,
    TriggerMessageStatus,
)

from agent.ocpp16.core import CoreHandlers
from agent.ocpp16.firmware import FirmwareManagementHandlers
from agent.ocpp16.local_auth import LocalAuthListHandlers
from agent.ocpp16.reservation import ReservationHandlers
from agent.ocpp16.security import SecurityHandlers
from agent.ocpp16.signed_firmware import SignedFirmwareHandlers
from agent.ocpp16.smart_charging import SmartChargingHandlers
from agent.ocpp16.triggers import TRIGGER_MESSAGE, Answer, Decision, FollowUp, FollowUpQueue

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Backend

log = logging.getLogger(__name__)


class ChargePoint16(
    # One mixin per OCPP 1.6 feature profile (and the security extensions); the library's
    # routing finds their @on / @after handlers through inheritance.
    CoreHandlers,
    LocalAuthListHandlers,
    FirmwareManagementHandlers,
    SmartChargingHandlers,
    ReservationHandlers,
    SecurityHandlers,
    SignedFirmwareHandlers,
    ChargePoint,
):
    def __init__(self, backend: Ocpp16Backend, connection, response_timeout: float) -> None:
        super().__init__(backend.charge_point_id, connection, response_timeout=response_timeout)
        self.backend = backend
        self.station = backend.station
        self.follow_ups = FollowUpQueue()  # triggered messages (TriggerMessage, ExtendedTriggerMessage)
        self._follow_up_task: asyncio.Task | None = None

    # §5.11 RemoteStartTransaction
    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, charging_profile=None):
        if connector_id is not None and connector_id not in self.station.connectors:
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        if not self.remote_start_profile(charging_profile, id_tag, connector_id):
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        accepted = self.station.remote_start(id_tag, connector_id)
        if charging_profile is not None and not accepted:
            self.station.charging_limits.drop_pending(id_tag)
        log.info("RemoteStartTransaction %s on %s: %s", id_tag, connector_id, accepted)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStartTransaction(status=status)

    # §5.12 RemoteStopTransaction
    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int):
        accepted = self.station.remote_stop(transaction_id)
        log.info("RemoteStopTransaction %d: %s", transaction_id, accepted)
        status = RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected
        return call_result.RemoteStopTransaction(status=status)

    # §5.8 GetConfiguration
    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None):
        known, unknown = self.backend.keys.get(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    # §5.3 ChangeConfiguration
    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str):
        result = self.backend.keys.change(key, value)
        shown = "<write-only>" if key == "AuthorizationKey" else value  # never log the password
        log.info("ChangeConfiguration %s=%s: %s", key, shown, result.value)
        return call_result.ChangeConfiguration(status=ConfigurationStatus(result.value))

    # §5.17 TriggerMessage: the answer and what is sent come from one decision (triggers.py).
    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, call_unique_id: str = ""):
        decision = self.decide_trigger(TRIGGER_MESSAGE, requested_message, connector_id, call_unique_id)
        return call_result.TriggerMessage(status=TriggerMessageStatus(decision.answer.value))

    @after(Action.trigger_message)
    def after_trigger_message(self, call_unique_id: str = "", **_):
        self.release_follow_ups(call_unique_id)

    # ---- the triggered messages (also ExtendedTriggerMessage's, security.py) ----------

    def decide_trigger(self, triggers, requested: str, connector_id: int | None, request_id: str) -> Decision:
        decision = self.follow_ups.decide(
            requested, connector_id, triggers=triggers, connectors=self.station.connectors, request_id=request_id
        )
        if decision.answer is not Answer.ACCEPTED:
            log.info("trigger %s (connector %s): %s, %s", requested, connector_id, decision.answer.value, decision.reason)
        return decision

    def release_follow_ups(self, request_id: str) -> None:
        """The trigger's answer went out: its follow-ups go now, one at a time, by one task."""
        self.follow_ups.release(request_id)
        if self._follow_up_task is None or self._follow_up_task.done():
            self._follow_up_task = asyncio.ensure_future(self._send_follow_ups())

    async def _send_follow_ups(self) -> None:
        from agent.ocpp16.adapter import LinkDown  # the adapter imports this module

        while (follow_up := self.follow_ups.next()) is not None:
            try:
                await self.send_follow_up(follow_up)
            except LinkDown:
                self.follow_ups.clear()  # this connection is gone; its triggers with it
                return
            except (OCPPError, asyncio.TimeoutError) as exc:
                log.warning("triggered %s: %r", follow_up.message, exc)
            except Exception:  # a bug in one follow-up must not stop the others
                log.exception("triggered %s failed", follow_up.message)

    async def send_follow_up(self, follow_up: FollowUp) -> None:
        backend, cid = self.backend, follow_up.connector_id
        match follow_up.message:
            case "BootNotification":
                await backend.call(backend._boot)
            case "Heartbeat":
                await backend.heartbeat()
            case "StatusNotification" if cid == 0:
                await backend.send_status(0, *self.station.charge_point_status())
            case "StatusNotification":
                await backend.send_status(cid, *self.station.statuses()[cid])
            case "MeterValues":
                await backend.send_meter_values_now(self.station.connectors[cid])
            case "DiagnosticsStatusNotification":
                await backend.call(call.DiagnosticsStatusNotification(status=self.diagnostics_status()))
            case "FirmwareStatusNotification":
                await backend.call(call.FirmwareStatusNotification(status=self.firmware_status()))
            case "SignedFirmwareStatusNotification":
                await backend.call(self.signed_firmware_status_notification())
            case "LogStatusNotification":
                await backend.call(self.log_status_notification())
            case "SignCertificate":
                await self.sign_certificate()
            case _:
                raise ValueError(f"no follow-up {follow_up.message}")
