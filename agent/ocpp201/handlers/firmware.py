"""Functional block L (Firmware management): UpdateFirmware, signed (L01) and, only where the
operator allows unsigned firmware (``[firmware] allow_unsigned``), without a signature (L02).

The work is the neutral firmware updater (agent/maintenance/firmware.py, ``FirmwarePort``): the
request is checked in ``@on`` and the update started from ``@after``, so no
FirmwareStatusNotification overtakes the answer; the notifications, each with the update's
requestId (L01.FR.10/20), are sent by the report queue (``Ocpp201Adapter.send_report``).

- L01.FR.21/22: the signing certificate must chain to a manufacturer root of the installation
  and be valid now, else InvalidCertificate and the security event
  InvalidFirmwareSigningCertificate (L01.FR.02).
- No signing certificate or no signature: Rejected unless unsigned firmware is allowed (a
  station that does secure updates takes no other, TC_L_18); an allowed unsigned one (L02) is
  installed as soon as it can be (its installDateTime is not kept).
- L01.FR.24: a new request cancels an update still to be downloaded or installed:
  AcceptedCanceled. L01.FR.27: one that is installing cannot be cancelled: Rejected.
- The signature is checked after the download (InvalidSignature, L01.FR.03).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import FormatViolationError
from ocpp.routing import after, on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from agent.backend.services import (
    FirmwareBusy,
    FirmwareSignatureError,
    RootKind,
    SecurityEvent,
    Signed,
    UnsignedRefused,
    UnsupportedLocation,
    check_signing_certificate,
    redact_url,
)

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)


class FirmwareHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.services = adapter.services
        # Accepted requests by message id, started from @after: (location, retrieve at, retries,
        # retry interval, signed or None, request id).
        self._accepted: dict[str, tuple[str, dt.datetime, int | None, int | None, Signed | None, int]] = {}

    @on(Action.update_firmware)
    def on_update_firmware(self, request_id: int, firmware: dict[str, Any], retries: int | None = None,
                           retry_interval: int | None = None, call_unique_id: str = "", **_: Any) -> Any:
        updater = self.services.firmware
        if updater is None:
            log.warning("UpdateFirmware %d: firmware updates are not set up on this station", request_id)
            return _answer("Rejected", "NotSupported")
        location = firmware["location"]
        retrieve_at = _when(firmware["retrieve_date_time"], "retrieveDateTime")
        install_at = _when(firmware["install_date_time"], "installDateTime") if firmware.get("install_date_time") else None
        certificate, signature = firmware.get("signing_certificate"), firmware.get("signature")
        signed: Signed | None = None
        if certificate is None or signature is None:
            if not updater.allow_unsigned:
                log.warning("UpdateFirmware %d from %s refused: no signature ([firmware] allow_unsigned = false)",
                            request_id, redact_url(location))
                return _answer("Rejected", "UnsignedFirmware")
        else:
            try:  # L01.FR.21/22
                check_signing_certificate(certificate, self.services.security.certificates.roots(RootKind.MANUFACTURER),
                                          self.services.clock.now())
            except FirmwareSignatureError as exc:
                log.warning("UpdateFirmware %d: %s", request_id, exc)
                self.services.security_events.record(SecurityEvent.INVALID_FIRMWARE_SIGNING_CERTIFICATE, str(exc))
                return call_result.UpdateFirmware(status="InvalidCertificate")
            signed = Signed(request_id, certificate, signature, install_at)
        try:
            updater.check(location)
        except UnsupportedLocation as exc:
            log.warning("UpdateFirmware %d rejected: %s", request_id, exc)
            return _answer("Rejected", "InvalidURL")
        except FirmwareBusy as exc:  # L01.FR.27: an installation under way is not cancelled
            log.warning("UpdateFirmware %d rejected: %s", request_id, exc)
            return _answer("Rejected", "InstallationOngoing")
        self._accepted[call_unique_id] = (location, retrieve_at, retries, retry_interval, signed, request_id)
        return call_result.UpdateFirmware(status="AcceptedCanceled" if updater.pending() else "Accepted")

    @after(Action.update_firmware)
    def after_update_firmware(self, call_unique_id: str = "", **_: Any) -> None:
        accepted = self._accepted.pop(call_unique_id, None)
        if accepted is None or self.services.firmware is None:
            return
        location, retrieve_at, retries, retry_interval, signed, request_id = accepted
        try:
            self.services.firmware.update(location, retrieve_at, retries, retry_interval, signed,
                                          request_id=request_id if signed is None else None)
        except (UnsupportedLocation, FirmwareBusy, UnsignedRefused) as exc:  # checked in @on; changed since
            log.warning("UpdateFirmware %d: not started: %s", request_id, exc)


def _answer(status: str, reason: str) -> Any:
    return call_result.UpdateFirmware(status=status, status_info={"reason_code": reason})


def _when(text: str, field: str) -> dt.datetime:
    """An RFC 3339 date-time of the request (Part 2 dateTime); a bare one is taken as UTC."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise FormatViolationError(description=f"{field}: {text!r} is not a date and time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
