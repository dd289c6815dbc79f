"""What a triggered LogStatusNotification reports (agent/ocpp201/handlers/diagnostics.py log_status)."""

from __future__ import annotations

from types import SimpleNamespace

from agent.backend.services import DiagnosticsStatus
from agent.ocpp201.handlers.diagnostics import log_status


def test_idle_without_an_upload_else_the_upload_and_its_request_id():
    assert log_status(None) == ("Idle", None)
    assert log_status(SimpleNamespace(status=DiagnosticsStatus.IDLE, request_id=7)) == ("Idle", None)
    assert log_status(SimpleNamespace(status=DiagnosticsStatus.UPLOADING, request_id=None)) == ("Idle", None)  # 1.6's
    assert log_status(SimpleNamespace(status=DiagnosticsStatus.UPLOADING, request_id=7)) == ("Uploading", 7)
