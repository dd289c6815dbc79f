"""Functional blocks F (Remote control), G (Availability) and E's GetTransactionStatus:
RequestStartTransaction (F01/F02, with a charging profile), RequestStopTransaction (F03),
UnlockConnector (F05), TriggerMessage (F06), ChangeAvailability (G03-G05), DataTransfer (P),
GetTransactionStatus (E14)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.ports import AvailabilityResult, Sample, UnlockResult
from agent.core.identity import ConnectorRef, IdToken, IdTokenType
from agent.core.trigger_rules import Answer, FollowUp, FollowUpQueue, Scope
from agent.ocpp201.connection import LinkDown
from agent.ocpp201.handlers.diagnostics import log_status
from agent.ocpp201.mapping import CONNECTOR_STATUS, meter_value

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

# F06 TriggerMessage: requestedMessage → (what is sent, about which EVSEs) (§3.54 MessageTriggerEnumType).
TRIGGERS = {
    "BootNotification": ("BootNotification", Scope.STATION),
    "Heartbeat": ("Heartbeat", Scope.STATION),
    "LogStatusNotification": ("LogStatusNotification", Scope.STATION),
    "FirmwareStatusNotification": ("FirmwareStatusNotification", Scope.STATION),
    "MeterValues": ("MeterValues", Scope.CONNECTORS),
    "StatusNotification": ("StatusNotification", Scope.CONNECTORS),
    "SignChargingStationCertificate": ("SignCertificate", Scope.STATION),  # A02.FR.01
    "TransactionEvent": ("TransactionEvent", Scope.CONNECTORS),  # F06: EVSEs with a transaction
}
# Not triggerable here, so NotImplemented (F06): SignV2GCertificate and SignCombinedCertificate
# (no ISO 15118 stack), PublishFirmwareStatusNotification (the station is no local controller).

UNLOCK_STATUS = {
    UnlockResult.UNLOCKED: "Unlocked",
    UnlockResult.UNLOCK_FAILED: "UnlockFailed",
    UnlockResult.NOT_SUPPORTED: "UnlockFailed",  # F05: no lock (a fixed cable) cannot be unlocked
    UnlockResult.UNKNOWN_CONNECTOR: "UnknownConnector",
}


class RemoteControlHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.station = adapter.station
        self.services = adapter.services
        self.follow_ups = FollowUpQueue()
        self._task: asyncio.Task | None = None

    # F01 / F02 RequestStartTransaction
    @on(Action.request_start_transaction)
    def on_request_start_transaction(self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None,
                                     group_id_token: dict[str, Any] | None = None,
                                     charging_profile: dict[str, Any] | None = None, **_: Any) -> Any:
        if evse_id is not None and evse_id not in self.station.evses():
            return call_result.RequestStartTransaction(status="Rejected", status_info={"reason_code": "UnknownEvse"})
        token = IdToken(id_token["id_token"], _token_type(id_token["type"]))
        if charging_profile is not None and not self.adapter.handlers.remote_start_profile(charging_profile, token, evse_id):
            return call_result.RequestStartTransaction(status="Rejected", status_info={"reason_code": "InvalidProfile"})
        accepted = self.station.remote_start(token, evse_id, remote_start_id)
        if charging_profile is not None and not accepted:
            self.services.charging_limits.drop_pending(token.value)
        log.info("RequestStartTransaction %s (remoteStartId %d) on EVSE %s: %s", token.value, remote_start_id, evse_id, accepted)
        return call_result.RequestStartTransaction(status="Accepted" if accepted else "Rejected")

    # F03 RequestStopTransaction
    @on(Action.request_stop_transaction)
    def on_request_stop_transaction(self, transaction_id: str, **_: Any) -> Any:
        accepted = self.station.remote_stop(transaction_id)
        log.info("RequestStopTransaction %s: %s", transaction_id, accepted)
        return call_result.RequestStopTransaction(status="Accepted" if accepted else "Rejected")

    # E14 GetTransactionStatus
    @on(Action.get_transaction_status)
    def on_get_transaction_status(self, transaction_id: str | None = None, **_: Any) -> Any:
        queued = self.services.outbox.queued(transaction_id)
        if transaction_id is None:
            return call_result.GetTransactionStatus(messages_in_queue=queued)
        transaction = self.station.transaction(transaction_id)
        ongoing = transaction is not None and transaction.running
        return call_result.GetTransactionStatus(messages_in_queue=queued, ongoing_indicator=ongoing)

    # F05 UnlockConnector: not while a transaction runs on it (F05.FR.02).
    @on(Action.unlock_connector)
    async def on_unlock_connector(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        if evse_id not in self.station.evses() or connector_id not in self.station.evses()[evse_id]:
            return call_result.UnlockConnector(status="UnknownConnector")
        if self.station.transaction_on(evse_id) is not None:
            return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
        result = await self.station.unlock(ConnectorRef(evse_id, connector_id))
        return call_result.UnlockConnector(status=UNLOCK_STATUS[result])

    # G03-G05 ChangeAvailability: the station, an EVSE or a connector (one connector per EVSE).
    @on(Action.change_availability)
    def on_change_availability(self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any) -> Any:
        evse_id = evse.get("id") if evse else None
        connector_id = evse.get("connector_id") if evse else None
        if evse_id is not None and (evse_id not in self.station.evses()
                                    or connector_id not in (None, *self.station.evses()[evse_id])):
            return call_result.ChangeAvailability(status="Rejected", status_info={"reason_code": "UnknownEvse"})
        result = self.station.change_availability(evse_id or None, operational_status == "Operative")
        log.info("ChangeAvailability %s %s: %s", evse, operational_status, result.value)
        status = {AvailabilityResult.ACCEPTED: "Accepted", AvailabilityResult.SCHEDULED: "Scheduled"}.get(result, "Rejected")
        return call_result.ChangeAvailability(status=status)

    # P01 / P02 DataTransfer
    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: Any = None, **_: Any) -> Any:
        handler = self.adapter.data_transfer.get(vendor_id)
        if handler is None:
            return call_result.DataTransfer(status="UnknownVendorId")
        status, reply = handler(message_id, data if isinstance(data, str) or data is None else str(data))
        return call_result.DataTransfer(status=status, data=reply)

    # F06 TriggerMessage: the answer and what is sent come from one decision (agent/core/trigger_rules.py).
    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                           call_unique_id: str = "", **_: Any) -> Any:
        evse_id = evse.get("id") if evse else None
        refusal = self._refusal(requested_message, evse or {})
        if refusal is not None:
            log.info("TriggerMessage %s (EVSE %s): Rejected, %s", requested_message, evse, refusal)
            return call_result.TriggerMessage(status="Rejected")
        evses = list(self.station.evses())
        if requested_message == "TransactionEvent":
            evses = [e for e in evses if self.station.transaction_on(e) is not None]
        elif requested_message == "MeterValues":  # F06: of the EVSEs whose meter has a reading
            evses = [e for e in evses if self._aligned_sample(e).values]
        decision = self.follow_ups.decide(requested_message, evse_id, triggers=TRIGGERS,
                                          connectors=evses, request_id=call_unique_id)
        if decision.answer is not Answer.ACCEPTED:
            log.info("TriggerMessage %s (EVSE %s): %s, %s", requested_message, evse_id, decision.answer.value, decision.reason)
        return call_result.TriggerMessage(status=decision.answer.value)

    def _refusal(self, requested: str, evse: dict[str, Any]) -> str | None:
        """F06 requirements the pure rule does not know: why the trigger is Rejected, or None."""
        evses = self.station.evses()
        if requested == "BootNotification" and self.adapter.registration == "Accepted":
            return "the last BootNotification was Accepted (F06.FR.17)"
        if requested == "StatusNotification":
            # F06.FR.12: a StatusNotification is of one connector, named with its EVSE.
            connector_id = evse.get("connector_id")
            if connector_id is None or evse.get("id") not in evses or connector_id not in evses[evse["id"]]:
                return "StatusNotification needs a connector of this station (F06.FR.12)"
        if requested == "TransactionEvent" and not any(self.station.transaction_on(e) for e in evses):
            return "no transaction is ongoing"
        if requested == "MeterValues" and not any(self._aligned_sample(e).values for e in evses):
            return "no meter reading to send"
        return None

    def _aligned_sample(self, evse_id: int) -> Sample:
        """F06: the latest reading of the AlignedDataMeasurands, context Trigger."""
        return self.station.sample(evse_id, "Trigger", self.services.settings["meter_aligned_data"])

    @after(Action.trigger_message)
    def after_trigger_message(self, call_unique_id: str = "", **_: Any) -> None:
        self.follow_ups.release(call_unique_id)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._send_follow_ups())

    async def _send_follow_ups(self) -> None:
        while (follow_up := self.follow_ups.next()) is not None:
            try:
                await self._send(follow_up)
            except LinkDown:
                self.follow_ups.clear()
                return
            except (OCPPError, asyncio.TimeoutError) as exc:
                log.warning("triggered %s: %r", follow_up.message, exc)
            except Exception:  # a bug in one follow-up must not stop the others
                log.exception("triggered %s failed", follow_up.message)

    async def _send(self, follow_up: FollowUp) -> None:
        adapter, evse_id = self.adapter, follow_up.connector_id
        match follow_up.message:
            case "BootNotification":
                await adapter.boot("Triggered")
            case "Heartbeat":
                await adapter.heartbeat()
            case "StatusNotification":
                for ref, (status, _) in sorted(self.station.statuses().items()):
                    if ref.evse_id == evse_id:
                        await adapter.send_status(ref, CONNECTOR_STATUS[status])
            case "MeterValues" if evse_id is not None:
                sample = self._aligned_sample(evse_id)
                if sample.values:
                    await adapter.call(call.MeterValues(evse_id=evse_id, meter_value=[meter_value(sample)]))
            case "TransactionEvent" if evse_id is not None:
                # F06: TransactionEvent Updated, triggerReason Trigger, through the durable queue
                # (its seqNo follows the transaction's others).
                self.station.update_transaction_now(evse_id, "Trigger")
            case "FirmwareStatusNotification":
                firmware = self.services.firmware
                status = firmware.status.value if firmware is not None else "Idle"
                request_id = firmware.request_id if firmware is not None and status != "Idle" else None
                await adapter.call(call.FirmwareStatusNotification(status=status, request_id=request_id))
            case "SignCertificate":
                await adapter.certificate_signing.request()
            case "LogStatusNotification":
                status, request_id = log_status(self.services.diagnostics)  # F06, N01.FR.12
                await adapter.call(call.LogStatusNotification(status=status, request_id=request_id))
            case _:
                raise ValueError(f"no follow-up {follow_up.message}")


def _token_type(text: str) -> IdTokenType:
    try:
        return IdTokenType(text)
    except ValueError:
        return IdTokenType.CENTRAL
