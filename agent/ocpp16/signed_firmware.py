"""OCPP 1.6 Security Whitepaper (ed. 3) firmware and log messages: SignedUpdateFirmware /
SignedFirmwareStatusNotification (secure firmware update) and GetLog / LogStatusNotification.

The work is the version-neutral firmware updater and diagnostics collector
(``agent/maintenance/firmware.py``, ``agent/maintenance/diagnostics.py``) that UpdateFirmware and GetDiagnostics use
(``agent/ocpp16/firmware.py``). Here the requests are checked in ``@on`` and started from
``@after`` (no notification can overtake the answer):

- SignedUpdateFirmware: the signing certificate must chain to an installed
  ManufacturerRootCertificate and be valid now, else InvalidCertificate and the security
  event InvalidFirmwareSigningCertificate; a location the agent cannot download from, or an
  installation under way, is Rejected; replacing an update still to download or install is
  AcceptedCanceled. The signature is checked after the download (agent/maintenance/firmware.py).
- GetLog: DiagnosticsLog (the GetDiagnostics archive) or SecurityLog (agent/security/security_log.py),
  named in the answer; AcceptedCanceled when it replaces an upload under way; a location the
  agent cannot use is Rejected. LogStatusNotification: Uploading, then Uploaded, or
  PermissionDenied / NotSupportedOperation / BadMessage when the server said why it refused
  the upload (agent/maintenance/transfer.py), else UploadFailure.

For ExtendedTriggerMessage (``agent/ocpp16/triggers.py``), ``log_status_notification()``
builds LogStatusNotification with the current upload status (and its requestId while one is
under way), and ``signed_firmware_status_notification()`` SignedFirmwareStatusNotification
with the status last sent (L01.FR.28/29).
"""

from __future__ import annotations

import json
import logging

from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, Log, LogStatus, UpdateFirmwareStatus, UploadLogStatus

from agent.security.certificates import RootKind
from agent.maintenance.diagnostics import DiagnosticsRequest, DiagnosticsStatus
from agent.maintenance.firmware import FirmwareBusy, FirmwareStatus, Signed
from agent.security.firmware_signature import FirmwareSignatureError, check_signing_certificate
from agent.ocpp16.firmware import _parse_time
from agent.security.events import SecurityEvent
from agent.persistence.store import StorageError
from agent.maintenance.transfer import UnsupportedLocation

log = logging.getLogger(__name__)

# Security Whitepaper UploadLogStatusEnumType for the neutral upload statuses.
UPLOAD_LOG_STATUS = {
    DiagnosticsStatus.IDLE: UploadLogStatus.idle,
    DiagnosticsStatus.UPLOADING: UploadLogStatus.uploading,
    DiagnosticsStatus.UPLOADED: UploadLogStatus.uploaded,
    DiagnosticsStatus.UPLOAD_FAILED: UploadLogStatus.upload_failure,
}


