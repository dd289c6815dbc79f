"""OCTT 2.0.1 block M (certificate management) as far as it applies to a station without an ISO
15118 stack: the CSMS roots and the manufacturer roots, installed (M05), listed (M03) and
deleted (M04), over a security profile 2 link (certificate operations need TLS: README, "What
the agent refuses"). The V2G and MO cases are not applicable (tests/conformance201/cases.py).

Manufacturer roots are the firmware trust anchors: by default they come from the installation
(``[firmware] manufacturer_roots``), and a backend may not install them; the cases that install
one configure ``[firmware] manufacturer_roots_from_backend = true`` and say so.
"""

from __future__ import annotations

import pytest

from tests.conformance201.security_steps import (  # noqa: F401 (pki: fixture)
    hash_data,
    installed_certificates,
    pki,
    profile_2_station,
    renew_charging_station_certificate,
    security_event,
    serials,
)
from tests.ocpp201.conftest import library_csms  # noqa: F401 (fixture)
from tests.pki import TestCA, key_pem, pem

MANUFACTURER_ROOTS_FROM_BACKEND = "manufacturer_roots_from_backend = true"
# The installation's choice (SecurityCtrlr.AdditionalRootCertificateCheck is ReadOnly).
ADDITIONAL_ROOT_CERTIFICATE_CHECK = "additional_root_certificate_check = true"


def manufacturer_root_of_the_installation(station, root: TestCA) -> str:
    """The [firmware] line naming a manufacturer root the station was built with."""
    path = station.data_dir.parent / "manufacturer-root.pem"
    root.write(path)
    return f'manufacturer_roots = ["{path}"]'


async def install(csms, certificate_type: str, ca: TestCA) -> str:
    reply = await csms.call("InstallCertificate", {"certificateType": certificate_type, "certificate": ca.pem})
    return reply["status"]


async def test_TC_M_01_install_ca_certificate_csms_root_certificate(station, csms, pki):
    """M05.FR.01/02: Accepted, and GetInstalledCertificateIds CSMSRootCertificate lists it (the
    reusable states CertificateInstalled and GetInstalledCertificates); then removed again, as the
    tool does when AdditionalRootCertificateCheck is false."""
    await profile_2_station(station, csms, pki)
    other = TestCA("Second CSMS Root CA")
    assert await install(csms, "CSMSRootCertificate", other) == "Accepted"
    reply = await installed_certificates(csms, ["CSMSRootCertificate"])
    assert reply["status"] == "Accepted"
    entry = next(e for e in reply["certificateHashDataChain"] if int(e["certificateHashData"]["serialNumber"], 16)
                 == other.cert.serial_number)
    assert entry == {"certificateType": "CSMSRootCertificate", "certificateHashData": hash_data(other.cert, other.cert)}
    deleted = await csms.call("DeleteCertificate", {"certificateHashData": entry["certificateHashData"]})
    assert deleted == {"status": "Accepted"}


async def test_TC_M_02_install_ca_certificate_manufacturer_root_certificate(station, csms, pki):
    # The backend installs a firmware trust anchor only where the installation allows it.
    await profile_2_station(station, csms, pki, firmware=MANUFACTURER_ROOTS_FROM_BACKEND)
    manufacturer = TestCA("Manufacturer Root CA")
    assert await install(csms, "ManufacturerRootCertificate", manufacturer) == "Accepted"
    reply = await installed_certificates(csms, ["ManufacturerRootCertificate"])
    assert reply["status"] == "Accepted"
    assert serials(reply) == [manufacturer.cert.serial_number]
    assert reply["certificateHashDataChain"][0]["certificateType"] == "ManufacturerRootCertificate"


async def test_TC_M_07_install_ca_certificate_rejected_certificate_invalid(station, csms, pki):
    """M05.FR.03: an expired CA certificate is Rejected and not installed."""
    await profile_2_station(station, csms, pki)
    expired = TestCA("Expired CSMS Root CA", expired=True)
    assert await install(csms, "CSMSRootCertificate", expired) == "Rejected"
    reply = await installed_certificates(csms, ["CSMSRootCertificate"])
    assert expired.cert.serial_number not in serials(reply)


async def test_TC_M_12_retrieve_certificates_csms_root_certificate(station, csms, pki):
    await profile_2_station(station, csms, pki)
    installed = TestCA("Installed CSMS Root CA")
    assert await install(csms, "CSMSRootCertificate", installed) == "Accepted"  # memory state CertificateInstalled
    reply = await installed_certificates(csms, ["CSMSRootCertificate"])
    assert reply["status"] == "Accepted"
    assert serials(reply, "CSMSRootCertificate") == [installed.cert.serial_number]
    assert [e["certificateType"] for e in reply["certificateHashDataChain"]] == ["CSMSRootCertificate"]


