"""The neutral core's words in OCPP 2.0.1 (Part 2, the message and data type definitions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agent.backend.ports import AuthorizationStatus, IdTagInfo, Sample, sample_from_json
from agent.backend.services import DiagnosticsStatus
from agent.core.session import ConnectorStatus, StopReason

# §3.22 ConnectorStatusEnumType: 2.0.1 knows five; the session's finer states are Occupied.
CONNECTOR_STATUS = {
    ConnectorStatus.AVAILABLE: "Available",
    ConnectorStatus.PREPARING: "Occupied",
    ConnectorStatus.CHARGING: "Occupied",
    ConnectorStatus.SUSPENDED_EV: "Occupied",
    ConnectorStatus.SUSPENDED_EVSE: "Occupied",
    ConnectorStatus.FINISHING: "Occupied",
    ConnectorStatus.RESERVED: "Reserved",
    ConnectorStatus.UNAVAILABLE: "Unavailable",
    ConnectorStatus.FAULTED: "Faulted",
}

# §3.16 ChargingStateEnumType, from the session's status while a transaction runs.
CHARGING_STATE = {
    ConnectorStatus.CHARGING: "Charging",
    ConnectorStatus.SUSPENDED_EV: "SuspendedEV",
    ConnectorStatus.SUSPENDED_EVSE: "SuspendedEVSE",
    ConnectorStatus.PREPARING: "EVConnected",
    ConnectorStatus.FINISHING: "EVConnected",
}

# §3.67 ReasonEnumType (stoppedReason) for the neutral StopReason.
STOPPED_REASON = {
    StopReason.LOCAL.value: "Local",
    StopReason.REMOTE.value: "Remote",
    StopReason.EV_DISCONNECTED.value: "EVDisconnected",
    StopReason.DEAUTHORIZED.value: "DeAuthorized",
    StopReason.POWER_LOSS.value: "PowerLoss",
    StopReason.REBOOT.value: "Reboot",
    StopReason.SOFT_RESET.value: "ImmediateReset",
    StopReason.HARD_RESET.value: "ImmediateReset",
    StopReason.UNLOCK_COMMAND.value: "Other",
    StopReason.EMERGENCY_STOP.value: "EmergencyStop",
    StopReason.OTHER.value: "Other",
    StopReason.TIMEOUT.value: "Timeout",
    StopReason.STOPPED_BY_EV.value: "StoppedByEV",
}

# §3.84 TriggerReasonEnumType of an Ended event, from why the transaction ended.
ENDED_TRIGGER = {
    StopReason.LOCAL.value: "StopAuthorized",
    StopReason.REMOTE.value: "RemoteStop",
    StopReason.EV_DISCONNECTED.value: "EVCommunicationLost",
    StopReason.DEAUTHORIZED.value: "Deauthorized",
    StopReason.POWER_LOSS.value: "AbnormalCondition",
    StopReason.REBOOT.value: "ResetCommand",
    StopReason.SOFT_RESET.value: "ResetCommand",
    StopReason.HARD_RESET.value: "ResetCommand",
    StopReason.UNLOCK_COMMAND.value: "UnlockCommand",
    StopReason.EMERGENCY_STOP.value: "AbnormalCondition",
    StopReason.OTHER.value: "AbnormalCondition",
    StopReason.TIMEOUT.value: "EVConnectTimeout",
    StopReason.STOPPED_BY_EV.value: "ChargingStateChanged",
}

# §3.71 UploadLogStatusEnumType for the neutral upload statuses.
UPLOAD_LOG_STATUS = {
    DiagnosticsStatus.IDLE: "Idle",
    DiagnosticsStatus.UPLOADING: "Uploading",
    DiagnosticsStatus.UPLOADED: "Uploaded",
    DiagnosticsStatus.UPLOAD_FAILED: "UploadFailure",
}

# Part 2 Appendix 1 "Security Events": the neutral events (agent/security/events.py, named as in
# the OCPP 1.6 Security Whitepaper) whose 2.0.1 name differs; the others keep theirs.
SECURITY_EVENT_TYPE = {
    "FailedToAuthenticateAtCentralSystem": "FailedToAuthenticateAtCsms",
    "InvalidCentralSystemCertificate": "InvalidCsmsCertificate",
    "InvalidChargePointCertificate": "InvalidChargingStationCertificate",
}

_STATUS = {s.value: s for s in AuthorizationStatus}


def id_token(value: str, token_type: str) -> dict[str, Any]:
    """§2.28 IdTokenType, as the library's handlers take it (snake_case)."""
    return {"id_token": value, "type": token_type}


def id_token_info(wire: dict[str, Any]) -> IdTagInfo:
    """§2.29 IdTokenInfoType (snake_case) → neutral; ValueError if malformed."""
    status = _STATUS[wire["status"]]
    expiry = None
    if wire.get("cache_expiry_date_time"):
        expiry = dt.datetime.fromisoformat(wire["cache_expiry_date_time"].replace("Z", "+00:00"))
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=dt.timezone.utc)
    group = (wire.get("group_id_token") or {}).get("id_token")
    return IdTagInfo(status, expiry, group)


def meter_value(sample: Sample | dict[str, Any], context: str | None = None) -> dict[str, Any]:
    """A neutral sample → §2.33 MeterValueType (values are numbers in 2.0.1)."""
    if isinstance(sample, dict):
        sample = sample_from_json(sample)
    return {
        "timestamp": sample.timestamp,
        "sampled_value": [
            {
                "value": round(v.value) if v.unit == "Wh" else v.value,
                "context": context or v.context,
                "measurand": v.measurand,
                **({"phase": v.phase} if v.phase else {}),
                **({"location": v.location} if v.location else {}),
                "unit_of_measure": {"unit": v.unit},
            }
            for v in sample.values
        ],
    }


# Below this a phase's Current.Import is no charging on it (measurement noise, the EV's standby).
PHASE_IN_USE_A = 1.0


def phases_used(samples: list[dict[str, Any]]) -> int | None:
    """TransactionEventRequest numberOfPhasesUsed: the phases whose sampled Current.Import shows the
    EV drawing; None when the samples carry no per-phase current (the station cannot tell)."""
    phases: dict[str, bool] = {}
    for sample in samples:
        for value in sample.get("values", []):
            if value.get("measurand") == "Current.Import" and value.get("phase"):
                phase = value["phase"][:2]  # L1, L2, L3
                phases[phase] = phases.get(phase, False) or float(value["value"]) >= PHASE_IN_USE_A
    used = sum(phases.values())
    return used or None


def energy_reading(timestamp: str, wh: int, context: str) -> dict[str, Any]:
    """The meter register at the start or the end of a transaction (§2.33, Energy.Active.Import.Register)."""
    return {
        "timestamp": timestamp,
        "sampled_value": [{"value": wh, "context": context, "measurand": "Energy.Active.Import.Register",
                           "unit_of_measure": {"unit": "Wh"}}],
    }