class SignedFirmwareHandlers:
    """Mixin for ChargePoint16 (needs ``self.backend`` with ``firmware``, ``diagnostics``,
    ``security`` (its certificate store) and ``security_events``)."""

    # SignedUpdateFirmware.req
    @on(Action.signed_update_firmware)
    def on_signed_update_firmware(
        self, request_id: int, firmware: dict, retries: int | None = None, retry_interval: int | None = None, call_unique_id: str = ""
    ):
        updater = self.backend.firmware
        if updater is None:
            log.warning("SignedUpdateFirmware: firmware updates are not set up on this charge point")
            return call_result.SignedUpdateFirmware(status=UpdateFirmwareStatus.rejected)
        retrieve_at = _parse_time(firmware["retrieve_date_time"], "retrieveDateTime")
        install_at = _parse_time(firmware["install_date_time"], "installDateTime") if firmware.get("install_date_time") else None
        try:
            check_signing_certificate(
                firmware["signing_certificate"],
                self.backend.security.certificates.roots(RootKind.MANUFACTURER),
                self.backend.clock.now(),
            )
        except FirmwareSignatureError as exc:
            log.warning("SignedUpdateFirmware %d: %s", request_id, exc)
            self.backend.security_events.record(SecurityEvent.INVALID_FIRMWARE_SIGNING_CERTIFICATE, str(exc))
            return call_result.SignedUpdateFirmware(status=UpdateFirmwareStatus.invalid_certificate)
        try:
            updater.check(firmware["location"])
        except (UnsupportedLocation, FirmwareBusy) as exc:
            log.warning("SignedUpdateFirmware %d rejected: %s", request_id, exc)
            return call_result.SignedUpdateFirmware(status=UpdateFirmwareStatus.rejected)
        signed = Signed(request_id, firmware["signing_certificate"], firmware["signature"], install_at)
        self._signed_updates()[call_unique_id] = (firmware["location"], retrieve_at, retries, retry_interval, signed)
        replaces = updater.pending()
        return call_result.SignedUpdateFirmware(
            status=UpdateFirmwareStatus.accepted_canceled if replaces else UpdateFirmwareStatus.accepted
        )

    @after(Action.signed_update_firmware)
    def after_signed_update_firmware(self, call_unique_id: str = "", **_):
        accepted = self._signed_updates().pop(call_unique_id, None)
        if accepted is None:
            return
        location, retrieve_at, retries, retry_interval, signed = accepted
        try:
            self.backend.firmware.update(location, retrieve_at, retries, retry_interval, signed)
        except (UnsupportedLocation, FirmwareBusy) as exc:  # checked in @on; changed since
            log.warning("SignedUpdateFirmware %d: not started: %s", signed.request_id, exc)

    def _signed_updates(self) -> dict:
        if not hasattr(self, "_pending_signed_updates"):
            self._pending_signed_updates: dict = {}
        return self._pending_signed_updates

    # GetLog.req
    @on(Action.get_log)
    def on_get_log(
        self,
        log: dict,
        log_type: str,
        request_id: int,
        retries: int | None = None,
        retry_interval: int | None = None,
        call_unique_id: str = "",
    ):
        collector = self.backend.diagnostics
        if collector is None:
            return call_result.GetLog(status=LogStatus.rejected)
        oldest, latest = log.get("oldest_timestamp"), log.get("latest_timestamp")
        try:
            request = collector.request(
                log["remote_location"],
                _parse_time(oldest, "oldestTimestamp") if oldest else None,
                _parse_time(latest, "latestTimestamp") if latest else None,
                retries,
                retry_interval,
                security_log=log_type == Log.security_log,
                request_id=request_id,
            )
        except UnsupportedLocation as exc:
            _log_warning("GetLog %d rejected: %s", request_id, exc)
            return call_result.GetLog(status=LogStatus.rejected)
        self._log_requests()[call_unique_id] = request
        status = LogStatus.accepted_canceled if collector.busy else LogStatus.accepted
        return call_result.GetLog(status=status, filename=request.file_name)

    @after(Action.get_log)
    def after_get_log(self, call_unique_id: str = "", **_):
        request: DiagnosticsRequest | None = self._log_requests().pop(call_unique_id, None)
        if request is not None:
            self.backend.diagnostics.start(request)

    def _log_requests(self) -> dict[str, DiagnosticsRequest]:
        if not hasattr(self, "_pending_log_requests"):
            self._pending_log_requests: dict[str, DiagnosticsRequest] = {}
        return self._pending_log_requests

    # ---- for ExtendedTriggerMessage: the real current status --------------------------

    def log_status(self) -> str:
        """The UploadLogStatus of the GetLog upload under way, else Idle."""
        collector = self.backend.diagnostics
        if collector is None or collector.request_id is None:  # nothing, or a GetDiagnostics upload
            return UploadLogStatus.idle.value
        return UPLOAD_LOG_STATUS[collector.status].value

    def log_status_notification(self) -> call.LogStatusNotification:
        """LogStatusNotification.req now: the status, and the requestId unless Idle."""
        status = self.log_status()
        busy = status != UploadLogStatus.idle.value
        return call.LogStatusNotification(status=status, request_id=self.backend.diagnostics.request_id if busy else None)

    def signed_firmware_status_notification(self) -> call.SignedFirmwareStatusNotification:
        """SignedFirmwareStatusNotification.req for ExtendedTriggerMessage: the status last
        sent (L01.FR.29) with its requestId (L01.FR.21), or Idle when that was Installed
        (L01.FR.28) or none was ever sent."""
        last = last_signed_firmware_status(self.backend.store)
        if last is None or last[0] == FirmwareStatus.INSTALLED.value:
            return call.SignedFirmwareStatusNotification(status=FirmwareStatus.IDLE.value, request_id=None)
        status, request_id = last
        return call.SignedFirmwareStatusNotification(
            status=status, request_id=request_id if status != FirmwareStatus.IDLE.value else None
        )


# The last SignedFirmwareStatusNotification sent (status, requestId), kept in the store so
# that it survives restarts (for ExtendedTriggerMessage, L01.FR.28/29).
LAST_SIGNED_STATUS_KEY = "ocpp16.last_signed_firmware_status"


def remember_signed_firmware_status(store, status: str, request_id: int | None) -> None:
    try:
        store.put_setting(LAST_SIGNED_STATUS_KEY, json.dumps([status, request_id]))
    except StorageError as exc:  # the notification itself still goes
        log.warning("SignedFirmwareStatusNotification %s: not remembered for ExtendedTriggerMessage: %s", status, exc)


def last_signed_firmware_status(store) -> tuple[str, int | None] | None:
    raw = store.settings().get(LAST_SIGNED_STATUS_KEY)
    if raw is None:
        return None
    status, request_id = json.loads(raw)
    return status, request_id


def _log_warning(message: str, *args) -> None:
    log.warning(message, *args)  # (``log`` is a parameter name of on_get_log)