async def test_TC_M_13_retrieve_certificates_manufacturer_root_certificate(station, csms, pki):
    """M03.FR.01/03/04: the manufacturer root the station was built with is reported too."""
    manufacturer = TestCA("Manufacturer Root CA")
    await profile_2_station(station, csms, pki, firmware=manufacturer_root_of_the_installation(station, manufacturer))
    reply = await installed_certificates(csms, ["ManufacturerRootCertificate"])
    assert reply["status"] == "Accepted"
    assert reply["certificateHashDataChain"] == [
        {"certificateType": "ManufacturerRootCertificate", "certificateHashData": hash_data(manufacturer.cert, manufacturer.cert)}]


async def test_TC_M_17_retrieve_certificates_csms_root_and_manufacturer_root_certificate(station, csms, pki):
    manufacturer = TestCA("Manufacturer Root CA")
    await profile_2_station(station, csms, pki, firmware=manufacturer_root_of_the_installation(station, manufacturer))
    csms_root = TestCA("Installed CSMS Root CA")
    assert await install(csms, "CSMSRootCertificate", csms_root) == "Accepted"
    reply = await installed_certificates(csms, ["CSMSRootCertificate", "ManufacturerRootCertificate"])
    assert reply["status"] == "Accepted"
    assert serials(reply, "CSMSRootCertificate") == [csms_root.cert.serial_number]
    assert serials(reply, "ManufacturerRootCertificate") == [manufacturer.cert.serial_number]


async def test_TC_M_18_retrieve_certificates_all_certificate_types(station, csms, pki):
    """certificateType omitted: every root the station holds, of every type (M03.FR.03)."""
    manufacturer = TestCA("Manufacturer Root CA")
    await profile_2_station(station, csms, pki, firmware=manufacturer_root_of_the_installation(station, manufacturer))
    csms_root = TestCA("Installed CSMS Root CA")
    assert await install(csms, "CSMSRootCertificate", csms_root) == "Accepted"
    reply = await installed_certificates(csms)
    assert reply["status"] == "Accepted"
    assert sorted((e["certificateType"], int(e["certificateHashData"]["serialNumber"], 16))
                  for e in reply["certificateHashDataChain"]) == sorted(
        [("CSMSRootCertificate", csms_root.cert.serial_number),
         ("ManufacturerRootCertificate", manufacturer.cert.serial_number)])


async def test_TC_M_19_retrieve_certificates_no_matching_certificate_found(station, library_csms):
    """M03.FR.02: NotFound, without certificateHashDataChain. Against the ocpp library's CSMS (a
    second backend, tests/ocpp201/csms.py); listing roots needs no TLS."""
    await station.start(csms_url=library_csms.url())
    await library_csms.wait_call("StatusNotification", timeout=30)
    found = await library_csms.request("GetInstalledCertificateIds", {"certificateType": ["ManufacturerRootCertificate"]})
    assert found == {"status": "NotFound"}
    found = await library_csms.request("GetInstalledCertificateIds", {"certificateType": ["V2GRootCertificate"]})
    assert found == {"status": "NotFound"}


async def test_TC_M_20_delete_a_certificate_success(station, csms, pki):
    """M04.FR.01/03: Accepted, and the certificate is no longer listed."""
    await profile_2_station(station, csms, pki)
    other = TestCA("Second CSMS Root CA")
    assert await install(csms, "CSMSRootCertificate", other) == "Accepted"
    reply = await installed_certificates(csms)
    wanted = next(e["certificateHashData"] for e in reply["certificateHashDataChain"]
                  if int(e["certificateHashData"]["serialNumber"], 16) == other.cert.serial_number)
    assert await csms.call("DeleteCertificate", {"certificateHashData": wanted}) == {"status": "Accepted"}
    assert other.cert.serial_number not in serials(await installed_certificates(csms))


async def test_TC_M_22_delete_a_certificate_no_matching_certificate_found(station, csms, pki):
    """M04.FR.04: NotFound."""
    await profile_2_station(station, csms, pki)
    never = TestCA("Never Installed CA")
    reply = await csms.call("DeleteCertificate", {"certificateHashData": hash_data(never.cert, never.cert)})
    assert reply == {"status": "NotFound"}


