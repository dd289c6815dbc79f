"""The agent updating itself (agent/maintenance/self_update.py) through UpdateFirmware from ocpp-csms, with
real releases: wheels of this project (tests/release_wheel.py) installed by
``evse-agent install-release`` into virtual environments under a releases root.

The agent runs as systemd would run it: the unit's own ExecStartPre and ExecStart lines
(systemd/evse-agent.service, paths moved into the test's directory), started again whenever
the process ends (Restart=always). A good new release installs, comes up and confirms itself;
a broken one (its entry point exits at once) is rolled back to the release before it, which
reports the update failed.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from pathlib import Path

import pytest
from ocpp.v16 import call
from ocpp_csms import BootEvent, FirmwareStatusEvent

from tests.file_servers import http_server  # noqa: F401 (fixture)
from tests.integration.conftest import agent_config
from tests.integration.test_firmware import iso, now
from tests.release_wheel import build_wheel, first_release

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "evse-agent.service"


class Service:
    """The unit's ExecStartPre / ExecStart commands with systemd's Restart=always."""

    def __init__(self, root: Path, config: Path, data: Path, log: Path) -> None:
        moved = {"/opt/evse-agent": str(root), "/etc/evse-agent/agent.toml": str(config), "/var/lib/evse-agent": str(data)}
        self.pre: list[tuple[list[str], bool]] = []  # (argv, whether a failure is ignored: "-")
        self.start: list[str] = []
        for line in UNIT.read_text().splitlines():
            key, _, value = line.partition("=")
            for old, new in moved.items():
                value = value.replace(old, new)
            if key == "ExecStartPre":
                self.pre.append((shlex.split(value.removeprefix("-")), value.startswith("-")))
            elif key == "ExecStart":
                self.start = shlex.split(value)
        self.log = log
        self.cwd = root.parent
        self.starts = 0
        self.process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None

    async def _run(self, argv: list[str]) -> asyncio.subprocess.Process:
        with open(self.log, "ab") as out:
            env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "PYTHONPATH")}
            return await asyncio.create_subprocess_exec(
                *argv, stdout=out, stderr=out, cwd=self.cwd, env={**env, "PYTHONUNBUFFERED": "1"}
            )

    async def _serve(self) -> None:
        while True:
            self.starts += 1
            failed = False
            for argv, ignore_failure in self.pre:
                try:
                    status = await (await self._run(argv)).wait()
                except OSError as exc:  # systemd: the command could not be executed
                    print(f"service: {argv[0]}: {exc}")
                    status = 203
                if status != 0 and not ignore_failure:
                    failed = True
                    break
            if not failed:
                self.process = await self._run(self.start)
                await self.process.wait()
                self.process = None

    def begin(self) -> None:
        self._task = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def firmware_status(status: str):
    return lambda e: isinstance(e, FirmwareStatusEvent) and e.status == status


def boot_of(version: str):
    return lambda e: isinstance(e, BootEvent) and e.info.firmware_version == f"evse-agent {version}"


@pytest.mark.timeout(120)
async def test_a_new_release_installs_and_a_broken_one_rolls_back(sim, csms, http_server, tmp_path):
    wheels = tmp_path / "wheels"
    first = build_wheel(wheels, "1.0.0")
    good = build_wheel(wheels, "1.1.0")
    broken = build_wheel(wheels, "1.2.0", broken=True)
    for wheel in (good, broken):
        http_server.files[wheel.name] = wheel.read_bytes()
    root = tmp_path / "opt"
    first_release(root, first, "1.0.0")

    config = tmp_path / "agent.toml"
    installer = f"{root}/current/bin/evse-agent install-release --confirm-within 60 --max-starts 2 {{file}}"
    config.write_text(
        agent_config(modbus_port=sim.modbus_port, csms_port=csms.port, data_dir=tmp_path / "data", card_reader=False)
        + f'\n[firmware]\ninstaller = "{installer}"\nallow_unsigned = true\n'  # UpdateFirmware: no signature
    )
    service = Service(root, config, tmp_path / "data", tmp_path / "agent.log")
    service.begin()
    try:
        await csms.recorder.wait_for(boot_of("1.0.0"), timeout=30)
        cp = csms.charge_points["CP-TEST-1"]

        # A good release: installed, switched to, started; it confirms itself once accepted.
        await cp.async_call(call.UpdateFirmware(location=http_server.url(f"/files/{good.name}"), retrieve_date=iso(now())))
        booted = await csms.recorder.wait_for(boot_of("1.1.0"), timeout=60)
        await csms.recorder.wait_for(firmware_status("Installed"), after=csms.recorder.events.index(booted), timeout=20)
        assert os.readlink(root / "current") == "releases/1.1.0"
        assert not (root / "pending.json").exists()
        assert [e.status for e in csms.recorder.of(FirmwareStatusEvent)] == ["Downloading", "Downloaded", "Installing", "Installed"]
        assert service.starts == 1  # the agent restarted itself into the new release

        # A broken release: its entry point exits at once. Started again by the service until
        # the release check rolls it back to 1.1.0, which reports the installation failed.
        mark = len(csms.recorder.events)
        await cp.async_call(call.UpdateFirmware(location=http_server.url(f"/files/{broken.name}"), retrieve_date=iso(now())))
        await csms.recorder.wait_for(firmware_status("Installing"), after=mark, timeout=30)
        back = await csms.recorder.wait_for(boot_of("1.1.0"), after=mark, timeout=60)
        await csms.recorder.wait_for(firmware_status("InstallationFailed"), after=csms.recorder.events.index(back), timeout=20)
        assert os.readlink(root / "current") == "releases/1.1.0"
        assert not any(boot_of("1.2.0")(e) for e in csms.recorder.events)
        assert service.starts == 4  # 1, then two failed starts of 1.2.0, then the rollback
        log = (tmp_path / "agent.log").read_text()
        assert "this release is broken on purpose" in log
        assert "release 1.2.0 started 2 times without connecting: rolled back to 1.1.0" in log
        assert not (root / "rolled-back.json").exists()  # reported, so forgotten
    finally:
        await service.stop()
        print((tmp_path / "agent.log").read_text()[-6000:] if (tmp_path / "agent.log").exists() else "")


@pytest.mark.timeout(120)
async def test_a_signed_release_that_does_not_come_up_rolls_back_and_reports_it(sim, raw_csms, http_server, tmp_path):
    """OCPP 1.6 Security Whitepaper: SignedUpdateFirmware of a release signed under the
    installation's manufacturer root ([firmware] manufacturer_roots), verified, installed
    by ``install-release``; the release is broken (its entry point exits at once), so the
    release check rolls it back, and the release before it reports the signed update's
    InstallationFailed with its requestId (L01.FR.21)."""
    from tests.firmware_signing import signer
    from tests.integration.test_signed_firmware import notifications, roots_config, wait_status
    from tests.pki import TestCA

    wheels = tmp_path / "wheels"
    first = build_wheel(wheels, "1.0.0")
    broken = build_wheel(wheels, "1.1.0", broken=True)
    http_server.files[broken.name] = broken.read_bytes()
    root = tmp_path / "opt"
    first_release(root, first, "1.0.0")
    manufacturer = TestCA("Manufacturer Root CA")
    signing = signer(manufacturer, kind="ec")

    config = tmp_path / "agent.toml"
    installer = f"{root}/current/bin/evse-agent install-release --confirm-within 60 --max-starts 2 {{file}}"
    config.write_text(
        agent_config(modbus_port=sim.modbus_port, csms_port=raw_csms.port, data_dir=tmp_path / "data", card_reader=False)
        + f'\n[firmware]\ninstaller = "{installer}"\n{roots_config(tmp_path, manufacturer)}\n'
    )
    service = Service(root, config, tmp_path / "data", tmp_path / "agent.log")
    service.begin()

    def boot(version: str):
        return lambda f: f[0] == 2 and f[2] == "BootNotification" and f[3]["firmwareVersion"] == f"evse-agent {version}"

    try:
        await raw_csms.wait_for(boot("1.0.0"), timeout=30)
        mark = len(raw_csms.received)
        request = {"requestId": 21, "retries": 1, "firmware": {
            "location": http_server.url(f"/files/{broken.name}"), "retrieveDateTime": iso(now()),
            "signingCertificate": signing.pem, "signature": signing.sign(broken.read_bytes())}}
        reply = await raw_csms.response_to(await raw_csms.call("SignedUpdateFirmware", request))
        assert reply[2] == {"status": "Accepted"}
        await wait_status(raw_csms, "SignedFirmwareStatusNotification", "Installing", after=mark, timeout=30)
        back = await raw_csms.wait_for(boot("1.0.0"), after=mark, timeout=60)
        await wait_status(raw_csms, "SignedFirmwareStatusNotification", "InstallationFailed",
                          after=raw_csms.received.index(back), timeout=20)
        assert notifications(raw_csms, "SignedFirmwareStatusNotification", mark) == [
            {"status": s, "requestId": 21}
            for s in ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallationFailed")
        ]
        assert os.readlink(root / "current") == "releases/1.0.0"
        assert not any(boot("1.1.0")(f) for f in raw_csms.received)
        log = (tmp_path / "agent.log").read_text()
        assert "this release is broken on purpose" in log
        assert "release 1.1.0 started 2 times without connecting: rolled back to 1.0.0" in log
        assert not (root / "rolled-back.json").exists()  # reported, so forgotten
    finally:
        await service.stop()
        print((tmp_path / "agent.log").read_text()[-6000:] if (tmp_path / "agent.log").exists() else "")
