"""The demo central system's OCPP 2.0.1 side: the ``ocpp`` library's ``ocpp.v201.ChargePoint``
as the CSMS of one connected station, answering every station-to-CSMS request of OCPP 2.0.1
Part 2 as a backend that accepts everything (every idToken, BootNotification Accepted), and
printing one readable line per message, as the 1.6 side does (simulator/csms/demo_csms.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result

if TYPE_CHECKING:
    from simulator.csms.demo_csms import DemoCsms

HEARTBEAT_INTERVAL = 300
ACCEPTED = {"status": "Accepted"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _tx_line(kw: dict[str, Any]) -> str:
    tx = kw.get("transaction_info", {})
    parts = [f"TransactionEvent {kw.get('event_type')} tx={tx.get('transaction_id')}",
             f"seqNo={kw.get('seq_no')}", f"trigger={kw.get('trigger_reason')}"]
    if "evse" in kw:
        parts.append(f"evse={kw['evse'].get('id')}")
    if "id_token" in kw:
        parts.append(f"idToken={kw['id_token'].get('id_token')}")
    if "charging_state" in tx:
        parts.append(f"chargingState={tx['charging_state']}")
    if "stopped_reason" in tx:
        parts.append(f"stoppedReason={tx['stopped_reason']}")
    if kw.get("offline"):
        parts.append("offline")
    parts.extend(_samples(kw.get("meter_value", [])))
    return " ".join(parts)


def _samples(meter_values: list[dict[str, Any]]) -> list[str]:
    found = []
    for mv in meter_values:
        for sv in mv.get("sampled_value", []):
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            unit = sv.get("unit_of_measure", {}).get("unit", "")
            found.append(f"{measurand}={sv.get('value')}{unit}")
    return found


# Each station-to-CSMS action of OCPP 2.0.1: (its readable line, the answer's payload).
_LINE: dict[str, Callable[[dict[str, Any]], str]] = {
    "BootNotification": lambda kw: (f"BootNotification reason={kw['reason']}"
                                    f" vendor={kw['charging_station'].get('vendor_name')}"
                                    f" model={kw['charging_station'].get('model')}"),
    "StatusNotification": lambda kw: (f"StatusNotification evse={kw['evse_id']} connector={kw['connector_id']}"
                                      f" {kw['connector_status']}"),
    "Authorize": lambda kw: f"Authorize idToken={kw['id_token'].get('id_token')} ({kw['id_token'].get('type')})",
    "TransactionEvent": _tx_line,
    "MeterValues": lambda kw: " ".join([f"MeterValues evse={kw['evse_id']}", *_samples(kw["meter_value"])]),
    "NotifyEvent": lambda kw: "NotifyEvent " + ", ".join(
        f"{e.get('component', {}).get('name')}.{e.get('variable', {}).get('name')}={e.get('actual_value')}"
        f" ({e.get('trigger')})" for e in kw.get("event_data", [])),
    "NotifyReport": lambda kw: (f"NotifyReport requestId={kw['request_id']} seqNo={kw['seq_no']}"
                                f" {len(kw.get('report_data', []))} variable(s) tbc={kw.get('tbc', False)}"),
    "SecurityEventNotification": lambda kw: f"SecurityEventNotification {kw['type']}",
    "FirmwareStatusNotification": lambda kw: f"FirmwareStatusNotification {kw['status']}",
    "LogStatusNotification": lambda kw: f"LogStatusNotification {kw['status']}",
    "DataTransfer": lambda kw: f"DataTransfer vendor={kw['vendor_id']} messageId={kw.get('message_id')}",
    "ReservationStatusUpdate": lambda kw: (f"ReservationStatusUpdate reservationId={kw['reservation_id']}"
                                           f" {kw['reservation_update_status']}"),
}

_ANSWER: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Authorize": lambda kw: {"id_token_info": ACCEPTED},
    "TransactionEvent": lambda kw: {"id_token_info": ACCEPTED} if "id_token" in kw else {},
    "DataTransfer": lambda kw: ACCEPTED,
    "SignCertificate": lambda kw: {"status": "Rejected"},  # the demo backend has no CA
    "GetCertificateStatus": lambda kw: {"status": "Failed"},  # nor an OCSP responder
    "Get15118EVCertificate": lambda kw: {"status": "Failed", "exi_response": ""},
    "NotifyEVChargingNeeds": lambda kw: ACCEPTED,
    "NotifyEVChargingSchedule": lambda kw: ACCEPTED,
}

# OCPP 2.0.1 Part 2: every request a charging station sends to the CSMS.
STATION_ACTIONS = (
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer", "FirmwareStatusNotification",
    "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues",
    "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles", "ReservationStatusUpdate",
    "SecurityEventNotification", "SignCertificate", "StatusNotification", "TransactionEvent",
)


class DemoChargingStation201(ChargePoint):
    """Server-side view of one connected OCPP 2.0.1 charging station."""

    def __init__(self, cs_id: str, ws, csms: DemoCsms):
        super().__init__(cs_id, ws)
        self.csms = csms

    def answer(self, action: str, kw: dict[str, Any]) -> Any:
        line = _LINE.get(action)
        self.csms.log(f"CSMS <- {self.id} {line(kw) if line else action}")
        payload = _ANSWER.get(action, lambda _kw: {})(kw)
        if action == "BootNotification":
            payload = {"current_time": _now(), "interval": HEARTBEAT_INTERVAL, "status": "Accepted"}
        elif action == "Heartbeat":
            payload = {"current_time": _now()}
        return getattr(call_result, action)(**payload)


def _handler(action: str):
    def handle(self: DemoChargingStation201, **kw: Any) -> Any:
        return self.answer(action, kw)

    handle.__name__ = f"on_{action}"
    return on(action)(handle)


for _action in STATION_ACTIONS:
    setattr(DemoChargingStation201, f"on_{_action}", _handler(_action))
