"""OCTT 2.0.1 block L (Firmware management): secure firmware updates (L01), each
FirmwareStatusNotification with the update's requestId, the installation after the running
transactions (with AllowNewSessionsPendingFirmwareUpdate), and the security events.

The station installs with ``[firmware] installer`` (a command that succeeds, fails, or waits for
the test) and then restarts itself to run what it installed, as the real one does. Its firmware
trust anchor is a manufacturer root of the installation (``[firmware] manufacturer_roots``);
the signing certificates are issued by it (tests/firmware_signing.py). Cases L_12, L_13 (the
download waits for the transaction) and L_16 (the installation does not) are for stations built
otherwise (tests/conformance201/cases.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from simulator.twins.gpio import agent_toml
from tests.conformance.conftest import CONTACTOR_WIRES, REMOTE, VALID
from tests.conformance.test_19_firmware import FIRMWARE
from tests.conformance201.conftest import Station201
from tests.conformance201.security_steps import security_event
from tests.file_servers import http_server  # noqa: F401 (fixture)
from tests.firmware_signing import Signer, signer
from tests.ocpp201.conftest import library_csms  # noqa: F401 (fixture)
from tests.pki import TestCA

NAME = "evse-agent-2.0.bin"
FIRMWARE_FILE = f"/files/{NAME}"


class Manufacturer:
    """The manufacturer: its root (on the station since it was built) and a signing certificate."""

    def __init__(self, station) -> None:
        self.root = TestCA("Manufacturer Root CA")
        self.signer = signer(self.root)
        self.root_file = station.data_dir.parent / "manufacturer-root.pem"
        self.root.write(self.root_file)

    def firmware_lines(self, *more: str) -> str:
        return "\n".join([f'manufacturer_roots = ["{self.root_file}"]', *more])


@pytest.fixture
def manufacturer(station) -> Manufacturer:
    return Manufacturer(station)


def at(seconds: float) -> str:
    """A date-time ``seconds`` from now (negative: in the past), as the OCTT sends it."""
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def update_firmware(request_id: int, location: str, signing: Signer | None, signature: str | None, *,
                    retrieve_in: float = -7200, install_in: float | None = -7200) -> dict:
    """UpdateFirmwareRequest; by default the OCTT's times, two hours ago."""
    firmware: dict = {"location": location, "retrieveDateTime": at(retrieve_in)}
    if install_in is not None:
        firmware["installDateTime"] = at(install_in)
    if signing is not None:
        firmware["signingCertificate"] = signing.pem
    if signature is not None:
        firmware["signature"] = signature
    return {"requestId": request_id, "retries": 1, "retryInterval": 1, "firmware": firmware}


def statuses(csms, after: int = 0) -> list[tuple[str, int | None]]:
    return [(p["status"], p.get("requestId")) for p in csms.calls_of("FirmwareStatusNotification", after=after)]


async def firmware_status(csms, status: str, *, after: int = 0, timeout: float = 20.0) -> dict:
    return await csms.wait_call("FirmwareStatusNotification", lambda p: p["status"] == status, after=after,
                                timeout=timeout)


async def installed_after_reboot(csms, after: int, request_id: int) -> None:
    """L01.FR.28/31: Installing, the reboot that runs the new firmware (BootNotification reason
    FirmwareUpdate, the connectors' status), then Installed and the security event FirmwareUpdated."""
    installing = await csms.wait_for_call("FirmwareStatusNotification", lambda p: p["status"] == "Installing",
                                          after=after, timeout=30)
    boot = await csms.wait_for_call("BootNotification", after=installing.seq, timeout=30)
    assert boot.payload["reason"] == "FirmwareUpdate"
    status = await csms.wait_for_call("StatusNotification", after=boot.seq)
    installed = await csms.wait_for_call("FirmwareStatusNotification", lambda p: p["status"] == "Installed",
                                         after=status.seq, timeout=20)
    assert installed.payload["requestId"] == request_id
    await security_event(csms, "FirmwareUpdated", after=after)


async def test_TC_L_01_secure_firmware_update_installation_successful(station, csms, manufacturer, http_server):
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        1, http_server.url(FIRMWARE_FILE), manufacturer.signer, manufacturer.signer.sign(FIRMWARE)))
    assert reply["status"] == "Accepted"
    await installed_after_reboot(csms, mark, 1)
    assert statuses(csms, mark) == [(s, 1) for s in ("Downloading", "Downloaded", "SignatureVerified", "Installing",
                                                     "Installed")]


