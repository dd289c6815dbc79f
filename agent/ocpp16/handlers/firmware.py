"""OCPP 1.6 Firmware Management (§3.11): UpdateFirmware (§5.19), GetDiagnostics (§5.9), and the
Security Whitepaper's SignedUpdateFirmware and GetLog.

The work is the neutral firmware updater and diagnostics collector
(agent/backend/services.py FirmwarePort / DiagnosticsPort); here a request is checked in
``@on`` (a location the agent cannot use gets a CALLERROR naming it, or Rejected) and the
work started from ``@after``, so no status notification can overtake the answer. The
notifications themselves are sent by the report queue (agent/ocpp16/reports.py).

- UpdateFirmware carries no signature: CALLERROR NotSupported (Security Whitepaper
  L01.FR.20) unless the operator allows unsigned updates (``[firmware] allow_unsigned``).
- SignedUpdateFirmware: the signing certificate must chain to a manufacturer root of the
  installation and be valid now, else InvalidCertificate and the security event
  InvalidFirmwareSigningCertificate; replacing an update still to download or install is
  AcceptedCanceled. The signature is checked after the download.
- GetLog: DiagnosticsLog (the GetDiagnostics archive) or SecurityLog, named in the answer;
  AcceptedCanceled when it replaces an upload under way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import GenericError, OCPPError, PropertyConstraintViolationError
from ocpp.exceptions import NotImplementedError as RecognisedButNotSupported
from ocpp.routing import after, on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, Log, LogStatus, UpdateFirmwareStatus

from agent.backend.services import (
    DiagnosticsRequest,
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
from agent.ocpp16.times import parse_time

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)


class FirmwareHandlers:
    def __init__(self, adapter: Ocpp16Adapter) -> None:
        self.services = adapter.services
        # Accepted requests by message id, started from @after.
        self._diagnostics: dict[str, DiagnosticsRequest] = {}
        self._signed: dict[str, tuple[str, Any, int | None, int | None, Signed]] = {}
        self._logs: dict[str, DiagnosticsRequest] = {}

    # §5.19 UpdateFirmware
    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                           retry_interval: int | None = None) -> Any:
        updater = self.services.firmware
        if updater is None:
            raise GenericError(description="firmware updates are not set up on this charge point")
        if not updater.allow_unsigned:
            # Security Whitepaper L01.FR.20: CALLERROR NotSupported. The library calls a recognised
            # but unsupported action NotImplemented; agent/ocppj/wire.py puts the OCPP-J 1.6
            # §4.2.3 name, NotSupported, on the wire.
            log.warning("UpdateFirmware from %s refused: unsigned firmware ([firmware] allow_unsigned = false)", redact_url(location))
            raise RecognisedButNotSupported(description="unsigned firmware updates are refused: use SignedUpdateFirmware")
        parse_time(retrieve_date, "retrieveDate")
        try:
            updater.check(location)
        except UnsupportedLocation as exc:
            raise PropertyConstraintViolationError(description=f"location: {exc}") from None
        except FirmwareBusy as exc:
            raise GenericError(description=str(exc)) from None
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    def after_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                              retry_interval: int | None = None) -> None:
        updater = self.services.firmware
        if updater is None:
            return
        try:
            updater.update(location, parse_time(retrieve_date, "retrieveDate"), retries, retry_interval)
        except (UnsupportedLocation, FirmwareBusy, UnsignedRefused, OCPPError) as exc:  # checked in @on (or refused there)
            log.warning("UpdateFirmware: not started: %s", exc)

    # §5.9 GetDiagnostics
    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, retries: int | None = None, retry_interval: int | None = None,
                           start_time: str | None = None, stop_time: str | None = None, call_unique_id: str = "") -> Any:
        collector = self.services.diagnostics
        if collector is None:
            return call_result.GetDiagnostics()  # §5.9: no file name when no diagnostics are available
        start = parse_time(start_time, "startTime") if start_time else None
        stop = parse_time(stop_time, "stopTime") if stop_time else None
        try:
            request = collector.request(location, start, stop, retries, retry_interval)
        except UnsupportedLocation as exc:
            raise PropertyConstraintViolationError(description=f"location: {exc}") from None
        self._diagnostics[call_unique_id] = request
        return call_result.GetDiagnostics(file_name=request.file_name)

    @after(Action.get_diagnostics)
    def after_get_diagnostics(self, call_unique_id: str = "", **_: Any) -> None:
        request = self._diagnostics.pop(call_unique_id, None)
        if request is not None and self.services.diagnostics is not None:
            self.services.diagnostics.start(request)

    # Security Whitepaper: SignedUpdateFirmware.req
    @on(Action.signed_update_firmware)
    def on_signed_update_firmware(self, request_id: int, firmware: dict[str, Any], retries: int | None = None,
                                  retry_interval: int | None = None, call_unique_id: str = "") -> Any:
        updater = self.services.firmware
        if updater is None:
            log.warning("SignedUpdateFirmware: firmware updates are not set up on this charge point")
            return call_result.SignedUpdateFirmware(status=UpdateFirmwareStatus.rejected)
        retrieve_at = parse_time(firmware["retrieve_date_time"], "retrieveDateTime")
        install_at = parse_time(firmware["install_date_time"], "installDateTime") if firmware.get("install_date_time") else None
        try:
            check_signing_certificate(
                firmware["signing_certificate"],
                self.services.security.certificates.roots(RootKind.MANUFACTURER),
                self.services.clock.now(),
            )
        except FirmwareSignatureError as exc:
            log.warning("SignedUpdateFirmware %d: %s", request_id, exc)
            self.services.security_events.record(SecurityEvent.INVALID_FIRMWARE_SIGNING_CERTIFICATE, str(exc))
            return call_result.SignedUpdateFirmware(status=UpdateFirmwareStatus.invalid_certificate)
        try:
            updater.check(firmware["location"])
        except (UnsupportedLocation, FirmwareBusy) as exc:
            log.warning("SignedUpdateFirmware %d rejected: %s", request_id, exc)
            return call_result.SignedUpdateFirmware(status=UpdateFirmwareStatus.rejected)
        signed = Signed(request_id, firmware["signing_certificate"], firmware["signature"], install_at)
        self._signed[call_unique_id] = (firmware["location"], retrieve_at, retries, retry_interval, signed)
        replaces = updater.pending()
        return call_result.SignedUpdateFirmware(
            status=UpdateFirmwareStatus.accepted_canceled if replaces else UpdateFirmwareStatus.accepted
        )

    @after(Action.signed_update_firmware)
    def after_signed_update_firmware(self, call_unique_id: str = "", **_: Any) -> None:
        accepted = self._signed.pop(call_unique_id, None)
        if accepted is None or self.services.firmware is None:
            return
        location, retrieve_at, retries, retry_interval, signed = accepted
        try:
            self.services.firmware.update(location, retrieve_at, retries, retry_interval, signed)
        except (UnsupportedLocation, FirmwareBusy) as exc:  # checked in @on; changed since
            log.warning("SignedUpdateFirmware %d: not started: %s", signed.request_id, exc)

    # Security Whitepaper: GetLog.req (``log`` is the request's field, not the logger)
    @on(Action.get_log)
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, retries: int | None = None,
                   retry_interval: int | None = None, call_unique_id: str = "") -> Any:
        collector = self.services.diagnostics
        if collector is None:
            return call_result.GetLog(status=LogStatus.rejected)
        oldest, latest = log.get("oldest_timestamp"), log.get("latest_timestamp")
        try:
            request = collector.request(
                log["remote_location"],
                parse_time(oldest, "oldestTimestamp") if oldest else None,
                parse_time(latest, "latestTimestamp") if latest else None,
                retries,
                retry_interval,
                security_log=log_type == Log.security_log,
                request_id=request_id,
            )
        except UnsupportedLocation as exc:
            logging.getLogger(__name__).warning("GetLog %d rejected: %s", request_id, exc)
            return call_result.GetLog(status=LogStatus.rejected)
        self._logs[call_unique_id] = request
        status = LogStatus.accepted_canceled if collector.busy else LogStatus.accepted
        return call_result.GetLog(status=status, filename=request.file_name)

    @after(Action.get_log)
    def after_get_log(self, call_unique_id: str = "", **_: Any) -> None:
        request = self._logs.pop(call_unique_id, None)
        if request is not None and self.services.diagnostics is not None:
            self.services.diagnostics.start(request)
