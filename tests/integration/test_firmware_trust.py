"""What a hostile backend can no longer do with firmware updates (issue 17, items 1, 2, 8):
the agent as its own process, a backend that sends what the schemas allow
(tests/integration/raw_csms.py, so the frames on the wire are seen as they are), real
releases of this project (tests/release_wheel.py) with `evse-agent install-release` as the
installer, and a real HTTP file server.

- An unsigned UpdateFirmware is answered with the CALLERROR NotSupported (Security
  Whitepaper L01.FR.20) and nothing is downloaded, unless the operator allowed unsigned
  updates in the config, which is then a security event at every start.
- The firmware trust anchor is the installation's (``[firmware] manufacturer_roots``): the
  backend can neither install its own ManufacturerRootCertificate, nor delete the real one,
  nor get code signed with its own key installed; GetInstalledCertificateIds lists the real one.
- A download past its size cap or its deadline fails, and no partial file stays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from tests.file_servers import Stream, http_server  # noqa: F401 (fixture)
from tests.firmware_signing import signer
from tests.integration.conftest import AgentProcess, agent_config
from tests.integration.test_firmware import FIRMWARE, iso, now
from tests.pki import TestCA
from tests.release_wheel import build_wheel, first_release

CP = "CP-TEST-1"
# What the hostile release does when install-release imports it to check it.
PAYLOAD = "import pathlib; pathlib.Path({marker!r}).write_text('the backend ran its code')"


class Charger:
    """A releases root (release 1.0.0 current), the agent with install-release as its
    installer, and the hostile backend's release: a real wheel whose code runs on import."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.root = tmp_path / "opt"
        self.marker = tmp_path / "hostile-code-ran"
        wheels = tmp_path / "wheels"
        first_release(self.root, build_wheel(wheels, "1.0.0"), "1.0.0")
        self.hostile = build_wheel(wheels, "6.6.6", on_import=PAYLOAD.format(marker=str(self.marker)))
        self.agent: AgentProcess | None = None

    async def start(self, modbus_port: int, csms_port: int, firmware: str = "") -> AgentProcess:
        config = self.tmp_path / "agent.toml"
        installer = f"{self.root}/current/bin/evse-agent install-release --confirm-within 60 {{file}}"
        config.write_text(
            agent_config(modbus_port=modbus_port, csms_port=csms_port, data_dir=self.tmp_path / "data", card_reader=False)
            + f'\n[firmware]\ninstaller = "{installer}"\n{firmware}\n'
        )
        self.agent = AgentProcess(config, self.tmp_path / "agent.log")
        await self.agent.start()
        return self.agent

    def current(self) -> str:
        return os.readlink(self.root / "current")

    def firmware_files(self) -> list[str]:
        directory = self.tmp_path / "data" / "firmware"
        return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
            print(self.agent.log()[-5000:])


@pytest.fixture
async def charger(tmp_path):
    made = Charger(tmp_path)
    yield made
    await made.stop()


def call_frames(raw, action: str, after: int = 0) -> list[dict]:
    return [f[3] for f in raw.received[after:] if f[0] == 2 and f[2] == action]


def security_event(kind: str):
    return lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == kind


def firmware_status(*statuses: str):
    return lambda f: f[0] == 2 and f[2] in ("FirmwareStatusNotification", "SignedFirmwareStatusNotification") and f[3]["status"] in statuses


def signed_request(request_id: int, location: str, signing, signature: str) -> dict:
    return {
        "requestId": request_id,
        "retries": 1,
        "firmware": {"location": location, "retrieveDateTime": iso(now()), "signingCertificate": signing.pem, "signature": signature},
    }


async def test_an_unsigned_update_is_refused_with_not_supported_and_nothing_runs(sim, raw_csms, charger, http_server):
    http_server.files[charger.hostile.name] = charger.hostile.read_bytes()
    location = http_server.url(f"/files/{charger.hostile.name}")
    await charger.start(sim.modbus_port, raw_csms.port)
    await raw_csms.connected()

    reply = await raw_csms.response_to(await raw_csms.call("UpdateFirmware", {"location": location, "retrieveDate": iso(now())}))
    # Security Whitepaper L01.FR.20: CALLERROR NotSupported, as OCPP-J 1.6 §4.2.3 spells it.
    assert reply[0] == 4 and reply[2] == "NotSupported", reply
    assert "SignedUpdateFirmware" in reply[3]

    # Nothing under way: the triggered status says Idle, nothing was fetched, nothing ran.
    mark = len(raw_csms.received)
    await raw_csms.response_to(await raw_csms.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}))
    await raw_csms.wait_for(firmware_status("Idle"), after=mark)
    assert http_server.requests[charger.hostile.name] == 0
    assert charger.current() == "releases/1.0.0" and not charger.marker.exists()
    assert charger.firmware_files() == []
    assert "UpdateFirmware from" in charger.agent.log() and "refused: unsigned firmware" in charger.agent.log()