async def test_TC_L_02_secure_firmware_update_install_scheduled(station, csms, manufacturer, http_server):
    """L01.FR.16: installDateTime in the future: InstallScheduled, and the installation then."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        2, http_server.url(FIRMWARE_FILE), manufacturer.signer, manufacturer.signer.sign(FIRMWARE), install_in=4))
    assert reply["status"] == "Accepted"
    scheduled = await firmware_status(csms, "InstallScheduled", after=mark)
    assert scheduled["requestId"] == 2 and not any(s == "Installing" for s, _ in statuses(csms, mark))
    await installed_after_reboot(csms, mark, 2)
    assert statuses(csms, mark) == [(s, 2) for s in ("Downloading", "Downloaded", "SignatureVerified",
                                                     "InstallScheduled", "Installing", "Installed")]


async def test_TC_L_03_secure_firmware_update_download_scheduled(station, csms, manufacturer, http_server):
    """L01.FR.13: retrieveDateTime in the future: DownloadScheduled, and the download then."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        3, http_server.url(FIRMWARE_FILE), manufacturer.signer, manufacturer.signer.sign(FIRMWARE), retrieve_in=4))
    assert reply["status"] == "Accepted"
    await firmware_status(csms, "DownloadScheduled", after=mark)
    assert http_server.requests[NAME] == 0  # not downloaded before its time
    await installed_after_reboot(csms, mark, 3)
    assert statuses(csms, mark) == [(s, 3) for s in ("DownloadScheduled", "Downloading", "Downloaded",
                                                     "SignatureVerified", "Installing", "Installed")]


async def test_TC_L_05_secure_firmware_update_invalid_certificate(station, csms, manufacturer, http_server):
    """L01.FR.21/22/02: an expired signing certificate: InvalidCertificate, the security event
    InvalidFirmwareSigningCertificate, nothing downloaded."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    expired = signer(manufacturer.root, expired=True)
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(5, http_server.url(FIRMWARE_FILE), expired,
                                                              expired.sign(FIRMWARE)))
    assert reply["status"] == "InvalidCertificate"
    await security_event(csms, "InvalidFirmwareSigningCertificate", after=mark)
    await csms.barrier()
    assert statuses(csms, mark) == [] and http_server.requests[NAME] == 0


async def test_TC_L_06_secure_firmware_update_invalid_signature(station, csms, manufacturer, http_server):
    """L01.FR.03: the signature does not match the file: InvalidSignature, the security event
    InvalidFirmwareSignature, nothing installed."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    wrong = manufacturer.signer.sign(FIRMWARE + b"tampered")
    reply = await csms.call("UpdateFirmware", update_firmware(6, http_server.url(FIRMWARE_FILE), manufacturer.signer,
                                                              wrong))
    assert reply["status"] == "Accepted"
    await firmware_status(csms, "InvalidSignature", after=mark)
    await security_event(csms, "InvalidFirmwareSignature", after=mark)
    await csms.barrier()
    assert statuses(csms, mark) == [("Downloading", 6), ("Downloaded", 6), ("InvalidSignature", 6)]
    assert not csms.calls_of("BootNotification", after=mark)


async def test_TC_L_07_secure_firmware_update_download_failed(station, library_csms, http_server):
    """L01.FR.30: every download attempt failed: DownloadFailed. Against the ocpp library's CSMS
    (a second backend, tests/ocpp201/csms.py)."""
    manufacturer = Manufacturer(station)
    await station.start(csms_url=library_csms.url(), firmware=manufacturer.firmware_lines())
    await library_csms.wait_call("StatusNotification", timeout=30)
    mark = library_csms.mark()
    reply = await library_csms.request("UpdateFirmware", update_firmware(
        7, http_server.url("/files/missing.bin"), manufacturer.signer, manufacturer.signer.sign(FIRMWARE)))
    assert reply["status"] == "Accepted"
    await library_csms.wait_call("FirmwareStatusNotification", lambda p: p["status"] == "DownloadFailed", after=mark,
                                 timeout=20)
    sent = [(p["status"], p.get("requestId")) for p in library_csms.calls_of("FirmwareStatusNotification", after=mark)]
    assert sent == [("Downloading", 7), ("DownloadFailed", 7)]


