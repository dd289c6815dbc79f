"""The durable outbox in OCPP 2.0.1: transaction events as TransactionEvent (E01-E14) and security
events as SecurityEventNotification (A04), sent and confirmed for the neutral pump
(agent/backend/outbox.py).

TransactionEvent carries the station's own transactionId, so every event can be sent as it
was queued, online or after a reconnect (E13 offline transactions: ``offline`` true when it
happened while offline), in order, each once. The first event of a transaction names its EVSE
(E01.FR.16); Started and an Ended caused by a token carry the idToken; the meter register at
the start and at the end goes with Started (Transaction.Begin) and Ended (Transaction.End,
with the TxEnded samples). Updated also tells each change of the charging state (chargingState,
triggerReason ChargingStateChanged / CablePluggedIn / EVCommunicationLost) and the idToken that
authorized a transaction started before anyone was (TxStartPoint EVConnected, with the
remoteStartId of a remote start: F02). A TransactionEventResponse's idTokenInfo goes to the
authorization cache (C10) and, when not Accepted, deauthorizes the transaction (E05,
StopTxOnInvalidId); a totalCost goes to the display (I02).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.v201 import call

from agent.backend.outbox import ENDED, STARTED, UPDATED, LinkLost, OutboxMessage, Refused
from agent.ocpp201.connection import LinkDown
from agent.ocpp201.mapping import (
    ENDED_TRIGGER,
    SECURITY_EVENT_TYPE,
    STOPPED_REASON,
    energy_reading,
    meter_value,
    phases_used,
)

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

EVENT_TYPE = {STARTED: "Started", UPDATED: "Updated", ENDED: "Ended"}


class Outbox201:
    """``agent.backend.outbox.OutboxChannel`` for OCPP 2.0.1."""

    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self._adapter = adapter

    def render(self, message: OutboxMessage) -> Any | None:
        body = message.body
        if message.kind == "security_event":
            kind = SECURITY_EVENT_TYPE.get(body["type"], body["type"])  # A04: the 2.0.1 name of the event
            return call.SecurityEventNotification(type=kind, timestamp=body["timestamp"], tech_info=body["tech_info"])
        if message.kind not in EVENT_TYPE:
            log.error("outbox: %s is no message OCPP 2.0.1 has", message.kind)
            return None
        info: dict[str, Any] = {"transaction_id": body["transaction_id"]}
        meter_values: list[dict[str, Any]] = []
        if message.kind == STARTED:
            trigger = body.get("trigger", "Authorized")
            if body.get("remote_start_id") is not None:
                info["remote_start_id"] = body["remote_start_id"]
            if body.get("samples"):  # J02: SampledDataCtrlr.TxStartedMeasurands
                meter_values += [meter_value(s) for s in body["samples"]]
            elif body.get("meter_wh") is not None:
                meter_values.append(energy_reading(body["timestamp"], body["meter_wh"], "Transaction.Begin"))
        elif message.kind == UPDATED:
            trigger = body.get("trigger", "MeterValuePeriodic")
            if body.get("remote_start_id") is not None:  # F02: a remote start authorized the transaction
                info["remote_start_id"] = body["remote_start_id"]
            meter_values += [meter_value(s) for s in body.get("samples", [])]
        else:
            reason = body.get("reason", "Other")
            trigger = ENDED_TRIGGER.get(reason, "AbnormalCondition")
            info["stopped_reason"] = STOPPED_REASON.get(reason, "Other")
            meter_values += [meter_value(s) for s in body.get("samples", [])]
            if body.get("meter_wh") is not None:
                meter_values.append(energy_reading(body["timestamp"], body["meter_wh"], "Transaction.End"))
        if body.get("charging_state"):
            info["charging_state"] = body["charging_state"]
        token = body.get("id_token")
        return call.TransactionEvent(
            event_type=EVENT_TYPE[message.kind],
            timestamp=body["timestamp"],
            trigger_reason=trigger,
            seq_no=body["seq_no"],
            transaction_info=info,
            meter_value=meter_values or None,
            offline=True if body.get("offline") else None,
            number_of_phases_used=phases_used(body.get("samples", [])) if message.kind == UPDATED else None,
            reservation_id=body.get("reservation_id") if message.kind == STARTED else None,
            evse={"id": body["evse_id"], "connector_id": body.get("connector_id", 1)} if message.kind == STARTED else None,
            id_token={"id_token": token["value"], "type": token["type"]} if token else None,
        )

    def prepare(self, message: OutboxMessage, request: Any) -> Any:
        return self._adapter.prepare_call(request, message.unique_id)

    async def send(self, message: OutboxMessage, request: Any, apply: Any) -> Any:
        try:
            return await self._adapter.call(request, unique_id=message.unique_id, apply=apply)
        except LinkDown as exc:
            raise LinkLost(str(exc)) from exc
        except (OCPPError, asyncio.TimeoutError) as exc:
            not_taken = isinstance(exc, (OcppNotImplemented, NotSupportedError))
            raise Refused(repr(exc), for_good=message.kind == "security_event" and not_taken) from exc

    def backend_id(self, message: OutboxMessage, answer: Any) -> int | None:
        return None  # OCPP 2.0.1: the station names its transactions

    def delivered(self, message: OutboxMessage, answer: Any) -> None:
        if message.kind not in EVENT_TYPE:
            return
        token = message.body.get("id_token")
        info = getattr(answer, "id_token_info", None)
        if token and info:
            remembered = self._adapter.remember(token["value"], info, token.get("type"))
            if message.kind != ENDED and remembered is not None and remembered.status.value != "Accepted":
                log.warning("TransactionEvent %s: idToken %s", EVENT_TYPE[message.kind], remembered.status.value)
                self._adapter.station.start_refused(message.body["transaction_id"])
        self._adapter.answered_transaction_event(message.body, answer)
