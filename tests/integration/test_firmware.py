"""OCPP 1.6 Firmware Management through ocpp-csms: UpdateFirmware (§5.19) and GetDiagnostics (§5.9)
with the agent as its own process, downloading from and uploading to real FTP / HTTP servers."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import tarfile

import pytest
from ocpp.v16 import call
from ocpp_csms import BootEvent, CsmsCallError, DiagnosticsStatusEvent, FirmwareStatusEvent, MessageTrigger, TransactionStartedEvent, TransactionStoppedEvent

from tests.file_servers import closed_port, ftp_server, http_server  # noqa: F401 (fixtures)
from tests.integration.conftest import AgentProcess, agent_config
from tests.integration.test_session_flow import booted, evse, status_reached

FIRMWARE = b"new firmware image " * 4096
UNSIGNED = "allow_unsigned = true"  # UpdateFirmware carries no signature: installed only where the operator allows it


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture
async def firmware_agent(tmp_path, sim):
    """The agent with a test installer script (``exit_status``) and a log file; ``firmware``:
    more ``[firmware]`` lines (``allow_unsigned = true`` for an unsigned UpdateFirmware,
    ``manufacturer_roots = [...]`` for a signed one)."""
    agents: list[AgentProcess] = []

    async def make(csms_port: int, exit_status: int = 0, firmware: str = "") -> AgentProcess:
        script = tmp_path / "install.py"
        script.write_text(
            "import shutil, sys\n"
            f"shutil.copy(sys.argv[1], {str(tmp_path / 'installed.bin')!r})\n"
            f"sys.exit({exit_status})\n"
        )
        config = tmp_path / "agent.toml"
        config.write_text(
            agent_config(modbus_port=sim.modbus_port, csms_port=csms_port, data_dir=tmp_path / "data", card_reader=False)
            + f'\n[log]\nfile = "{tmp_path / "logs" / "agent.log"}"\n'
            + f'\n[firmware]\ninstaller = "{sys.executable} {script} {{file}}"\n{firmware}\n'
        )
        agent = AgentProcess(config, tmp_path / "agent.log")
        await agent.start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        await agent.stop()
    if agents:
        print(agents[-1].log()[-6000:])


def firmware_statuses(csms) -> list[str]:
    return [e.status for e in csms.recorder.of(FirmwareStatusEvent)]


def firmware_status(csms, status):
    return lambda e: isinstance(e, FirmwareStatusEvent) and e.status == status


def diagnostics_status(csms, status):
    return lambda e: isinstance(e, DiagnosticsStatusEvent) and e.status == status


async def test_supported_feature_profiles_name_firmware_management(sim, csms, firmware_agent):
    await firmware_agent(csms.port)
    await booted(csms)
    configuration = await csms.charge_points["CP-TEST-1"].async_get_configuration(["SupportedFeatureProfiles"])
    assert "FirmwareManagement" in configuration.values["SupportedFeatureProfiles"].value.split(",")


async def test_download_fails_after_the_retries(sim, csms, firmware_agent, http_server):
    await firmware_agent(csms.port, firmware=UNSIGNED)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    await cp.async_call(
        call.UpdateFirmware(location=http_server.url("/files/missing.bin"), retrieve_date=iso(now()), retries=2, retry_interval=1)
    )
    await csms.recorder.wait_for(firmware_status(csms, "DownloadFailed"), timeout=20)
    assert firmware_statuses(csms) == ["Downloading", "DownloadFailed"]
    assert http_server.requests["missing.bin"] == 2
    # §4.5: nothing under way any more → a triggered notification says Idle.
    mark = len(csms.recorder.events)
    assert await cp.async_trigger_message(MessageTrigger.FIRMWARE_STATUS_NOTIFICATION) == "Accepted"
    await csms.recorder.wait_for(firmware_status(csms, "Idle"), after=mark)


async def test_installed_after_the_restart(sim, csms, firmware_agent, ftp_server, tmp_path):
    (ftp_server.root / "fw-2.0.bin").write_bytes(FIRMWARE)
    await firmware_agent(csms.port, exit_status=0, firmware=UNSIGNED)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    await cp.async_call(call.UpdateFirmware(location=ftp_server.url("/fw-2.0.bin"), retrieve_date=iso(now()), retries=2, retry_interval=1))
    installing = await csms.recorder.wait_for(firmware_status(csms, "Installing"), timeout=20)
    # The agent restarts itself (a second BootNotification), then reports Installed.
    boot = await csms.recorder.wait_for(
        lambda e: isinstance(e, BootEvent), after=csms.recorder.events.index(installing), timeout=30
    )
    await csms.recorder.wait_for(firmware_status(csms, "Installed"), after=csms.recorder.events.index(boot), timeout=20)
    assert firmware_statuses(csms) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert (tmp_path / "installed.bin").read_bytes() == FIRMWARE


async def test_installation_failed_when_the_installer_fails(sim, csms, firmware_agent, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    await firmware_agent(csms.port, exit_status=1, firmware=UNSIGNED)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    await cp.async_call(call.UpdateFirmware(location=http_server.url("/files/fw.bin"), retrieve_date=iso(now())))
    await csms.recorder.wait_for(firmware_status(csms, "InstallationFailed"), timeout=20)
    assert firmware_statuses(csms) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
    assert len(csms.recorder.of(BootEvent)) == 1  # no restart


async def test_installation_waits_for_the_transaction_to_end(sim, csms, firmware_agent, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    await firmware_agent(csms.port, exit_status=1, firmware=UNSIGNED)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction("REMOTE-TAG", connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)

    await cp.async_call(call.UpdateFirmware(location=http_server.url("/files/fw.bin"), retrieve_date=iso(now())))
    downloaded = await csms.recorder.wait_for(firmware_status(csms, "Downloaded"), timeout=20)
    # Still charging: the triggered status is the real one, Downloaded, and nothing is installed.
    assert await cp.async_trigger_message(MessageTrigger.FIRMWARE_STATUS_NOTIFICATION) == "Accepted"
    await csms.recorder.wait_for(firmware_status(csms, "Downloaded"), after=csms.recorder.events.index(downloaded) + 1)
    assert "Installing" not in firmware_statuses(csms)

    assert await cp.async_remote_stop_transaction(started.transaction.transaction_id) == "Accepted"
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    installing = await csms.recorder.wait_for(firmware_status(csms, "Installing"), timeout=20)
    assert csms.recorder.events.index(installing) > csms.recorder.events.index(stopped)
    await csms.recorder.wait_for(firmware_status(csms, "InstallationFailed"), timeout=20)


def archive_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def check_archive(members: dict[str, bytes]) -> None:
    assert set(members) == {"state.json", "agent.log"}
    state = json.loads(members["state.json"])
    assert [c["id"] for c in state["connectors"]] == [1]
    assert state["connectors"][0]["status"] == "Available"
    assert state["outbox_length"] == 0 and state["open_transactions"] == []
    assert state["config"]["charge_point"]["id"] == "CP-TEST-1"
    assert "meter_sample_interval_s" in state["settings"]
    assert b"BootNotification accepted" in members["agent.log"]


async def test_get_diagnostics_to_ftp(sim, csms, firmware_agent, ftp_server):
    await firmware_agent(csms.port)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    (ftp_server.root / "diag").mkdir()
    result = await cp.async_call(
        call.GetDiagnostics(location=ftp_server.url("/diag/"), start_time=iso(now() - dt.timedelta(hours=1)))
    )
    assert result.file_name.startswith("diagnostics-CP-TEST-1-") and result.file_name.endswith(".tar.gz")
    await csms.recorder.wait_for(diagnostics_status(csms, "Uploaded"), timeout=20)
    assert [e.status for e in csms.recorder.of(DiagnosticsStatusEvent)] == ["Uploading", "Uploaded"]
    check_archive(archive_members((ftp_server.root / "diag" / result.file_name).read_bytes()))


async def test_get_diagnostics_to_http(sim, csms, firmware_agent, http_server):
    await firmware_agent(csms.port)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    result = await cp.async_call(call.GetDiagnostics(location=http_server.url("/upload"), retries=1))
    await csms.recorder.wait_for(diagnostics_status(csms, "Uploaded"), timeout=20)
    check_archive(archive_members(http_server.uploads[result.file_name]))
    # A stop time before the agent started leaves the log empty.
    mark = len(csms.recorder.events)
    again = await cp.async_call(
        call.GetDiagnostics(location=http_server.url("/upload"), stop_time=iso(now() - dt.timedelta(days=1)))
    )
    assert again.file_name != result.file_name
    await csms.recorder.wait_for(diagnostics_status(csms, "Uploaded"), after=mark, timeout=20)
    assert archive_members(http_server.uploads[again.file_name])["agent.log"] == b""


async def test_unreachable_upload_fails_after_the_retries(sim, csms, firmware_agent):
    await firmware_agent(csms.port, firmware=UNSIGNED)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    # A location the agent cannot use is refused at once, naming the problem.
    for request in (
        call.GetDiagnostics(location="file:///var/lib/evse-agent/"),
        call.UpdateFirmware(location="file:///tmp/fw.bin", retrieve_date=iso(now())),
    ):
        with pytest.raises(CsmsCallError, match="scheme 'file'"):
            await cp.async_call(request)
    result = await cp.async_call(call.GetDiagnostics(location=f"ftp://127.0.0.1:{closed_port()}/", retries=2, retry_interval=1))
    assert result.file_name
    await csms.recorder.wait_for(diagnostics_status(csms, "UploadFailed"), timeout=20)
    assert [e.status for e in csms.recorder.of(DiagnosticsStatusEvent)] == ["Uploading", "UploadFailed"]
    mark = len(csms.recorder.events)
    assert await cp.async_trigger_message(MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION) == "Accepted"
    await csms.recorder.wait_for(diagnostics_status(csms, "Idle"), after=mark)