async def test_TC_L_08_secure_firmware_update_install_verification_failed_or_installation_failed(
        station, csms, manufacturer, http_server):
    """The installer fails: InstallationFailed, and the station goes on with the firmware it has."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines(), installer="false")
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        8, http_server.url(FIRMWARE_FILE), manufacturer.signer, manufacturer.signer.sign(FIRMWARE)))
    assert reply["status"] == "Accepted"
    await firmware_status(csms, "InstallationFailed", after=mark)
    assert statuses(csms, mark) == [(s, 8) for s in ("Downloading", "Downloaded", "SignatureVerified", "Installing",
                                                     "InstallationFailed")]
    assert not csms.calls_of("BootNotification", after=mark)


async def test_TC_L_10_secure_firmware_update_accepted_canceled(station, csms, manufacturer, http_server):
    """L01.FR.24: a new request while one waits for its download cancels it: AcceptedCanceled;
    from then on every notification is the new request's."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    signature = manufacturer.signer.sign(FIRMWARE)
    first = update_firmware(101, http_server.url(FIRMWARE_FILE), manufacturer.signer, signature, retrieve_in=3600)
    assert (await csms.call("UpdateFirmware", first))["status"] == "Accepted"
    scheduled = await firmware_status(csms, "DownloadScheduled", after=mark)
    assert scheduled["requestId"] == 101
    second_mark = csms.mark()
    second = update_firmware(102, http_server.url(FIRMWARE_FILE), manufacturer.signer, signature)
    assert (await csms.call("UpdateFirmware", second))["status"] == "AcceptedCanceled"
    await installed_after_reboot(csms, second_mark, 102)
    assert statuses(csms, second_mark) == [(s, 102) for s in ("Downloading", "Downloaded", "SignatureVerified",
                                                              "Installing", "Installed")]


async def test_TC_L_11_secure_firmware_update_unable_to_cancel(station, csms, manufacturer, http_server, tmp_path):
    """L01.FR.27: a new request while the firmware is being installed: Rejected; the installation
    goes on."""
    http_server.files[NAME] = FIRMWARE
    release = tmp_path / "installer-may-finish"
    installer = f"sh -c 'while [ ! -e {release} ]; do sleep 0.05; done'"  # installs until the test says so
    await station.boot(firmware=manufacturer.firmware_lines(), installer=installer)
    mark = csms.mark()
    signature = manufacturer.signer.sign(FIRMWARE)
    first = update_firmware(111, http_server.url(FIRMWARE_FILE), manufacturer.signer, signature)
    assert (await csms.call("UpdateFirmware", first))["status"] == "Accepted"
    await firmware_status(csms, "Installing", after=mark)
    second = update_firmware(112, http_server.url(FIRMWARE_FILE), manufacturer.signer, signature)
    assert (await csms.call("UpdateFirmware", second))["status"] == "Rejected"
    release.touch()
    await installed_after_reboot(csms, mark, 111)
    assert all(request_id == 111 for _, request_id in statuses(csms, mark))


async def charging(station, csms, evse: int = 1) -> str:
    """OCTT reusable state EnergyTransferStarted on ``evse`` (a card on EVSE 1, the CSMS's start
    on another): its transactionId."""
    mark = csms.mark()
    if evse == 1:
        station.plug()
        await station.tap(VALID)
    else:
        reply = await csms.call("RequestStartTransaction", {"evseId": evse, "remoteStartId": 14,
                                                            "idToken": {"idToken": REMOTE, "type": "Central"}})
        assert reply["status"] == "Accepted"
        station.sim.plug(evse)
    started = await csms.wait_transaction_event("Started", lambda p: p["evse"]["id"] == evse, after=mark)
    await station.sim.wait_for(lambda s: s["evses"][evse - 1]["contactor_closed"], timeout=10)
    return started["transactionInfo"]["transactionId"]


