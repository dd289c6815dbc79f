"""OCTT module 25, Security (OCPP 1.6 Security Whitepaper, edition 3).

The backend's TLS side uses certificates of a test CA (tests/pki.py). Profile 1 is HTTP Basic
over ws://, 2 adds TLS, 3 is TLS with the charge point's certificate. Certificate operations
run on a profile 2 station: the whitepaper's home for them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conformance.conftest import CP_ID
from tests.conformance.test_19_firmware import FIRMWARE
from tests.file_servers import ftp_server, http_server  # noqa: F401 (fixtures)
from tests.firmware_signing import signer
from tests.pki import TestCA, key_pem, pem

KEY = b"0123456789abcdef0123"  # an AuthorizationKey: 20 bytes
NEW_KEY = b"fedcba9876543210fedc"


class Pki:
    """The CPO's certificate authority, the backend's server certificate, and files for the agent."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = TestCA("CPO Root CA")
        self.ca_path = self.ca.write(directory / "ca.pem")
        self.server = self.ca.server()

    def tls(self, *, client_ca: bool = False) -> dict:
        return {"cert": pem(self.server.cert), "key": key_pem(self.server.key).decode(),
                **({"ca": self.ca.pem} if client_ca else {})}

    def client(self) -> tuple[Path, Path]:
        return self.ca.client(CP_ID).write(self.directory, "charge-point")


@pytest.fixture
def pki(tmp_path) -> Pki:
    return Pki(tmp_path / "pki")


def write_key(station, key: bytes = KEY) -> None:
    path = station.data_dir / "authorization-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key.hex())
    path.chmod(0o600)


def profile_lines(profile: int, pki: Pki | None = None, client: tuple[Path, Path] | None = None) -> str:
    lines = [f"security_profile = {profile}"]
    if profile == 1:
        lines.append("allow_unencrypted = true")
    if pki is not None:
        lines.append(f'ca_bundle = "{pki.ca_path}"')
    if client is not None:
        lines += [f'client_cert = "{client[0]}"', f'client_key = "{client[1]}"']
    return "\n".join(lines)


async def profile_2_station(station, csms, pki: Pki, **options) -> None:
    await csms.listen(tls=pki.tls(), passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki), **options)


async def security_event(csms, kind: str, after: int = 0, timeout: float = 15.0) -> dict:
    return await csms.wait_call("SecurityEventNotification", lambda p: p["type"] == kind, after=after, timeout=timeout)


# ---- HTTP Basic, TLS, client certificates ----------------------------------------------------


async def test_TC_085_basic_authentication_valid_credentials(station, csms):
    await csms.listen(passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(1))
    connection = csms.events_of("connected")[-1]
    assert connection["password"] == KEY.hex() and connection["identity"] == CP_ID and connection["tls"] is None


