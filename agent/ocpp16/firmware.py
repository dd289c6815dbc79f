"""OCPP 1.6 Firmware Management profile (§3.11): UpdateFirmware (§5.19), GetDiagnostics (§5.9),
and the FirmwareStatusNotification (§4.5) / DiagnosticsStatusNotification (§4.4) they cause.

The work itself is version-neutral (``agent/maintenance/firmware.py``, ``agent/maintenance/diagnostics.py``); this
module checks the request in ``@on`` (a location the agent cannot use gets a CALLERROR
naming it), starts the work from ``@after`` (so no notification can overtake the answer),
and sends the neutral status reports as 1.6 notifications (``report_sender``).

UpdateFirmware carries no signature: nothing vouches for what it installs. Security
Whitepaper L01.FR.20: a charge point that supports the signed update answers it with the
CALLERROR NotSupported, which this agent does unless the operator set ``[firmware]
allow_unsigned = true`` (then it works as OCPP 1.6 §5.19 says, and every start records a
security event saying so).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ocpp.exceptions import GenericError, OCPPError, PropertyConstraintViolationError
from ocpp.exceptions import NotImplementedError as RecognisedButNotSupported
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from agent.maintenance.diagnostics import DiagnosticsRequest, DiagnosticsStatus, LogReport
from agent.maintenance.firmware import FirmwareBusy, FirmwareStatus, SignedReport, UnsignedRefused
from agent.maintenance.transfer import UnsupportedLocation, redact_url

log = logging.getLogger(__name__)


class FirmwareManagementHandlers:
    """Mixin for ChargePoint16 (needs ``self.backend`` with ``firmware`` and ``diagnostics``)."""

    # §5.19 UpdateFirmware
    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None, retry_interval: int | None = None):
        updater = self.backend.firmware
        if updater is None:
            raise GenericError(description="firmware updates are not set up on this charge point")
        if not updater.allow_unsigned:
            # Security Whitepaper L01.FR.20: CALLERROR NotSupported. The library calls a recognised
            # but unsupported action NotImplemented; agent/ocpp16/wire.py puts the OCPP-J 1.6
            # §4.2.3 name, NotSupported, on the wire.
            log.warning("UpdateFirmware from %s refused: unsigned firmware ([firmware] allow_unsigned = false)", redact_url(location))
            raise RecognisedButNotSupported(description="unsigned firmware updates are refused: use SignedUpdateFirmware")
        _parse_time(retrieve_date, "retrieveDate")
        try:
            updater.check(location)
        except UnsupportedLocation as exc:
            raise PropertyConstraintViolationError(description=f"location: {exc}") from None
        except FirmwareBusy as exc:
            raise GenericError(description=str(exc)) from None
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    def after_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None, retry_interval: int | None = None):
        try:
            self.backend.firmware.update(location, _parse_time(retrieve_date, "retrieveDate"), retries, retry_interval)
        except (UnsupportedLocation, FirmwareBusy, UnsignedRefused, OCPPError) as exc:  # checked in @on (or refused there)
            log.warning("UpdateFirmware: not started: %s", exc)

    # §5.9 GetDiagnostics
    @on(Action.get_diagnostics)
    def on_get_diagnostics(
        self,
        location: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        start_time: str | None = None,
        stop_time: str | None = None,
        call_unique_id: str = "",
    ):
        collector = self.backend.diagnostics
        if collector is None:
            return call_result.GetDiagnostics()  # §5.9: no file name when no diagnostics are available
        start = _parse_time(start_time, "startTime") if start_time else None
        stop = _parse_time(stop_time, "stopTime") if stop_time else None
        try:
            request = collector.request(location, start, stop, retries, retry_interval)
        except UnsupportedLocation as exc:
            raise PropertyConstraintViolationError(description=f"location: {exc}") from None
        self._diagnostics_requests()[call_unique_id] = request
        return call_result.GetDiagnostics(file_name=request.file_name)

    @after(Action.get_diagnostics)
    def after_get_diagnostics(self, call_unique_id: str = "", **_):
        request: DiagnosticsRequest | None = self._diagnostics_requests().pop(call_unique_id, None)
        if request is not None:
            self.backend.diagnostics.start(request)

    def _diagnostics_requests(self) -> dict[str, DiagnosticsRequest]:
        if not hasattr(self, "_pending_diagnostics"):
            self._pending_diagnostics: dict[str, DiagnosticsRequest] = {}
        return self._pending_diagnostics

    # §4.4 / §4.5 for TriggerMessage (§5.17): Idle unless an upload / update is under way.
    def diagnostics_status(self) -> str:
        collector = self.backend.diagnostics
        if collector is None or collector.request_id is not None:  # nothing, or a GetLog upload
            return DiagnosticsStatus.IDLE.value
        return collector.status.value

    def firmware_status(self) -> str:
        updater = self.backend.firmware
        status = updater.status if updater is not None else FirmwareStatus.IDLE
        return CORE_FIRMWARE_STATUS.get(status, status).value


# A signed update's whitepaper statuses, as the nearest §7.25 FirmwareStatus of 1.6 itself.
CORE_FIRMWARE_STATUS = {
    FirmwareStatus.DOWNLOAD_SCHEDULED: FirmwareStatus.IDLE,
    FirmwareStatus.SIGNATURE_VERIFIED: FirmwareStatus.DOWNLOADED,
    FirmwareStatus.INSTALL_SCHEDULED: FirmwareStatus.DOWNLOADED,
    FirmwareStatus.INVALID_SIGNATURE: FirmwareStatus.INSTALLATION_FAILED,
}


def report_sender(backend) -> Callable[[Any], Awaitable[bool]]:
    """Neutral status reports → §4.4 / §4.5 notifications, for ``agent.backend.reports.ReportQueue``;
    those of a signed update or a GetLog → the Security Whitepaper's
    SignedFirmwareStatusNotification / LogStatusNotification with their requestId."""
    from agent.ocpp16.adapter import LinkDown  # the adapter imports the handlers, which import this
    from agent.ocpp16.signed_firmware import UPLOAD_LOG_STATUS, remember_signed_firmware_status

    async def send(report: FirmwareStatus | DiagnosticsStatus | SignedReport | LogReport) -> bool:
        if isinstance(report, SignedReport):
            payload = call.SignedFirmwareStatusNotification(status=report.status.value, request_id=report.request_id)
        elif isinstance(report, LogReport):
            status = report.refusal.value if report.refusal is not None else UPLOAD_LOG_STATUS[report.status].value
            payload = call.LogStatusNotification(status=status, request_id=report.request_id)
        elif isinstance(report, FirmwareStatus):
            payload = call.FirmwareStatusNotification(status=report.value)
        else:
            payload = call.DiagnosticsStatusNotification(status=report.value)
        if not backend.online:
            return False
        if isinstance(report, SignedReport):  # what ExtendedTriggerMessage reports from now on (L01.FR.29)
            remember_signed_firmware_status(backend.store, payload.status, payload.request_id)
        try:
            await backend.call(payload)
        except (LinkDown, asyncio.TimeoutError):
            return False
        except OCPPError as exc:
            log.warning("%s %s: refused by the backend: %s", type(payload).__name__, payload.status, exc)
        return True

    return send


def _parse_time(text: str, field: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise PropertyConstraintViolationError(description=f"{field}: {text!r} is not a date and time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
