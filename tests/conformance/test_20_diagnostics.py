"""OCTT module 20, Diagnostics (OCPP 1.6 §4.4, §5.9 GetDiagnostics)."""

from __future__ import annotations

from tests.file_servers import closed_port, ftp_server  # noqa: F401 (fixture)


async def test_TC_045_1_get_diagnostics(station, csms, ftp_server):
    await station.boot()
    mark = csms.mark()
    reply = await csms.call("GetDiagnostics", {"location": ftp_server.url("/"), "retries": 1, "retryInterval": 1})
    file_name = reply["fileName"]
    await csms.wait_call("DiagnosticsStatusNotification", lambda p: p["status"] == "Uploaded", after=mark, timeout=20)
    assert [p["status"] for p in csms.calls_of("DiagnosticsStatusNotification", after=mark)] == ["Uploading", "Uploaded"]
    assert (ftp_server.root / file_name).stat().st_size > 0


async def test_TC_045_2_get_diagnostics_upload_failed(station, csms):
    await station.boot()
    mark = csms.mark()
    location = f"ftp://user:password@127.0.0.1:{closed_port()}/"
    await csms.call("GetDiagnostics", {"location": location, "retries": 1, "retryInterval": 1})
    await csms.wait_call("DiagnosticsStatusNotification", lambda p: p["status"] == "UploadFailed", after=mark, timeout=20)
    assert [p["status"] for p in csms.calls_of("DiagnosticsStatusNotification", after=mark)] == ["Uploading", "UploadFailed"]
