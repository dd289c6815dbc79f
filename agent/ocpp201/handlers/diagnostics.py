"""Functional block N (Diagnostics), the log and customer parts: GetLog (N01) for the DiagnosticsLog (the
diagnostics archive of agent/maintenance/diagnostics.py) and the SecurityLog, uploaded to the
request's FTP or HTTP(S) location by agent/maintenance/transfer.py.

- N01.FR.01: Accepted with the file's name; the upload starts from ``@after``, so no
  LogStatusNotification overtakes the answer. Its statuses (Uploading, then Uploaded or
  UploadFailure, or why the server refused it), each with the request's requestId, are sent by
  the report queue (``Ocpp201Adapter.send_report``).
- N01.FR.12/20: a request while an upload is under way cancels that upload: the answer is
  AcceptedCanceled and the cancelled upload's requestId gets LogStatusNotification
  AcceptedCanceled, before the new upload's statuses.
- A location the station cannot upload to (a scheme other than ftp/http/https, no host):
  Rejected.

CustomerInformation (N09 get, N10 clear): what the station holds about an idToken (the local list,
the authorization cache, the transactions kept and the connector history: the neutral
``CustomerDataPort``, agent/station/customer_data.py) is reported, or cleared and reported, in
NotifyCustomerInformation messages of at most 512 characters (seqNo, tbc) after the answer. The
station keeps no customer certificates (no ISO 15118) and no customerIdentifier: for those the
answer is that nothing is held. Neither report nor clear: Rejected (N09.FR.07, N10.FR.07); no
customer named: Invalid.

``log_status`` is what TriggerMessage LogStatusNotification reports (F06: Idle when no
upload is under way, else the upload's status and requestId).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import FormatViolationError, OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.services import (
    DiagnosticsPort,
    DiagnosticsRequest,
    UnsupportedLocation,
    redact_url,
)
from agent.ocpp201.connection import LinkDown
from agent.ocpp201.mapping import UPLOAD_LOG_STATUS

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)


def log_status(diagnostics: DiagnosticsPort | None) -> tuple[str, int | None]:
    """The status a triggered LogStatusNotification reports, with its requestId (None when Idle)."""
    if diagnostics is None or diagnostics.request_id is None or diagnostics.status.value == "Idle":
        return "Idle", None
    return UPLOAD_LOG_STATUS[diagnostics.status], diagnostics.request_id


class DiagnosticsHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.services = adapter.services
        # Accepted requests by message id, started from @after: (request, the requestId it cancels).
        self._accepted: dict[str, tuple[DiagnosticsRequest, int | None]] = {}
        self._customers: dict[str, tuple[int, list[str]]] = {}  # CustomerInformation: (requestId, lines)

    # N01 GetLog (``log`` is the request's field, not the logger)
    @on(Action.get_log)
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, retries: int | None = None,
                   retry_interval: int | None = None, call_unique_id: str = "", **_: Any) -> Any:
        collector = self.services.diagnostics
        if collector is None:
            return call_result.GetLog(status="Rejected", status_info={"reason_code": "NotSupported"})
        oldest, latest = log.get("oldest_timestamp"), log.get("latest_timestamp")
        try:
            request = collector.request(
                log["remote_location"],
                _when(oldest, "oldestTimestamp") if oldest else None,
                _when(latest, "latestTimestamp") if latest else None,
                retries,
                retry_interval,
                security_log=log_type == "SecurityLog",
                request_id=request_id,
            )
        except UnsupportedLocation as exc:
            logging.getLogger(__name__).warning("GetLog %d rejected: %s", request_id, exc)
            return call_result.GetLog(status="Rejected", status_info={"reason_code": "InvalidURL"})
        cancelled = collector.request_id if collector.busy else None
        self._accepted[call_unique_id] = (request, cancelled)
        logging.getLogger(__name__).info("GetLog %d (%s) to %s", request_id, log_type,
                                         redact_url(log["remote_location"]))
        return call_result.GetLog(status="AcceptedCanceled" if collector.busy else "Accepted",
                                  filename=request.file_name)

    @after(Action.get_log)
    async def after_get_log(self, call_unique_id: str = "", **_: Any) -> None:
        accepted = self._accepted.pop(call_unique_id, None)
        collector = self.services.diagnostics
        if accepted is None or collector is None:
            return
        request, cancelled = accepted
        collector.start(request)  # cancels the upload under way (N01.FR.12)
        if cancelled is not None:  # N01.FR.20
            try:
                await self.adapter.call(call.LogStatusNotification(status="AcceptedCanceled", request_id=cancelled))
            except (TimeoutError, OCPPError, LinkDown) as exc:
                log.warning("LogStatusNotification AcceptedCanceled %d: %r", cancelled, exc)

    # N09 / N10 CustomerInformation
    @on(Action.customer_information)
    def on_customer_information(self, request_id: int, report: bool, clear: bool,
                                customer_certificate: dict[str, Any] | None = None,
                                id_token: dict[str, Any] | None = None, customer_identifier: str | None = None,
                                call_unique_id: str = "", **_: Any) -> Any:
        if id_token is None and customer_certificate is None and customer_identifier is None:
            return call_result.CustomerInformation(status="Invalid", status_info={
                "reason_code": "MissingParam", "additional_info": "no idToken, customerCertificate or customerIdentifier"})
        if not report and not clear:
            return call_result.CustomerInformation(status="Rejected")  # N09.FR.07, N10.FR.07
        customers = self.services.customer_data
        if id_token is not None and customers is None:
            return call_result.CustomerInformation(status="Rejected", status_info={"reason_code": "NotSupported"})
        lines: list[str] = []
        if id_token is not None and customers is not None:
            held = customers.report(id_token["id_token"]) if report else []
            cleared = customers.clear(id_token["id_token"]) if clear else []
            # N09.FR.05, N10.FR.03: what is held (and what became of it); N10.FR.06: that it is cleared.
            lines = held + cleared if report else ["Cleared", *cleared]
        if not lines:
            lines = ["No data held for this customer"]  # N09.FR.06, N10.FR.04
        self._customers[call_unique_id] = (request_id, lines)
        log.info("CustomerInformation %d (report %s, clear %s): %d lines", request_id, report, clear, len(lines))
        return call_result.CustomerInformation(status="Accepted")  # N09.FR.02, N10.FR.01

    @after(Action.customer_information)
    async def after_customer_information(self, call_unique_id: str = "", **_: Any) -> None:
        accepted = self._customers.pop(call_unique_id, None)
        if accepted is None:
            return
        request_id, lines = accepted
        pages = _pages(lines, DATA_SIZE)
        generated_at = self.services.clock.iso()
        for seq_no, data in enumerate(pages):  # N09.FR.05
            try:
                await self.adapter.call(call.NotifyCustomerInformation(
                    data=data, seq_no=seq_no, generated_at=generated_at, request_id=request_id,
                    tbc=seq_no < len(pages) - 1))
            except (OCPPError, LinkDown, TimeoutError) as exc:
                log.warning("NotifyCustomerInformation %d page %d: %r", request_id, seq_no, exc)
                return


DATA_SIZE = 512  # NotifyCustomerInformationRequest.data


def _pages(lines: list[str], size: int) -> list[str]:
    """The lines joined by newlines into pieces of at most ``size`` characters."""
    text = "\n".join(lines)
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _when(text: str, field: str) -> dt.datetime:
    """An RFC 3339 date-time of the request; a bare one is taken as UTC."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise FormatViolationError(description=f"{field}: {text!r} is not a date and time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