async def test_unsigned_updates_allowed_by_the_operator_are_a_security_event_at_every_start(sim, raw_csms, charger):
    await charger.start(sim.modbus_port, raw_csms.port, firmware="allow_unsigned = true")
    await raw_csms.connected()
    first = await raw_csms.wait_for(security_event("SecurityCheckDisabled"))
    assert "firmware.allow_unsigned = true" in first[3]["techInfo"]
    # UpdateFirmware is taken as OCPP 1.6 §5.19 says (an update an hour ahead: nothing fetched yet).
    later = iso(now() + dt.timedelta(hours=1))
    reply = await raw_csms.response_to(await raw_csms.call("UpdateFirmware", {"location": "http://127.0.0.1:9/fw.whl", "retrieveDate": later}))
    assert reply == [3, reply[1], {}]

    boots = len(raw_csms.calls("BootNotification"))
    await raw_csms.response_to(await raw_csms.call("Reset", {"type": "Soft"}))
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "BootNotification" and len(raw_csms.calls("BootNotification")) > boots, timeout=30)
    mark = raw_csms.received.index(raw_csms.calls("BootNotification")[-1])
    again = await raw_csms.wait_for(security_event("SecurityCheckDisabled"), after=mark, timeout=20)
    assert again[3]["techInfo"] == first[3]["techInfo"]


async def test_the_backend_cannot_replace_the_firmware_trust_anchor(sim, raw_csms, charger, http_server, tmp_path):
    manufacturer = TestCA("Manufacturer Root CA")
    manufacturer.write(tmp_path / "etc" / "manufacturer-roots" / "manufacturer.pem")
    hostile_root = TestCA("Backend's Own Root")
    hostile_signer = signer(hostile_root)
    hostile_release = charger.hostile.read_bytes()
    http_server.files[charger.hostile.name] = hostile_release
    location = http_server.url(f"/files/{charger.hostile.name}")
    await charger.start(sim.modbus_port, raw_csms.port, firmware=f'manufacturer_roots = ["{tmp_path / "etc" / "manufacturer-roots"}"]')
    await raw_csms.connected()

    async def ask(action: str, payload: dict) -> dict:
        reply = await raw_csms.response_to(await raw_csms.call(action, payload))
        assert reply[0] == 3, reply
        return reply[2]

    # The real anchor is listed, truthfully.
    listed = await ask("GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
    assert listed["status"] == "Accepted" and len(listed["certificateHashData"]) == 1
    real = listed["certificateHashData"][0]
    assert real["serialNumber"] == format(manufacturer.cert.serial_number, "x")

    # The backend's own root is refused (the whitepaper lets a charge point reject it) ...
    installed = await ask("InstallCertificate", {"certificateType": "ManufacturerRootCertificate", "certificate": hostile_root.pem})
    assert installed == {"status": "Rejected"}
    # ... so a release signed with its key is refused before a byte is downloaded ...
    mark = len(raw_csms.received)
    answer = await ask("SignedUpdateFirmware", signed_request(66, location, hostile_signer, hostile_signer.sign(hostile_release)))
    assert answer == {"status": "InvalidCertificate"}
    await raw_csms.wait_for(security_event("InvalidFirmwareSigningCertificate"), after=mark)
    # ... and the real root cannot be deleted.
    assert await ask("DeleteCertificate", {"certificateHashData": real}) == {"status": "Failed"}
    again = await ask("GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
    assert again["certificateHashData"] == [real]

    assert http_server.requests[charger.hostile.name] == 0
    assert charger.current() == "releases/1.0.0" and not charger.marker.exists()
    assert call_frames(raw_csms, "SignedFirmwareStatusNotification") == []


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def test_a_download_past_its_size_cap_or_its_deadline_fails_and_leaves_no_file(sim, raw_csms, charger, http_server, tmp_path):
    manufacturer = TestCA("Manufacturer Root CA")
    manufacturer.write(tmp_path / "etc" / "roots" / "manufacturer.pem")
    good = signer(manufacturer)
    cap = 1 << 20
    http_server.streams["huge.whl"] = Stream(size=32 << 20, chunk=1 << 14, pause_s=0.001)  # chunked: no size announced
    http_server.streams["drip.whl"] = Stream(size=None, chunk=100, pause_s=0.02)  # 5 kB/s, for ever
    agent = await charger.start(
        sim.modbus_port, raw_csms.port,
        firmware=f'manufacturer_roots = ["{tmp_path / "etc" / "roots"}"]\nmax_download_mb = 1\ndownload_timeout_s = 2\n',
    )
    await raw_csms.connected()
    firmware_dir = tmp_path / "data" / "firmware"
    largest = 0

    async def watch():  # a measurement: the largest file the downloads left in the firmware directory
        nonlocal largest
        while True:
            for path in firmware_dir.glob("*") if firmware_dir.is_dir() else ():
                try:
                    largest = max(largest, path.stat().st_size)
                except FileNotFoundError:
                    pass
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    try:
        for request_id, name in ((81, "huge.whl"), (82, "drip.whl")):
            mark = len(raw_csms.received)
            request = signed_request(request_id, http_server.url(f"/streams/{name}"), good, good.sign(FIRMWARE))
            request["retries"], request["retryInterval"] = 2, 1
            reply = await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", request))
            assert reply[2] == {"status": "Accepted"}
            final = await raw_csms.wait_for(firmware_status("DownloadFailed", "Downloaded", "InvalidSignature"), after=mark, timeout=40)
            assert final[3] == {"status": "DownloadFailed", "requestId": request_id}
            assert http_server.requests[name] == 2  # each try started from nothing
            assert charger.firmware_files() == []
    finally:
        watcher.cancel()
    log = agent.log()
    print(f"size cap {cap} bytes: largest partial file {largest} bytes; huge.whl: {http_server.sent['huge.whl']} bytes sent "
          f"for 2 tries; drip.whl: {http_server.sent['drip.whl']} bytes sent; agent peak RSS {peak_rss_kib(agent.proc.pid) / 1024:.1f} MiB")
    assert largest <= cap
    assert f"more than the {cap} allowed" in log and "not complete within 2 s" in log
    assert charger.current() == "releases/1.0.0"
