"""The neutral status reports of firmware updates, diagnostics and log uploads as OCPP 1.6
notifications: FirmwareStatusNotification (§4.5), DiagnosticsStatusNotification (§4.4), and
the Security Whitepaper's SignedFirmwareStatusNotification / LogStatusNotification with their
requestId. The status of the last signed update reported is kept for ExtendedTriggerMessage
(L01.FR.28/29).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import UploadLogStatus

from agent.backend.services import DiagnosticsStatus, FirmwareStatus, KeyValuePort, LogReport, SignedReport, StorageError

log = logging.getLogger(__name__)

LAST_SIGNED_STATUS_KEY = "ocpp16.last_signed_firmware_status"

# Security Whitepaper UploadLogStatusEnumType for the neutral upload statuses.
UPLOAD_LOG_STATUS = {
    DiagnosticsStatus.IDLE: UploadLogStatus.idle,
    DiagnosticsStatus.UPLOADING: UploadLogStatus.uploading,
    DiagnosticsStatus.UPLOADED: UploadLogStatus.uploaded,
    DiagnosticsStatus.UPLOAD_FAILED: UploadLogStatus.upload_failure,
}

# A signed update's whitepaper statuses, as the nearest §7.25 FirmwareStatus of 1.6 itself.
CORE_FIRMWARE_STATUS = {
    FirmwareStatus.DOWNLOAD_SCHEDULED: FirmwareStatus.IDLE,
    FirmwareStatus.SIGNATURE_VERIFIED: FirmwareStatus.DOWNLOADED,
    FirmwareStatus.INSTALL_SCHEDULED: FirmwareStatus.DOWNLOADED,
    FirmwareStatus.INVALID_SIGNATURE: FirmwareStatus.INSTALLATION_FAILED,
}


def report_request(report: FirmwareStatus | DiagnosticsStatus | SignedReport | LogReport, store: KeyValuePort) -> Any:
    if isinstance(report, SignedReport):
        # What ExtendedTriggerMessage reports from now on (L01.FR.29).
        remember_signed_firmware_status(store, report.status.value, report.request_id)
        return call.SignedFirmwareStatusNotification(status=report.status.value, request_id=report.request_id)
    if isinstance(report, LogReport):
        status = report.refusal.value if report.refusal is not None else UPLOAD_LOG_STATUS[report.status].value
        return call.LogStatusNotification(status=status, request_id=report.request_id)
    if isinstance(report, FirmwareStatus):
        return call.FirmwareStatusNotification(status=report.value)
    return call.DiagnosticsStatusNotification(status=report.value)


def remember_signed_firmware_status(store: KeyValuePort, status: str, request_id: int | None) -> None:
    try:
        store.put_setting(LAST_SIGNED_STATUS_KEY, json.dumps([status, request_id]))
    except StorageError as exc:  # the notification itself still goes
        log.warning("SignedFirmwareStatusNotification %s: not remembered for ExtendedTriggerMessage: %s", status, exc)


def last_signed_firmware_status(store: KeyValuePort) -> tuple[str, int | None] | None:
    raw = store.settings().get(LAST_SIGNED_STATUS_KEY)
    if raw is None:
        return None
    status, request_id = json.loads(raw)
    return status, request_id
