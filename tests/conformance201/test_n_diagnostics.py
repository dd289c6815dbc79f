"""OCTT 2.0.1 block N (Diagnostics): logs uploaded to real FTP / HTTP servers (GetLog,
LogStatusNotification), variable monitors set, reported, cleared and firing on real values of
the simulated hardware (SetVariableMonitoring, SetMonitoringBase, SetMonitoringLevel,
GetMonitoringReport, ClearVariableMonitoring, NotifyEvent), and the customer data the station
holds (CustomerInformation), with the strict backend checking every message both ways."""

from __future__ import annotations

import tarfile

from tests.file_servers import closed_port, ftp_server, http_server  # noqa: F401 (fixtures)


def get_log(location: str, request_id: int, log_type: str = "DiagnosticsLog", **more) -> dict:
    return {"log": {"remoteLocation": location}, "logType": log_type, "requestId": request_id, **more}


def log_statuses(csms, request_id: int, *, after: int) -> list[str]:
    return [p["status"] for p in csms.calls_of("LogStatusNotification", after=after) if p.get("requestId") == request_id]


async def uploaded(csms, request_id: int, *, after: int, final: str = "Uploaded") -> list[str]:
    """The LogStatusNotification statuses of ``request_id`` once the final one came."""
    await csms.wait_call("LogStatusNotification", lambda p: p.get("requestId") == request_id and p["status"] == final,
                         after=after, timeout=30)
    return log_statuses(csms, request_id, after=after)


# ---- N01 GetLog -----------------------------------------------------------------------------

async def test_TC_N_25_retrieve_log_diagnostics_log_success(station, csms, ftp_server):
    """N01.FR.01-04: Accepted with the file's name; Uploading then Uploaded with the requestId; the
    archive is on the server, with the station's state; a trigger afterwards reports Idle."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetLog", get_log(ftp_server.url("/"), 25, retries=1, retryInterval=1))
    assert answer["status"] == "Accepted"
    assert await uploaded(csms, 25, after=mark) == ["Uploading", "Uploaded"]
    with tarfile.open(ftp_server.root / answer["filename"]) as archive:
        assert "state.json" in archive.getnames()
    trigger = csms.mark()
    assert (await csms.call("TriggerMessage", {"requestedMessage": "LogStatusNotification"}))["status"] == "Accepted"
    assert await csms.wait_call("LogStatusNotification", after=trigger) == {"status": "Idle"}


async def test_TC_N_26_retrieve_log_diagnostics_log_upload_failed(station, csms):
    """N01: a server that cannot be reached: Uploading, then UploadFailure after the retries."""
    await station.boot()
    mark = csms.mark()
    location = f"ftp://user:password@127.0.0.1:{closed_port()}/"
    assert (await csms.call("GetLog", get_log(location, 26, retries=1, retryInterval=1)))["status"] == "Accepted"
    assert await uploaded(csms, 26, after=mark, final="UploadFailure") == ["Uploading", "UploadFailure"]


async def test_TC_N_34_retrieve_log_rejected(station, csms):
    """A location the station cannot upload to is Rejected, and no upload starts."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetLog", get_log("gopher://127.0.0.1/logs", 34))
    assert answer["status"] == "Rejected"
    await csms.barrier()
    assert not csms.calls_of("LogStatusNotification", after=mark)


async def test_TC_N_35_retrieve_log_security_log_success(station, csms, http_server):
    """N01 SecurityLog over HTTP POST: Accepted, Uploading, Uploaded; the upload holds the
    security log (the agent's start was recorded in it)."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetLog", get_log(http_server.url("/upload"), 35, "SecurityLog", retries=1))
    assert answer["status"] == "Accepted" and answer["filename"].startswith("securitylog-")
    assert await uploaded(csms, 35, after=mark) == ["Uploading", "Uploaded"]
    assert answer["filename"] in http_server.uploads


async def test_TC_N_36_retrieve_log_second_request(station, csms, ftp_server):
    """N01.FR.12/20: a second GetLog while the first is still uploading (retrying an unreachable
    server): AcceptedCanceled; the first gets LogStatusNotification AcceptedCanceled, the second
    is uploaded."""
    await station.boot()
    mark = csms.mark()
    unreachable = f"ftp://user:password@127.0.0.1:{closed_port()}/"
    assert (await csms.call("GetLog", get_log(unreachable, 361, retries=5, retryInterval=60)))["status"] == "Accepted"
    await csms.wait_call("LogStatusNotification", lambda p: p.get("requestId") == 361, after=mark, timeout=20)
    answer = await csms.call("GetLog", get_log(ftp_server.url("/"), 362, retries=1, retryInterval=1))
    assert answer["status"] == "AcceptedCanceled"
    assert await uploaded(csms, 362, after=mark) == ["Uploading", "Uploaded"]
    assert log_statuses(csms, 361, after=mark) == ["Uploading", "AcceptedCanceled"]
    assert (ftp_server.root / answer["filename"]).stat().st_size > 0
