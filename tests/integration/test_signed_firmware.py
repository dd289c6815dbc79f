"""OCPP 1.6 Security Whitepaper (ed. 3) through a real websocket, the agent as its own process:
SignedUpdateFirmware (a signing certificate refused, a tampered file refused and never
installed, a good one installed) and GetLog (SecurityLog, DiagnosticsLog), downloading from
and uploading to real HTTP / FTP servers. The manufacturer root is the installation's
(``[firmware] manufacturer_roots``), as on a charger.

ocpp-csms sends the requests and records the security events; it does not take
SignedFirmwareStatusNotification or LogStatusNotification (it answers them with a CALLERROR),
so the tests that follow those statuses use the bare peer (tests/integration/raw_csms.py).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile

from ocpp.v16 import call
from ocpp_csms import BootEvent, SecurityEvent

from tests.file_servers import FTP_PASSWORD_QUOTED, closed_port, ftp_server, http_server  # noqa: F401 (fixtures)
from tests.firmware_signing import signer
from tests.integration.test_firmware import FIRMWARE, firmware_agent, iso, now  # noqa: F401 (fixture)
from tests.integration.test_session_flow import booted
from tests.pki import TestCA

CP = "CP-TEST-1"


def security_event(kind: str):
    return lambda e: isinstance(e, SecurityEvent) and e.type == kind


def roots_config(tmp_path, *roots: TestCA) -> str:
    """``[firmware]`` lines naming ``roots`` as the manufacturer roots, in a directory of PEM files."""
    for i, root in enumerate(roots):
        root.write(tmp_path / "manufacturer-roots" / f"root-{i}.pem")
    return f'manufacturer_roots = ["{tmp_path / "manufacturer-roots"}"]'


def signed_update(request_id: int, location: str, signing, signature: str, **firmware) -> call.SignedUpdateFirmware:
    return call.SignedUpdateFirmware(
        request_id=request_id,
        retries=1,
        retry_interval=1,
        firmware={
            "location": location,
            "retrieveDateTime": iso(now()),
            "signingCertificate": signing.pem,
            "signature": signature,
            **firmware,
        },
    )


async def test_signed_update_firmware_refuses_bad_certificates_and_tampered_files_and_installs_a_good_one(
    sim, csms, firmware_agent, http_server, tmp_path
):
    manufacturer = TestCA("Manufacturer Root CA")
    good = signer(manufacturer)
    http_server.files["fw.bin"] = FIRMWARE
    http_server.files["tampered.bin"] = FIRMWARE[:-4] + b"evil"
    await firmware_agent(csms.port, firmware=roots_config(tmp_path, manufacturer))
    await booted(csms)
    cp = csms.charge_points[CP]
    location = http_server.url("/files/fw.bin")

    # A signer of another root, and an expired one of the right root: refused before any download.
    for request_id, signing in ((2, signer(TestCA("Someone Else"))), (3, signer(manufacturer, kind="ec", expired=True))):
        mark = len(csms.recorder.events)
        answer = await cp.async_call(signed_update(request_id, location, signing, signing.sign(FIRMWARE)))
        assert answer.status == "InvalidCertificate"
        await csms.recorder.wait_for(security_event("InvalidFirmwareSigningCertificate"), after=mark)
    assert http_server.requests["fw.bin"] == 0

    # A file that is not what was signed: downloaded, refused, never installed.
    mark = len(csms.recorder.events)
    answer = await cp.async_call(signed_update(4, http_server.url("/files/tampered.bin"), good, good.sign(FIRMWARE)))
    assert answer.status == "Accepted"
    await csms.recorder.wait_for(security_event("InvalidFirmwareSignature"), after=mark, timeout=20)
    assert http_server.requests["tampered.bin"] == 1
    assert not (tmp_path / "installed.bin").exists()
    assert len(csms.recorder.of(BootEvent)) == 1

    # The real thing: installed, the agent restarts and reports the update as a security event.
    mark = len(csms.recorder.events)
    answer = await cp.async_call(signed_update(5, location, good, good.sign(FIRMWARE)))
    assert answer.status == "Accepted"
    boot = await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=mark, timeout=30)
    await csms.recorder.wait_for(security_event("FirmwareUpdated"), after=csms.recorder.events.index(boot), timeout=20)
    assert (tmp_path / "installed.bin").read_bytes() == FIRMWARE


def notifications(raw, action: str, after: int = 0) -> list[dict]:
    return [f[3] for f in raw.received[after:] if f[0] == 2 and f[2] == action]


async def wait_status(raw, action: str, status: str, after: int = 0, timeout: float = 20) -> list:
    return await raw.wait_for(lambda f: f[0] == 2 and f[2] == action and f[3]["status"] == status, timeout=timeout, after=after)


async def test_signed_firmware_statuses_carry_the_request_id(sim, raw_csms, firmware_agent, http_server, tmp_path):
    manufacturer = TestCA("Manufacturer Root CA")
    good = signer(manufacturer, kind="ec")
    http_server.files["fw.bin"] = FIRMWARE
    http_server.files["tampered.bin"] = FIRMWARE + b"\n"
    await firmware_agent(raw_csms.port, firmware=roots_config(tmp_path, manufacturer))
    await raw_csms.connected()

    def request(request_id: int, name: str, **firmware) -> dict:
        payload = {"location": http_server.url(f"/files/{name}"), "retrieveDateTime": iso(now()),
                   "signingCertificate": good.pem, "signature": good.sign(FIRMWARE), **firmware}
        return {"requestId": request_id, "retries": 1, "firmware": payload}

    # Tampered: downloaded, then InvalidSignature; the trigger then finds nothing under way.
    mark = len(raw_csms.received)
    reply = await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", request(11, "tampered.bin")))
    assert reply[2] == {"status": "Accepted"}
    await wait_status(raw_csms, "SignedFirmwareStatusNotification", "InvalidSignature", after=mark)
    assert notifications(raw_csms, "SignedFirmwareStatusNotification", mark) == [
        {"status": s, "requestId": 11} for s in ("Downloading", "Downloaded", "InvalidSignature")
    ]
    event = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "InvalidFirmwareSignature")
    assert "does not match tampered.bin" in event[3]["techInfo"]
    assert not (tmp_path / "installed.bin").exists()

    # Scheduled an hour ahead, then replaced: AcceptedCanceled.
    mark = len(raw_csms.received)
    later = request(12, "fw.bin", retrieveDateTime=iso(now() + dt.timedelta(hours=1)))
    assert (await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", later)))[2] == {"status": "Accepted"}
    await wait_status(raw_csms, "SignedFirmwareStatusNotification", "DownloadScheduled", after=mark)
    # Good, installed a moment after the download: every status with its request id, Installed after the restart.
    # The install is 4 s ahead: InstallScheduled needs the download and the check done while
    # 0.5 s or more are left (SCHEDULED_AFTER_S); 3.5 s of margin for a slow machine.
    mark = len(raw_csms.received)
    soon = request(13, "fw.bin", installDateTime=iso(now() + dt.timedelta(seconds=4)))
    assert (await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", soon)))[2] == {"status": "AcceptedCanceled"}
    await wait_status(raw_csms, "SignedFirmwareStatusNotification", "Installed", after=mark, timeout=30)
    assert notifications(raw_csms, "SignedFirmwareStatusNotification", mark) == [
        {"status": s, "requestId": 13}
        for s in ("Downloading", "Downloaded", "SignatureVerified", "InstallScheduled", "Installing", "Installed")
    ]
    assert len(raw_csms.calls("BootNotification")) == 2
    assert (tmp_path / "installed.bin").read_bytes() == FIRMWARE


async def extended_firmware_status(raw) -> dict:
    """ExtendedTriggerMessage FirmwareStatusNotification: Accepted, and the notification it sends."""
    mark = len(raw.received)
    reply = await raw.response_to(await raw.call("ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}))
    assert reply[2] == {"status": "Accepted"}
    sent = await raw.wait_for(lambda f: f[0] == 2 and f[2] in ("SignedFirmwareStatusNotification", "FirmwareStatusNotification"),
                              after=mark)
    assert sent[2] == "SignedFirmwareStatusNotification"
    return sent[3]


async def test_extended_trigger_reports_the_last_signed_firmware_status(sim, raw_csms, firmware_agent, http_server, tmp_path):
    # Security Whitepaper L01.FR.28/29: the status last sent, with its requestId (L01.FR.21);
    # Idle when that was Installed or nothing was ever sent.
    manufacturer = TestCA("Manufacturer Root CA")
    good = signer(manufacturer, kind="ec")
    http_server.files["fw.bin"] = FIRMWARE
    agent = await firmware_agent(raw_csms.port, firmware=roots_config(tmp_path, manufacturer))
    await raw_csms.connected()
    assert await extended_firmware_status(raw_csms) == {"status": "Idle"}

    def request(request_id: int, location: str, **firmware) -> dict:
        payload = {"location": location, "retrieveDateTime": iso(now()), "signingCertificate": good.pem,
                   "signature": good.sign(FIRMWARE), **firmware}
        return {"requestId": request_id, "retries": 1, "retryInterval": 1, "firmware": payload}

    # A download that fails: DownloadFailed with its request id, also after a restart.
    mark = len(raw_csms.received)
    unreachable = request(41, f"http://127.0.0.1:{closed_port()}/fw.bin")
    assert (await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", unreachable)))[2] == {"status": "Accepted"}
    await wait_status(raw_csms, "SignedFirmwareStatusNotification", "DownloadFailed", after=mark)
    assert await extended_firmware_status(raw_csms) == {"status": "DownloadFailed", "requestId": 41}
    await agent.kill()
    mark = len(raw_csms.received)
    await agent.start()
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] in ("BootNotification", "Heartbeat"), after=mark)
    assert await extended_firmware_status(raw_csms) == {"status": "DownloadFailed", "requestId": 41}

    # While one is under way: its status.
    later = request(42, http_server.url("/files/fw.bin"), retrieveDateTime=iso(now() + dt.timedelta(hours=1)))
    mark = len(raw_csms.received)
    assert (await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", later)))[2] == {"status": "Accepted"}
    await wait_status(raw_csms, "SignedFirmwareStatusNotification", "DownloadScheduled", after=mark)
    assert await extended_firmware_status(raw_csms) == {"status": "DownloadScheduled", "requestId": 42}

    # Installed (after the restart that runs it): Idle from then on.
    mark = len(raw_csms.received)
    now_ = request(43, http_server.url("/files/fw.bin"))
    assert (await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", now_)))[2] == {"status": "AcceptedCanceled"}
    await wait_status(raw_csms, "SignedFirmwareStatusNotification", "Installed", after=mark, timeout=30)
    assert await extended_firmware_status(raw_csms) == {"status": "Idle"}


def archive(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


async def test_get_log_uploads_the_security_log_and_the_diagnostics_log(sim, raw_csms, firmware_agent, http_server):
    await firmware_agent(raw_csms.port)
    await raw_csms.connected()
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "StartupOfTheDevice")

    mark = len(raw_csms.received)
    get_log = {"logType": "SecurityLog", "requestId": 21, "log": {"remoteLocation": http_server.url("/upload")}}
    reply = await raw_csms.response_to(await raw_csms.call("GetLog", get_log))
    assert reply[2]["status"] == "Accepted" and reply[2]["filename"].startswith(f"securitylog-{CP}-")
    await wait_status(raw_csms, "LogStatusNotification", "Uploaded", after=mark)
    assert notifications(raw_csms, "LogStatusNotification", mark) == [
        {"status": "Uploading", "requestId": 21}, {"status": "Uploaded", "requestId": 21}
    ]
    members = archive(http_server.uploads[reply[2]["filename"]])
    assert set(members) == {"security.log"}
    assert b"security event StartupOfTheDevice" in members["security.log"]

    # The diagnostics log: the GetDiagnostics archive; latestTimestamp before the start selects no lines.
    mark = len(raw_csms.received)
    get_log = {"logType": "DiagnosticsLog", "requestId": 22,
               "log": {"remoteLocation": http_server.url("/upload"), "latestTimestamp": iso(now() - dt.timedelta(days=1))}}
    reply = await raw_csms.response_to(await raw_csms.call("GetLog", get_log))
    assert reply[2]["filename"].startswith(f"diagnostics-{CP}-")
    await wait_status(raw_csms, "LogStatusNotification", "Uploaded", after=mark)
    members = archive(http_server.uploads[reply[2]["filename"]])
    assert set(members) == {"state.json", "agent.log"} and members["agent.log"] == b""
    assert json.loads(members["state.json"])["config"]["charge_point"]["id"] == CP


async def test_get_log_failure_and_the_triggered_status(sim, raw_csms, firmware_agent, ftp_server):
    await firmware_agent(raw_csms.port)
    await raw_csms.connected()
    # A location the agent cannot use is Rejected; nothing starts.
    reply = await raw_csms.response_to(
        await raw_csms.call("GetLog", {"logType": "SecurityLog", "requestId": 30, "log": {"remoteLocation": "file:///etc/"}})
    )
    assert reply[2] == {"status": "Rejected"}

    mark = len(raw_csms.received)
    unreachable = f"ftp://127.0.0.1:{closed_port()}/logs/"
    get_log = {"logType": "SecurityLog", "requestId": 31, "retries": 2, "retryInterval": 2, "log": {"remoteLocation": unreachable}}
    assert (await raw_csms.response_to(await raw_csms.call("GetLog", get_log)))[2]["status"] == "Accepted"
    await wait_status(raw_csms, "LogStatusNotification", "Uploading", after=mark)
    # Between the two attempts the upload is under way: the triggered notification says so.
    trigger_mark = len(raw_csms.received)
    await raw_csms.response_to(await raw_csms.call("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"}))
    triggered = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "LogStatusNotification", after=trigger_mark)
    assert triggered[3] == {"status": "Uploading", "requestId": 31}  # N01.FR.12: with the upload's requestId
    await wait_status(raw_csms, "LogStatusNotification", "UploadFailure", after=mark)
    assert {"status": "UploadFailure", "requestId": 31} in notifications(raw_csms, "LogStatusNotification", mark)
    # Nothing under way any more: Idle, without a request id.
    trigger_mark = len(raw_csms.received)
    await raw_csms.response_to(await raw_csms.call("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"}))
    triggered = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "LogStatusNotification", after=trigger_mark)
    assert triggered[3] == {"status": "Idle"}

    # A server that refuses the login says why: PermissionDenied.
    mark = len(raw_csms.received)
    wrong_password = ftp_server.url("/").replace(FTP_PASSWORD_QUOTED, "wrong")
    get_log = {"logType": "DiagnosticsLog", "requestId": 32, "retries": 1, "log": {"remoteLocation": wrong_password}}
    assert (await raw_csms.response_to(await raw_csms.call("GetLog", get_log)))[2]["status"] == "Accepted"
    await wait_status(raw_csms, "LogStatusNotification", "PermissionDenied", after=mark)
    assert notifications(raw_csms, "LogStatusNotification", mark)[-1] == {"status": "PermissionDenied", "requestId": 32}
