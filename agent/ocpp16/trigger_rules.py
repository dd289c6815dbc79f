"""What OCPP 1.6 TriggerMessage (§5.17) and the Security Whitepaper's ExtendedTriggerMessage
(§5.5) can trigger; the decision itself is agent/core/trigger_rules.py."""

from __future__ import annotations

from agent.core.trigger_rules import Answer, Decision, FollowUp, FollowUpQueue, Scope, decide

__all__ = ["EXTENDED_TRIGGER_MESSAGE", "TRIGGER_MESSAGE", "Answer", "Decision", "FollowUp", "FollowUpQueue", "decide"]

# requestedMessage → (the message sent, its scope)
TRIGGER_MESSAGE = {  # OCPP 1.6 §7.41 MessageTrigger
    "BootNotification": ("BootNotification", Scope.STATION),
    "DiagnosticsStatusNotification": ("DiagnosticsStatusNotification", Scope.STATION),
    "FirmwareStatusNotification": ("FirmwareStatusNotification", Scope.STATION),
    "Heartbeat": ("Heartbeat", Scope.STATION),
    "MeterValues": ("MeterValues", Scope.CONNECTORS),
    "StatusNotification": ("StatusNotification", Scope.CONNECTORS_AND_ZERO),
}
EXTENDED_TRIGGER_MESSAGE = {  # Security Whitepaper MessageTriggerEnumType
    "BootNotification": ("BootNotification", Scope.STATION),
    "FirmwareStatusNotification": ("SignedFirmwareStatusNotification", Scope.STATION),  # L01.FR.28/29
    "Heartbeat": ("Heartbeat", Scope.STATION),
    "LogStatusNotification": ("LogStatusNotification", Scope.STATION),
    "MeterValues": ("MeterValues", Scope.CONNECTORS),
    "SignChargePointCertificate": ("SignCertificate", Scope.STATION),
    "StatusNotification": ("StatusNotification", Scope.CONNECTORS_AND_ZERO),
}