async def test_TC_M_23_delete_a_certificate_unable_to_delete_the_charging_station_certificate(station, csms, pki):
    """M04.FR.06: the charging station certificate (renewed first: reusable state
    RenewChargingStationCertificate) is not deleted: NotFound or Failed; the station keeps using it."""
    await profile_2_station(station, csms, pki)
    signed = await renew_charging_station_certificate(csms, pki.ca)
    listed = await installed_certificates(csms)
    assert signed.serial_number not in serials(listed)  # a root list: no charging station certificate in it
    reply = await csms.call("DeleteCertificate", {"certificateHashData": hash_data(signed, pki.ca.cert)})
    assert reply["status"] in ("NotFound", "Failed")
    key_files = list((station.data_dir / "certificates" / "charge-point").glob("*.key"))
    assert key_files, "the charging station certificate's key is gone"


@pytest.mark.parametrize("certificate_type", ["V2GRootCertificate", "MORootCertificate"])
async def test_iso15118_roots_are_refused(station, csms, pki, certificate_type):
    """Not an OCTT case: the roots of ISO 15118 have no use here and are Rejected (M_03/M_04 do not apply)."""
    await profile_2_station(station, csms, pki)
    assert await install(csms, certificate_type, TestCA("V2G Root CA")) == "Rejected"
    assert await installed_certificates(csms, [certificate_type]) == {"status": "NotFound"}


# ---- AdditionalRootCertificateCheck (M05.FR.08-13) ----------------------------------------------


async def checked_station(station, csms, pki) -> None:
    """Profile 2, AdditionalRootCertificateCheck true, the CSMS root installed (the one the
    backend's certificate is issued by); AdditionalRootCertificateCheck reads true."""
    await profile_2_station(station, csms, pki, ocpp=ADDITIONAL_ROOT_CERTIFICATE_CHECK)
    reply = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "AdditionalRootCertificateCheck"}}]})
    assert reply["getVariableResult"][0]["attributeValue"] == "true"
    mark, calls = len(csms.events), csms.mark()
    assert await install(csms, "CSMSRootCertificate", pki.ca) == "Accepted"
    await csms.connected(after=mark)  # verified with it at once
    await security_event(csms, "ReconfigurationOfSecurityParameters", after=calls)  # and in use


async def test_TC_M_09_install_ca_certificate_additional_root_certificate_check_rejected(station, csms, pki):
    """M05.FR.10: a CSMS root not signed by the one in use is Rejected; the installed one stays."""
    await checked_station(station, csms, pki)
    stranger = TestCA("Unrelated CSMS Root CA")
    assert await install(csms, "CSMSRootCertificate", stranger) == "Rejected"
    assert serials(await installed_certificates(csms, ["CSMSRootCertificate"])) == [pki.ca.cert.serial_number]


async def test_TC_M_30_install_ca_certificate_additional_root_certificate_check_reconnect_success(station, csms, pki):
    """M05.FR.09/11/12: the new root, signed by the old one, is Accepted and tried at once; the
    backend's certificate verifies with it, so the old root is removed."""
    await checked_station(station, csms, pki)
    new = pki.ca.successor("Next CSMS Root CA")
    server = new.server()
    await csms.present_server_cert(pem(server.cert), key_pem(server.key).decode())  # from the next handshake on
    mark, calls = len(csms.events), csms.mark()
    assert await install(csms, "CSMSRootCertificate", new) == "Accepted"
    await csms.connected(after=mark)
    await security_event(csms, "ReconfigurationOfSecurityParameters", after=calls)
    reply = await installed_certificates(csms, ["CSMSRootCertificate"])
    assert reply["certificateHashDataChain"] == [
        {"certificateType": "CSMSRootCertificate", "certificateHashData": hash_data(new.cert, pki.ca.cert)}]


async def test_TC_M_31_install_ca_certificate_additional_root_certificate_check_reconnect_fallback(station, csms, pki):
    """M05.FR.13: the backend's certificate does not verify with the new root: the old one is
    used (InvalidCsmsCertificate for the failed attempt), and the new one goes."""
    await checked_station(station, csms, pki)
    new = pki.ca.successor("Next CSMS Root CA")
    mark, calls = len(csms.events), csms.mark()
    assert await install(csms, "CSMSRootCertificate", new) == "Accepted"
    await csms.wait_event("tls_error", after=mark, timeout=30)  # the new root does not verify it
    await csms.connected(after=mark, timeout=30)  # the old one does
    await security_event(csms, "InvalidCsmsCertificate", after=calls)
    assert serials(await installed_certificates(csms, ["CSMSRootCertificate"])) == [pki.ca.cert.serial_number]