async def test_TC_L_15_secure_firmware_update_unable_to_install_and_activate_firmware_with_ongoing_transaction_allow_new_sessions_pending_firmware_update_is_false(  # noqa: E501
        station, csms, manufacturer, http_server):
    """L01.FR.06/07: downloaded and verified during the transaction, installed once it ended;
    meanwhile no new session: the EVSE that becomes free is Unavailable until the firmware is
    installed; after the reboot it is Available again."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    setting = await csms.call("SetVariables", {"setVariableData": [
        {"component": {"name": "ChargingStation"}, "variable": {"name": "AllowNewSessionsPendingFirmwareUpdate"},
         "attributeValue": "false"}]})
    assert setting["setVariableResult"][0]["attributeStatus"] == "Accepted"
    transaction = await charging(station, csms)
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        15, http_server.url(FIRMWARE_FILE), manufacturer.signer, manufacturer.signer.sign(FIRMWARE)))
    assert reply["status"] == "Accepted"
    await firmware_status(csms, "SignatureVerified", after=mark)
    await csms.barrier()
    assert not any(s == "Installing" for s, _ in statuses(csms, mark))  # the transaction goes on
    assert station.evse()["contactor_closed"]
    station.unplug()
    ended = await csms.wait_for_call("TransactionEvent", lambda p: p["eventType"] == "Ended", after=mark)
    assert ended.payload["transactionInfo"]["transactionId"] == transaction
    unavailable = await csms.wait_for_call("StatusNotification", lambda p: p["connectorStatus"] == "Unavailable",
                                           after=mark)
    installing = await csms.wait_for_call("FirmwareStatusNotification", lambda p: p["status"] == "Installing",
                                          after=mark, timeout=30)
    assert ended.seq < installing.seq and unavailable.seq < installing.seq
    await installed_after_reboot(csms, mark, 15)
    await csms.wait_connector_status("Available", after=installing.seq)


# ---- a station with two EVSEs (TC_L_14: a second transaction while the update waits) -------------


@pytest.fixture
async def sim2() -> AsyncIterator[Simulator]:
    """The conformance simulator (tests/conformance/conftest.py), with both of its EVSEs."""
    data = default_toml()
    data["i2c"] = {**data["i2c"], "nfc": "pn532", "temperature_sensor": "none"}
    config = parse_config(data)
    config = dataclasses.replace(config, vpcd=dataclasses.replace(config.vpcd, port=0, hold_s=0.6))
    simulator = Simulator(config, http=False, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def station2(sim2, csms, tmp_path) -> AsyncIterator[Station201]:
    cp = Station201(sim2, csms, tmp_path)
    yield cp
    await cp.stop()
    if cp.agent is not None:
        print(cp.log()[-8000:])


def second_evse() -> str:
    """The [[connectors]] table of EVSE 2: the simulator's second board and meter, its contactor."""
    return f"""
[[connectors]]
id = 2
max_current_a = 16
poll_interval_s = 0.1
[connectors.board]
driver = "evse-din"
bus = "sim"
unit = 3
min_interval_s = 0.0
[connectors.meter]
driver = "sdm630"
bus = "sim"
unit = 4
{agent_toml(2, CONTACTOR_WIRES)}"""


async def test_TC_L_14_secure_firmware_update_unable_to_install_and_activate_firmware_with_ongoing_transaction_allow_new_sessions_pending_firmware_update_is_true(  # noqa: E501
        station2, csms, http_server):
    """AllowNewSessionsPendingFirmwareUpdate true: while the installation waits for the
    transaction on EVSE 1, EVSE 2 stays Available and a new transaction starts there; the
    firmware is installed once both ended (L01.FR.06)."""
    station = station2
    manufacturer = Manufacturer(station)
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines(), extra=second_evse())
    setting = await csms.call("SetVariables", {"setVariableData": [
        {"component": {"name": "ChargingStation"}, "variable": {"name": "AllowNewSessionsPendingFirmwareUpdate"},
         "attributeValue": "true"}]})
    assert setting["setVariableResult"][0]["attributeStatus"] == "Accepted"
    await charging(station, csms, 1)
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(
        14, http_server.url(FIRMWARE_FILE), manufacturer.signer, manufacturer.signer.sign(FIRMWARE)))
    assert reply["status"] == "Accepted"
    await firmware_status(csms, "SignatureVerified", after=mark)
    await charging(station, csms, 2)  # a new session while the update waits
    station.unplug()  # the first transaction ends; the second goes on
    first_ended = await csms.wait_for_call("TransactionEvent", lambda p: p["eventType"] == "Ended", after=mark)
    await csms.barrier()
    assert not any(s == "Installing" for s, _ in statuses(csms, mark))
    assert "Unavailable" not in csms.connector_statuses(evse=2, after=mark)
    station.sim.unplug(2)
    second_ended = await csms.wait_for_call("TransactionEvent", lambda p: p["eventType"] == "Ended",
                                            after=first_ended.seq + 1)
    installing = await csms.wait_for_call("FirmwareStatusNotification", lambda p: p["status"] == "Installing",
                                          after=mark, timeout=30)
    assert second_ended.seq < installing.seq
    await installed_after_reboot(csms, mark, 14)


async def test_TC_L_18_secure_firmware_update_missing_firmware_signing_certificate_and_signature(
        station, csms, manufacturer, http_server):
    """A station that updates securely takes no unsigned firmware ([firmware] allow_unsigned is
    false): Rejected, nothing downloaded."""
    http_server.files[NAME] = FIRMWARE
    await station.boot(firmware=manufacturer.firmware_lines())
    mark = csms.mark()
    reply = await csms.call("UpdateFirmware", update_firmware(18, http_server.url(FIRMWARE_FILE), None, None))
    assert reply["status"] in ("Rejected", "InvalidCertificate")
    await csms.barrier()
    assert statuses(csms, mark) == [] and http_server.requests[NAME] == 0
