"""The durable outbox in OCPP 1.6: stored messages rendered as StartTransaction (§4.8),
MeterValues (§4.7), StopTransaction (§4.10) and SecurityEventNotification (Security
Whitepaper), sent and confirmed for the neutral pump (agent/backend/outbox.py).

A transaction's MeterValues and StopTransaction name the transactionId the backend gave in
its StartTransaction.conf; one whose start the backend never confirmed cannot be sent and
is dropped. A StartTransaction.conf whose idTagInfo is not Accepted ends or suspends the
transaction (§5.16 StopTransactionOnInvalidId); every idTagInfo goes to the cache (§3.5.2).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.v16 import call

from agent.backend.outbox import ENDED, STARTED, UPDATED, LinkLost, OutboxMessage, Refused
from agent.backend.ports import Sample, sample_from_json
from agent.ocpp16.connection import LinkDown, WireCall


if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)

# agent/core/session.py StopReason values that OCPP 1.6 §7.45 Reason spells as they are; an
# unknown one (another version's) goes as Other.
STOP_REASON = {
    r: r for r in ("Local", "Remote", "EVDisconnected", "DeAuthorized", "PowerLoss", "Reboot", "SoftReset",
                   "HardReset", "UnlockCommand", "EmergencyStop", "Other")
}


def meter_value(sample: Sample | dict[str, Any]) -> dict[str, Any]:
    """A neutral sample → OCPP 1.6 §7.32 MeterValue (values as decimal text, §7.43)."""
    if isinstance(sample, dict):
        sample = sample_from_json(sample)
    return {
        "timestamp": sample.timestamp,
        "sampled_value": [
            {
                "value": f"{round(v.value)}" if v.unit == "Wh" else f"{v.value:.1f}",
                "context": v.context,
                "measurand": v.measurand,
                "unit": v.unit,
                **({"phase": v.phase} if v.phase else {}),
                **({"location": v.location} if v.location else {}),
            }
            for v in sample.values
        ],
    }


def wire_meter_value(sample: dict[str, Any]) -> dict[str, Any]:
    """A stored sample → OCPP 1.6 §7.32 MeterValue as on the wire: ``to_wire`` of
    :func:`meter_value`, built directly (a backlog replay sends thousands)."""
    values = []
    for v in sample.get("values", []):
        unit = v.get("unit", "Wh")
        value = float(v["value"])
        wire = {
            "value": f"{round(value)}" if unit == "Wh" else f"{value:.1f}",
            "context": v.get("context", "Sample.Periodic"),
            "measurand": v.get("measurand", "Energy.Active.Import.Register"),
            "unit": unit,
        }
        if v.get("phase"):
            wire["phase"] = v["phase"]
        if v.get("location"):
            wire["location"] = v["location"]
        values.append(wire)
    return {"timestamp": sample["timestamp"], "sampledValue": values}


class Outbox16:
    """``agent.backend.outbox.OutboxChannel`` for OCPP 1.6."""

    def __init__(self, adapter: Ocpp16Adapter) -> None:
        self._adapter = adapter
        # transaction_id -> the backend's id: bound once and never changed (§4.8), so the
        # MeterValues of a backlog do not each look it up.
        self._backend_ids: dict[str, int] = {}

    def render(self, message: OutboxMessage) -> Any | None:
        body = message.body
        if message.kind == "security_event":  # Security Whitepaper: agent/security/events.py
            return call.SecurityEventNotification(type=body["type"], timestamp=body["timestamp"], tech_info=body["tech_info"])
        if message.kind == STARTED:
            return call.StartTransaction(
                connector_id=body["evse_id"],
                id_tag=body["id_token"]["value"],
                meter_start=body["meter_wh"],
                timestamp=body["timestamp"],
                reservation_id=body.get("reservation_id"),  # §3.12.1: the reservation it used
            )
        backend_id = self._backend_ids.get(body["transaction_id"])
        if backend_id is None:
            transaction = self._adapter.station.transaction(body["transaction_id"])
            if transaction is None or transaction.backend_id is None:
                return None  # its StartTransaction was never confirmed: no transactionId to name
            backend_id = int(transaction.backend_id)
            if len(self._backend_ids) >= 16:
                self._backend_ids.clear()
            self._backend_ids[body["transaction_id"]] = backend_id
        if message.kind == UPDATED and not body.get("samples"):
            return None  # an OCPP 2.0.1 event without meter values (a charging state): nothing in 1.6
        if message.kind == UPDATED:  # the bulk of a backlog: straight to the wire (still validated)
            return WireCall("MeterValues", {  # keys in call.MeterValues' field order, as to_wire writes them
                "connectorId": body["evse_id"],
                "meterValue": [wire_meter_value(s) for s in body["samples"]],
                "transactionId": backend_id,
            })
        return call.StopTransaction(
            meter_stop=body["meter_wh"],
            timestamp=body["timestamp"],
            transaction_id=backend_id,
            reason=STOP_REASON.get(body["reason"], "Other"),
            id_tag=body["id_token"]["value"] if body.get("id_token") else None,
            transaction_data=[meter_value(s) for s in body.get("samples", [])] or None,
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
            # A backend that does not take SecurityEventNotification at all never will.
            raise Refused(repr(exc), for_good=message.kind == "security_event" and not_taken) from exc

    def backend_id(self, message: OutboxMessage, answer: Any) -> int | None:
        return answer.transaction_id if message.kind == STARTED else None

    def delivered(self, message: OutboxMessage, answer: Any) -> None:
        token = message.body.get("id_token")
        if message.kind == STARTED:
            self._adapter.remember(token["value"], answer.id_tag_info)
            status = answer.id_tag_info.get("status")
            if status != "Accepted":
                log.warning("StartTransaction: idTag %s", status)
                self._adapter.station.start_refused(message.body["transaction_id"])
        elif message.kind == ENDED and token and answer.id_tag_info:
            self._adapter.remember(token["value"], answer.id_tag_info)