async def test_TC_086_tls_server_side_certificate_valid(station, csms, pki):
    await profile_2_station(station, csms, pki)
    connection = csms.events_of("connected")[-1]
    assert connection["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert connection["password"] == KEY.hex()


async def test_TC_087_tls_client_side_certificate_valid(station, csms, pki):
    await csms.listen(tls=pki.tls(client_ca=True), require_client_cert=True)
    await station.boot(ocpp=profile_lines(3, pki, pki.client()))
    connection = csms.events_of("connected")[-1]
    assert connection["tls"]["client_cert"] == CP_ID and connection["tls"]["client_cert_authorized"]
    assert connection["password"] is None  # profile 3: the certificate, no HTTP Basic


async def test_TC_073_update_charge_point_password_for_http_basic_authentication(station, csms):
    await csms.listen(passwords=[KEY, NEW_KEY])
    write_key(station)
    # Profile 1 has no TLS: a new AuthorizationKey over it needs the operator's allowance
    # (README, "What the agent refuses").
    await station.boot(ocpp=profile_lines(1) + "\nallow_unencrypted_certificate_operations = true")
    mark = len(csms.events)
    reply = await csms.call("ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_KEY.hex()})
    assert reply == {"status": "Accepted"}
    connection = await csms.connected(after=mark)  # it reconnects with the new password at once
    assert connection["password"] == NEW_KEY.hex()
    await csms.expect_passwords([NEW_KEY])  # the old one is no longer accepted
    await security_event(csms, "ReconfigurationOfSecurityParameters")


async def test_TC_083_upgrade_charge_point_security_profile_accepted(station, csms, pki):
    # Profile 2 (TLS + password), with a charge point certificate already on the station.
    await csms.listen(tls=pki.tls(client_ca=True), passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki, pki.client()))
    assert csms.events_of("connected")[-1]["password"] == KEY.hex()
    mark = len(csms.events)
    await csms.expect_passwords(None)
    await csms.require_client_cert(True)
    assert await csms.call("ChangeConfiguration", {"key": "SecurityProfile", "value": "3"}) == {"status": "Accepted"}
    connection = await csms.connected(after=mark)  # reconnected with profile 3: its certificate, no password
    assert connection["tls"]["client_cert_authorized"] and connection["password"] is None
    config = await csms.call("GetConfiguration", {"key": ["SecurityProfile"]})
    assert config["configurationKey"][0]["value"] == "3"


async def test_TC_084_upgrade_charge_point_security_profile_rejected(station, csms, pki):
    await profile_2_station(station, csms, pki)
    assert await csms.call("ChangeConfiguration", {"key": "SecurityProfile", "value": "1"}) == {"status": "Rejected"}
    config = await csms.call("GetConfiguration", {"key": ["SecurityProfile"]})
    assert config["configurationKey"][0]["value"] == "2"


# ---- certificates ------------------------------------------------------------------------------


async def sign_charge_point_certificate(csms) -> str:
    """ExtendedTriggerMessage SignChargePointCertificate → the CSR of SignCertificate.req."""
    mark = csms.mark()
    reply = await csms.call("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    assert reply == {"status": "Accepted"}
    return (await csms.wait_call("SignCertificate", after=mark))["csr"]


async def test_TC_074_update_charge_point_certificate_by_request_of_central_system(station, csms, pki):
    await csms.listen(tls=pki.tls(client_ca=True), require_client_cert=True)
    await station.boot(ocpp=profile_lines(3, pki, pki.client()))
    first = csms.events_of("connected")[-1]["tls"]["client_cert_serial"]
    csr = await sign_charge_point_certificate(csms)
    signed = pki.ca.sign_csr(csr)
    mark = len(csms.events)
    assert await csms.call("CertificateSigned", {"certificateChain": pem(signed)}) == {"status": "Accepted"}
    connection = await csms.connected(after=mark)  # the new certificate is used at once
    assert int(connection["tls"]["client_cert_serial"], 16) == signed.serial_number
    assert connection["tls"]["client_cert_serial"] != first


async def test_TC_077_invalid_charge_point_certificate_security_event(station, csms, pki):
    await profile_2_station(station, csms, pki)
    csr = await sign_charge_point_certificate(csms)
    stranger = TestCA("Not the CPO's CA").sign_csr(csr)
    mark = csms.mark()
    assert await csms.call("CertificateSigned", {"certificateChain": pem(stranger)}) == {"status": "Rejected"}
    await security_event(csms, "InvalidChargePointCertificate", after=mark)


async def test_TC_075_1_install_certificate_manufacturer_root_certificate(station, csms, pki):
    # Firmware trust anchors come from the installation unless the operator lets the backend
    # install them (README, "What the agent refuses"); this case needs that allowance.
    await profile_2_station(station, csms, pki, firmware="manufacturer_roots_from_backend = true")
    manufacturer = TestCA("Manufacturer Root CA")
    reply = await csms.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                   "certificate": manufacturer.pem})
    assert reply == {"status": "Accepted"}
    ids = await csms.call("GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
    assert ids["status"] == "Accepted"
    assert [int(i["serialNumber"], 16) for i in ids["certificateHashData"]] == [manufacturer.cert.serial_number]


async def test_TC_075_2_install_certificate_central_system_root_certificate(station, csms, pki):
    await profile_2_station(station, csms, pki)
    other = TestCA("Second CPO Root CA")
    reply = await csms.call("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                   "certificate": other.pem})
    assert reply == {"status": "Accepted"}
    ids = await csms.call("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
    assert other.cert.serial_number in [int(i["serialNumber"], 16) for i in ids["certificateHashData"]]


async def test_TC_076_delete_a_specific_certificate_from_the_charge_point(station, csms, pki):
    await profile_2_station(station, csms, pki)
    other = TestCA("Second CPO Root CA")
    reply = await csms.call("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                   "certificate": other.pem})
    assert reply == {"status": "Accepted"}
    ids = await csms.call("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
    wanted = next(i for i in ids["certificateHashData"] if int(i["serialNumber"], 16) == other.cert.serial_number)
    assert await csms.call("DeleteCertificate", {"certificateHashData": wanted}) == {"status": "Accepted"}
    assert await csms.call("DeleteCertificate", {"certificateHashData": wanted}) == {"status": "NotFound"}
    ids = await csms.call("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
    assert wanted not in ids.get("certificateHashData", [])


async def test_TC_078_invalid_central_system_certificate_security_event(station, csms, pki):
    await profile_2_station(station, csms, pki)
    impostor = TestCA("Impostor CA").server()
    await csms.present_server_cert(pem(impostor.cert), key_pem(impostor.key).decode())
    mark = len(csms.events)
    await csms.drop_connection()
    await csms.wait_event("tls_error", after=mark)  # the charge point refused the impostor
    calls = csms.mark()
    await csms.present_server_cert(pem(pki.server.cert), key_pem(pki.server.key).decode())
    await csms.connected(after=mark, timeout=30)
    event = await security_event(csms, "InvalidCentralSystemCertificate", after=calls)
    assert event["timestamp"]


# ---- logs and secure firmware update -------------------------------------------------------------


async def test_TC_079_get_security_log(station, csms, pki, ftp_server):
    await profile_2_station(station, csms, pki)
    mark = csms.mark()
    reply = await csms.call("GetLog", {"logType": "SecurityLog", "requestId": 79,
                                       "log": {"remoteLocation": ftp_server.url("/")}})
    assert reply["status"] == "Accepted"
    await csms.wait_call("LogStatusNotification", lambda p: p["status"] == "Uploaded", after=mark, timeout=20)
    assert [(p["status"], p.get("requestId")) for p in csms.calls_of("LogStatusNotification", after=mark)] == [
        ("Uploading", 79), ("Uploaded", 79)]
    assert (ftp_server.root / reply["filename"]).stat().st_size > 0


def provision_manufacturer_root(station, manufacturer: TestCA) -> str:
    """The manufacturer's root, installed on the charge point when it was built (not by the
    backend): a PEM file the configuration names (``[firmware] manufacturer_roots``)."""
    path = station.data_dir.parent / "manufacturer-root.pem"
    path.write_text(manufacturer.pem)
    return f'manufacturer_roots = ["{path}"]'


def signed_update(request_id: int, location: str, signing, signature: str) -> dict:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"requestId": request_id, "retries": 1, "retryInterval": 1,
            "firmware": {"location": location, "retrieveDateTime": now,
                         "signingCertificate": signing.pem, "signature": signature}}


async def test_TC_080_secure_firmware_update(station, csms, pki, http_server):
    manufacturer = TestCA("Manufacturer Root CA")
    good = signer(manufacturer)
    http_server.files["fw.bin"] = FIRMWARE
    await profile_2_station(station, csms, pki, firmware=provision_manufacturer_root(station, manufacturer))
    mark = csms.mark()
    reply = await csms.call("SignedUpdateFirmware", signed_update(80, http_server.url("/files/fw.bin"), good,
                                                                  good.sign(FIRMWARE)))
    assert reply == {"status": "Accepted"}
    await csms.wait_call("SignedFirmwareStatusNotification", lambda p: p["status"] == "Installed", after=mark, timeout=30)
    statuses = [(p["status"], p.get("requestId")) for p in csms.calls_of("SignedFirmwareStatusNotification", after=mark)]
    assert statuses == [(s, 80) for s in ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed")]
    assert csms.calls_of("BootNotification", after=mark)  # the new firmware was started
    await security_event(csms, "FirmwareUpdated", after=mark)


async def test_TC_081_secure_firmware_update_invalid_signature(station, csms, pki, http_server):
    manufacturer = TestCA("Manufacturer Root CA")
    good = signer(manufacturer)
    http_server.files["fw.bin"] = FIRMWARE
    await profile_2_station(station, csms, pki, firmware=provision_manufacturer_root(station, manufacturer))
    mark = csms.mark()
    wrong = good.sign(FIRMWARE + b"something else")
    reply = await csms.call("SignedUpdateFirmware", signed_update(81, http_server.url("/files/fw.bin"), good, wrong))
    assert reply == {"status": "Accepted"}
    await csms.wait_call("SignedFirmwareStatusNotification", lambda p: p["status"] == "InvalidSignature", after=mark,
                         timeout=20)
    await security_event(csms, "InvalidFirmwareSignature", after=mark)
    assert not csms.calls_of("BootNotification", after=mark)  # nothing installed
