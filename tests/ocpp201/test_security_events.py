"""The security events the agent records, as OCPP 2.0.1 names them (Part 2 Appendix 1)."""

from __future__ import annotations

from agent.backend.outbox import OutboxMessage
from agent.ocpp201.mapping import SECURITY_EVENT_TYPE
from agent.ocpp201.outbox import Outbox201
from agent.security.events import SecurityEvent

# Part 2 Appendix 1 "Security Events".
APPENDIX_1 = {
    "FirmwareUpdated", "FailedToAuthenticateAtCsms", "CsmsFailedToAuthenticate", "SettingSystemTime",
    "StartupOfTheDevice", "ResetOrReboot", "SecurityLogWasCleared", "ReconfigurationOfSecurityParameters",
    "MemoryExhaustion", "InvalidMessages", "AttemptedReplayAttacks", "TamperDetectionActivated",
    "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate", "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate", "InvalidTLSVersion", "InvalidTLSCipherSuite", "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
}
OWN_EVENTS = {SecurityEvent.SECURITY_CHECK_DISABLED}  # the list is open to the manufacturer's own


def test_every_event_the_agent_records_has_its_appendix_1_name():
    for event in set(SecurityEvent) - OWN_EVENTS:
        assert SECURITY_EVENT_TYPE.get(event.value, event.value) in APPENDIX_1, event


def test_a_queued_event_goes_out_under_its_2_0_1_name():
    body = {"type": "InvalidCentralSystemCertificate", "timestamp": "2026-01-01T00:00:00Z", "tech_info": "TLS: expired"}
    message = OutboxMessage(seq=1, unique_id="u1", kind="security_event", local_tx_id=None, body=body, attempts=0)
    request = Outbox201(adapter=None).render(message)
    assert (request.type, request.timestamp, request.tech_info) == ("InvalidCsmsCertificate", body["timestamp"], "TLS: expired")
