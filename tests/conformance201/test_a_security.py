"""OCTT 2.0.1 block A (Security): HTTP Basic authentication and its password (A00, A01), TLS with
the CSMS's certificate and the station's (A00), the charging station certificate renewed at the
CSMS's request (A02), security events (A04) and the security profile upgraded through a new
network connection profile (A05).

The backend's TLS side uses certificates of a test CA (tests/pki.py). Profile 1 is HTTP Basic
over ws:// (the station allows it: ``allow_unencrypted``), 2 adds TLS, 3 is TLS with the
station's certificate. The password cases run on profile 2: a new password over a link without
TLS is refused unless the operator allows it (README, "What the agent refuses").

Where the OCTT expects a BootNotification after the station reconnected with a new password
(A_09, A_10 "Booted"), this station, which did not reboot, goes on with a Heartbeat and the
status of every connector (B01.FR.01: a BootNotification each time it boots).
"""

from __future__ import annotations

import asyncio
import time

from tests.conformance201.conftest import CP_ID
from tests.conformance201.security_steps import (  # noqa: F401 (pki: fixture)
    KEY,
    hash_data,
    pki,
    profile_2_station,
    profile_3_station,
    profile_lines,
    renew_charging_station_certificate,
    security_event,
    sign_charging_station_certificate,
    write_key,
)
from tests.pki import TestCA, key_pem, pem

NEW_PASSWORD = "OCTT-new-password-2024"  # 22 characters: more than the 16 a password needs


async def set_variable(csms, component: str, variable: str, value: str) -> dict:
    reply = await csms.call("SetVariables", {"setVariableData": [
        {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}]})
    return reply["setVariableResult"][0]


# ---- A00: HTTP Basic, TLS, client certificates ----------------------------------------------


async def test_TC_A_01_basic_authentication_valid_username_password_combination(station, csms):
    """A00.FR.204: Authorization: Basic base64(<identity>:<BasicAuthPassword>); B01.FR.02 boot."""
    await csms.listen(version="2.0.1", passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(1))
    connection = csms.events_of("connected")[-1]
    assert (connection["identity"], connection["password"], connection["tls"]) == (CP_ID, KEY.hex(), None)
    assert csms.last("BootNotification") is not None


async def test_TC_A_04_tls_server_side_certificate_valid_certificate(station, csms, pki):
    """A00.FR.309/310: TLS 1.2 or later with the CSMS's certificate, verified against the CSMS root."""
    await profile_2_station(station, csms, pki)
    connection = csms.events_of("connected")[-1]
    assert connection["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert connection["password"] == KEY.hex()


async def test_TC_A_05_tls_server_side_certificate_invalid_certificate(station, csms, pki):
    """A00.FR.311/412: a server certificate from an unknown CA ends the connection; once the
    CSMS presents its own, the station boots and reports InvalidCsmsCertificate."""
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])
    impostor = TestCA("Impostor CA").server()
    await csms.present_server_cert(pem(impostor.cert), key_pem(impostor.key).decode())
    write_key(station)
    await station.start(ocpp=profile_lines(2, pki))
    await csms.wait_event("tls_error", timeout=30)  # step 3: the station refused the certificate
    assert not csms.events_of("connected")
    await csms.present_server_cert(pem(pki.server.cert), key_pem(pki.server.key).decode())
    await station.booted()
    event = await security_event(csms, "InvalidCsmsCertificate")
    assert event["timestamp"] and "TLS" in event.get("techInfo", "")


async def test_TC_A_06_tls_server_side_certificate_tls_version_too_low(station, csms, pki):
    """A00.FR.314/316/416: a CSMS that speaks TLS 1.1 at most is refused; InvalidTLSVersion."""
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])
    await csms.tls_versions("TLSv1", "TLSv1.1")
    write_key(station)
    await station.start(ocpp=profile_lines(2, pki))
    await csms.wait_event("tls_error", timeout=30)
    assert not csms.events_of("connected")
    await csms.tls_versions("TLSv1.2", "TLSv1.3")
    await station.booted()
    assert csms.events_of("connected")[-1]["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    await security_event(csms, "InvalidTLSVersion")


async def test_TC_A_07_tls_client_side_certificate_valid_certificate(station, csms, pki):
    """A00.FR.316/320: profile 3, the station's certificate and no password."""
    await profile_3_station(station, csms, pki)
    connection = csms.events_of("connected")[-1]
    assert connection["tls"]["client_cert"] == CP_ID and connection["tls"]["client_cert_authorized"]
    assert connection["password"] is None


# ---- A01: the BasicAuthPassword ---------------------------------------------------------------


async def test_TC_A_09_update_charging_station_password_for_http_basic_authentication_accepted(station, csms, pki):
    """A01.FR.01/11/12: Accepted, the station reconnects with the new password (the old one is
    refused from then on) and logs the change as a security event, without the password."""
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY, NEW_PASSWORD.encode()])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki))
    mark, calls = len(csms.events), csms.mark()
    result = await set_variable(csms, "SecurityCtrlr", "BasicAuthPassword", NEW_PASSWORD)
    assert result["attributeStatus"] == "Accepted"
    connection = await csms.connected(after=mark)  # step 3: the new password
    assert connection["password"] == NEW_PASSWORD.encode().hex()
    await csms.expect_passwords([NEW_PASSWORD.encode()])
    # Step 5: registered again. After so short a time offline the station sends only the
    # statuses that changed meanwhile (B04.FR.02): none here, so the backend asks.
    assert await get_variable(csms, "SecurityCtrlr", "SecurityProfile") == "2"
    event = await security_event(csms, "ReconfigurationOfSecurityParameters", after=calls)
    assert NEW_PASSWORD not in str(event) and NEW_PASSWORD not in station.log()
    reply = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}]})
    assert reply["getVariableResult"][0]["attributeStatus"] == "Rejected"  # write-only


