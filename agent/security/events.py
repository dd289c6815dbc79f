"""Security events: recorded durably and delivered to the backend like transaction messages.

OCPP 1.6 Security Whitepaper (ed. 3) §4 / Appendix 1: the charge point reports security
events with SecurityEventNotification; critical ones must reach the Central System, so they
go through the same durable outbox (agent/persistence/store.py) as transaction messages, in order,
after a reconnect or a restart.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from agent.station.clock import Clock
from agent.persistence.store import StorageError, Store

log = logging.getLogger(__name__)

TECH_INFO_MAX = 255  # CiString255Type


class SecurityEvent(str, enum.Enum):
    """The event types of the whitepaper's Appendix 1 this agent raises."""

    FAILED_TO_AUTHENTICATE_AT_CENTRAL_SYSTEM = "FailedToAuthenticateAtCentralSystem"
    SETTING_SYSTEM_TIME = "SettingSystemTime"
    STARTUP_OF_THE_DEVICE = "StartupOfTheDevice"
    RESET_OR_REBOOT = "ResetOrReboot"
    RECONFIGURATION_OF_SECURITY_PARAMETERS = "ReconfigurationOfSecurityParameters"
    INVALID_CENTRAL_SYSTEM_CERTIFICATE = "InvalidCentralSystemCertificate"
    INVALID_CHARGE_POINT_CERTIFICATE = "InvalidChargePointCertificate"
    INVALID_TLS_VERSION = "InvalidTLSVersion"
    INVALID_TLS_CIPHER_SUITE = "InvalidTLSCipherSuite"  # A00.FR.322
    # "Messages that are not valid OCPP messages": a backend time the clock refuses (agent/station/clock.py).
    INVALID_MESSAGES = "InvalidMessages"
    # Secure firmware update (agent/maintenance/firmware.py, agent/ocpp16/signed_firmware.py).
    FIRMWARE_UPDATED = "FirmwareUpdated"
    INVALID_FIRMWARE_SIGNATURE = "InvalidFirmwareSignature"
    INVALID_FIRMWARE_SIGNING_CERTIFICATE = "InvalidFirmwareSigningCertificate"
    # Not in Appendix 1 (the list is open to the manufacturer's own): a local setting that turns
    # a security check off, at every start while it is set (agent/ocpp16/security.py).
    SECURITY_CHECK_DISABLED = "SecurityCheckDisabled"


class SecurityEvents:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # Told after each event is queued (the backend adapter's outbox wake-up).
        self.queued: Callable[[], None] = lambda: None

    def record(self, event: SecurityEvent, tech_info: str | None = None) -> None:
        info = tech_info[:TECH_INFO_MAX] if tech_info else None
        log.warning("security event %s%s", event.value, f": {info}" if info else "")
        try:
            self._store.queue_security_event({"type": event.value, "timestamp": self._clock.iso(), "tech_info": info})
        except StorageError as exc:  # reported in the log only; nothing else stops for it
            log.error("security event %s not queued: %s", event.value, exc)
            return
        self.queued()
