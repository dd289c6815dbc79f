"""OCTT module 19, Firmware Management (OCPP 1.6 §3.11, §4.5, §5.19 UpdateFirmware).

The station installs with ``[firmware] installer`` (here a command that succeeds or fails).
Where the agent refuses an unsigned UpdateFirmware unless its local configuration allows it
(Security Whitepaper L01.FR.20), the station under test is configured to allow it.
"""

from __future__ import annotations

import datetime as dt

from tests.file_servers import http_server  # noqa: F401 (fixture)

FIRMWARE = b"evse-agent firmware image " * 2048


def allow_unsigned() -> str:
    """The [firmware] line that lets the agent take an unsigned UpdateFirmware (refused by
    default, Security Whitepaper L01.FR.20; README "What the agent refuses")."""
    return "allow_unsigned = true"


def update_firmware(location: str) -> dict:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"location": location, "retrieveDate": now, "retries": 1, "retryInterval": 1}


def firmware_statuses(csms, after: int = 0) -> list[str]:
    return [p["status"] for p in csms.calls_of("FirmwareStatusNotification", after=after)]


async def test_TC_044_1_firmware_update_download_and_install(station, csms, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    await station.boot(firmware=allow_unsigned())
    mark = csms.mark()
    assert await csms.call("UpdateFirmware", update_firmware(http_server.url("/files/fw.bin"))) == {}
    await csms.wait_call("FirmwareStatusNotification", lambda p: p["status"] == "Installing", after=mark, timeout=20)
    await csms.wait_call("BootNotification", after=mark, timeout=30)  # the new firmware runs
    await csms.wait_call("FirmwareStatusNotification", lambda p: p["status"] == "Installed", after=mark, timeout=20)
    assert firmware_statuses(csms, mark) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert http_server.requests["fw.bin"] == 1


async def test_TC_044_2_firmware_update_download_failed(station, csms, http_server):
    await station.boot(firmware=allow_unsigned())
    mark = csms.mark()
    assert await csms.call("UpdateFirmware", update_firmware(http_server.url("/files/missing.bin"))) == {}
    await csms.wait_call("FirmwareStatusNotification", lambda p: p["status"] == "DownloadFailed", after=mark, timeout=20)
    assert firmware_statuses(csms, mark) == ["Downloading", "DownloadFailed"]
    mark = csms.mark()
    assert await csms.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {"status": "Accepted"}
    assert await csms.wait_call("FirmwareStatusNotification", after=mark) == {"status": "Idle"}  # §4.5


async def test_TC_044_3_firmware_update_installation_failed(station, csms, http_server):
    http_server.files["fw.bin"] = FIRMWARE
    await station.boot(firmware=allow_unsigned(), installer="false")
    mark = csms.mark()
    assert await csms.call("UpdateFirmware", update_firmware(http_server.url("/files/fw.bin"))) == {}
    await csms.wait_call("FirmwareStatusNotification", lambda p: p["status"] == "InstallationFailed", after=mark,
                         timeout=20)
    assert firmware_statuses(csms, mark) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
    assert not csms.calls_of("BootNotification", after=mark)  # still the old firmware, still running