async def test_TC_A_10_update_charging_station_password_for_http_basic_authentication_rejected(station, csms, pki):
    """A password of fewer than 16 characters is Rejected (A00.FR.205); the station keeps
    connecting with the old one."""
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki))
    result = await set_variable(csms, "SecurityCtrlr", "BasicAuthPassword", "too-short-15ch!")
    assert result["attributeStatus"] == "Rejected"
    mark = len(csms.events)
    await csms.drop_connection()
    connection = await csms.connected(after=mark)  # step 3: the old password
    assert connection["password"] == KEY.hex()
    assert await get_variable(csms, "SecurityCtrlr", "SecurityProfile") == "2"  # answers on the new link


# ---- A02: the charging station certificate -----------------------------------------------------


async def test_TC_A_11_update_charging_station_certificate_by_request_of_csms_success_charging_station_certificate(
        station, csms, pki):
    """A02.FR.02-09 (reusable state RenewChargingStationCertificate) on profile 3: the new
    certificate is used from the next connection on, which the station opens at once."""
    await profile_3_station(station, csms, pki)
    first = csms.events_of("connected")[-1]["tls"]["client_cert_serial"]
    mark = len(csms.events)
    signed = await renew_charging_station_certificate(csms, pki.ca)
    connection = await csms.connected(after=mark)
    assert int(connection["tls"]["client_cert_serial"], 16) == signed.serial_number != int(first, 16)
    assert connection["tls"]["client_cert_authorized"]


async def test_TC_A_14_update_charging_station_certificate_by_request_of_csms_invalid_certificate(station, csms, pki):
    """A02.FR.06/07: a certificate that does not chain to the CSMS root is Rejected, with the
    security event InvalidChargingStationCertificate; the station keeps its certificate."""
    await profile_3_station(station, csms, pki)
    csr = await sign_charging_station_certificate(csms)
    stranger = TestCA("Not the CSO's CA").sign_csr(csr)
    mark, events = csms.mark(), len(csms.events)
    reply = await csms.call("CertificateSigned", {"certificateChain": pem(stranger),
                                                  "certificateType": "ChargingStationCertificate"})
    assert reply["status"] == "Rejected"
    await security_event(csms, "InvalidChargingStationCertificate", after=mark)
    assert not csms.events_of("connected")[events:]  # no reconnect: nothing new to use


async def test_TC_A_15_update_charging_station_certificate_by_request_of_csms_sign_certificate_request_rejected(
        station, csms, pki):
    """The CSMS answers SignCertificate Rejected: the station does not ask again."""
    csms.answers["SignCertificate"] = {"status": "Rejected"}
    await profile_3_station(station, csms, pki)
    await set_variable(csms, "SecurityCtrlr", "CertSigningWaitMinimum", "1")
    await set_variable(csms, "OCPPCommCtrlr", "HeartbeatInterval", "2")  # a Heartbeat: 2 s from now
    mark = csms.mark()
    await sign_charging_station_certificate(csms)
    await csms.wait_call("Heartbeat", after=mark, timeout=10)  # past the 1 s a repeat would come after
    assert len(csms.calls_of("SignCertificate", after=mark)) == 1
    assert csms.events_of("connected")[-1]["tls"]["client_cert_authorized"]


async def test_TC_A_23_update_charging_station_certificate_by_request_of_csms_certificate_signed_request_timeout(
        station, csms, pki):
    """A02.FR.17-19: no CertificateSigned within CertSigningWaitMinimum: the same CSR again, the
    wait doubled each time, CertSigningRepeatTimes times."""
    await profile_3_station(station, csms, pki)
    assert (await set_variable(csms, "SecurityCtrlr", "CertSigningWaitMinimum", "1"))["attributeStatus"] == "Accepted"
    assert (await set_variable(csms, "SecurityCtrlr", "CertSigningRepeatTimes", "2"))["attributeStatus"] == "Accepted"
    mark = csms.mark()
    csr = await sign_charging_station_certificate(csms)
    first = await csms.wait_for_call("SignCertificate", after=mark)
    t_first = time.monotonic()
    second = await csms.wait_for_call("SignCertificate", after=first.seq + 1, timeout=10)
    t_second = time.monotonic()
    third = await csms.wait_for_call("SignCertificate", after=second.seq + 1, timeout=10)
    t_third = time.monotonic()
    assert second.payload["csr"] == third.payload["csr"] == csr
    assert t_second - t_first >= 0.9 and t_third - t_second >= 1.9  # 1 s, then doubled
    await asyncio.to_thread(_wait_for_log, station, "giving up")
    await csms.barrier()
    assert len(csms.calls_of("SignCertificate", after=mark)) == 3


def _wait_for_log(station, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in station.log():
        assert time.monotonic() < deadline, f"{text!r} not in the agent's log"
        time.sleep(0.05)


# ---- A05: upgrading the security profile through a network connection profile -----------------


def connection_data(url: str, security_profile: int) -> dict:
    return {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url, "messageTimeout": 30,
            "securityProfile": security_profile, "ocppInterface": "Wired0"}


async def set_network_profile(csms, slot: int, url: str, security_profile: int) -> str:
    reply = await csms.call("SetNetworkProfile", {"configurationSlot": slot,
                                                  "connectionData": connection_data(url, security_profile)})
    return reply["status"]


async def get_variable(csms, component: str, variable: str) -> str:
    reply = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": component}, "variable": {"name": variable}}]})
    return reply["getVariableResult"][0]["attributeValue"]


async def test_TC_A_19_upgrade_charging_station_security_profile_accepted(station, csms, pki):
    """A05: profile 1 → 2 by a profile in slot 2 (SetNetworkProfile, B09), NetworkConfigurationPriority
    naming it first (RebootRequired, B10.FR.01) and a Reset: after the reboot the station connects
    to the new endpoint with TLS and boots there (A05.FR.04/05). The CSMS root is the
    installation's (ocpp.ca_bundle)."""
    await csms.listen(version="2.0.1", passwords=[KEY])  # the first endpoint: ws://, profile 1
    write_key(station)
    await station.boot(ocpp=profile_lines(1, pki))
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])  # the second: wss://, profile 2
    assert await set_network_profile(csms, 2, csms.url("wss"), 2) == "Accepted"
    result = await set_variable(csms, "OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1")
    assert result["attributeStatus"] == "RebootRequired"
    mark, calls = len(csms.events), csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    connection = await csms.connected(after=mark)
    assert connection["tls"]["version"] in ("TLSv1.2", "TLSv1.3") and connection["password"] == KEY.hex()
    boot = await csms.wait_call("BootNotification", after=calls, timeout=30)
    assert boot["reason"] == "RemoteReset"
    await csms.wait_connector_status("Available", after=calls)
    assert await get_variable(csms, "SecurityCtrlr", "SecurityProfile") == "2"
    assert await get_variable(csms, "OCPPCommCtrlr", "ActiveNetworkProfile") == "2"
    await security_event(csms, "ReconfigurationOfSecurityParameters", after=calls)


async def test_TC_A_20_upgrade_charging_station_security_profile_no_valid_csms_root_certificate_installed(
        station, csms):
    """A05.FR.02: profile 2 needs a CSMS root to verify the CSMS with: Rejected without one."""
    await csms.listen(version="2.0.1", passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(1))
    assert await set_network_profile(csms, 2, "wss://127.0.0.1:1/ocpp", 2) == "Rejected"
    result = await set_variable(csms, "OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1")
    assert result["attributeStatus"] == "Rejected"  # B10.FR.02: slot 2 holds no profile


async def test_TC_A_21_upgrade_charging_station_security_profile_no_valid_charging_station_certificate_installed(
        station, csms, pki):
    """A05.FR.03: profile 3 needs a charging station certificate: Rejected without one."""
    await profile_2_station(station, csms, pki)
    assert await set_network_profile(csms, 2, "wss://127.0.0.1:1/ocpp", 3) == "Rejected"


async def test_TC_A_22_upgrade_charging_station_security_profile_downgrade_security_profile_rejected(
        station, csms, pki):
    """B09.FR.04: a profile with a lower security profile than the one in use is Rejected."""
    await profile_2_station(station, csms, pki)
    assert await set_network_profile(csms, 2, "ws://127.0.0.1:1/ocpp", 1) == "Rejected"
    assert await get_variable(csms, "SecurityCtrlr", "SecurityProfile") == "2"
