"""OCPP 1.6 Security Whitepaper through real sockets: security profiles 1-3 against a TLS
backend on loopback (ocpp-csms with an ssl context and an authenticate hook), refused
certificates and passwords, raising the profile (and falling back), the AuthorizationKey,
certificates, SignCertificate → CertificateSigned, security events, and secrets kept out of
the agent's log."""

from __future__ import annotations

import asyncio
import base64
import time
from contextlib import asynccontextmanager

import pytest
from cryptography import x509
from ocpp.v16 import call
from ocpp_csms import BootEvent, CentralSystem, ConnectedEvent, SecurityEvent

from tests.integration.conftest import Recorder
from tests.integration.raw_csms import RawCsms
from tests.pki import TestCA, pem, server_context

CP = "CP-TEST-1"
PASSWORD = "correct horse battery"  # 21 bytes: too long for a key; the first 20 are used
KEY_TEXT = PASSWORD[:20]
KEY = KEY_TEXT.encode().hex()
NEW_KEY_TEXT = "a brand new password"
NEW_KEY = NEW_KEY_TEXT.encode().hex()


# ---- helpers ----------------------------------------------------------------------------


class Passwords:
    """An authenticate hook for ocpp-csms: accepts ``expected``, remembers every attempt."""

    def __init__(self, expected: str | None) -> None:
        self.expected = expected
        self.attempts: list[str | None] = []
        self._changed = asyncio.Event()

    async def __call__(self, charge_point_id: str, password: str | None) -> bool:
        self.attempts.append(password)
        self._changed.set()
        return charge_point_id == CP and password == self.expected

    async def wait_attempts(self, count: int, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while len(self.attempts) < count:
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def central_system(*, ssl_context=None, authenticate=None):
    recorder = Recorder()
    central = CentralSystem(host="127.0.0.1", port=0, ssl_context=ssl_context, authenticate=authenticate, heartbeat_interval=60)
    central.add_listener(recorder)
    await central.async_start()
    central.recorder = recorder
    try:
        yield central
    finally:
        await central.async_stop()


async def log_shows(agent, text: str, count: int = 1, timeout: float = 15) -> None:
    """Wait until the agent's log holds ``text`` ``count`` times."""
    async with asyncio.timeout(timeout):
        while agent.log().count(text) < count:
            await asyncio.sleep(0.05)


def write_key(tmp_path, key: str = KEY):
    path = tmp_path / "data" / "authorization-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key)
    path.chmod(0o600)


def assert_no_secrets(agent, *texts: str) -> None:
    log = agent.log()
    for text in texts:
        assert text not in log
        assert base64.b64encode(f"{CP}:{text}".encode()).decode() not in log


def security_event(kind: str, tech: str = ""):
    return lambda e: isinstance(e, SecurityEvent) and e.type == kind and tech in (e.tech_info or "")


def connected():
    return lambda e: isinstance(e, ConnectedEvent)


@pytest.fixture
def ca(tmp_path):
    authority = TestCA("CPO Root CA")
    authority.path = authority.write(tmp_path / "pki" / "ca.pem")
    return authority


def profile_lines(profile: int, ca=None, client=None, unencrypted: bool = False, certificates_unencrypted: bool = False) -> str:
    lines = [f"security_profile = {profile}"]
    if unencrypted:
        lines.append("allow_unencrypted = true")
    if certificates_unencrypted:  # certificate operations over ws:// (refused unless the operator allows them)
        lines.append("allow_unencrypted_certificate_operations = true")
    if ca is not None:
        lines.append(f'ca_bundle = "{ca.path}"')
    if client is not None:
        lines += [f'client_cert = "{client[0]}"', f'client_key = "{client[1]}"']
    return "\n".join(lines)


# ---- the three profiles ------------------------------------------------------------------


async def test_profile_1_basic_auth_without_the_password_in_the_log(sim, make_agent, tmp_path):
    passwords = Passwords(KEY_TEXT)
    async with central_system(authenticate=passwords) as csms:
        write_key(tmp_path)
        agent = await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(1, unencrypted=True))
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
        assert passwords.attempts[-1] == KEY_TEXT  # the key's bytes, not its hex digits
        cp = csms.charge_points[CP]
        # StartupOfTheDevice, queued at start, arrives once the link is up.
        await csms.recorder.wait_for(security_event("StartupOfTheDevice"))
        conf = await cp.async_call(call.GetConfiguration(key=["AuthorizationKey", "SecurityProfile"]))
        entries = {e["key"]: e for e in conf.configuration_key}
        assert "value" not in entries["AuthorizationKey"] and entries["SecurityProfile"]["value"] == "1"
    assert_no_secrets(agent, KEY, KEY_TEXT)


async def test_a_wrong_password_is_refused_and_reported_once_connected(sim, make_agent, tmp_path):
    passwords = Passwords(expected="something else entirely")
    async with central_system(authenticate=passwords) as csms:
        write_key(tmp_path)
        agent = await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(1, unencrypted=True))
        await passwords.wait_attempts(2)
        await log_shows(agent, "HTTP 401")
        assert not csms.recorder.of(BootEvent) and CP not in csms.charge_points
        passwords.expected = KEY_TEXT  # the backend is given the right key
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
        event = await csms.recorder.wait_for(security_event("FailedToAuthenticateAtCentralSystem"))
        assert "401" in event.tech_info
    assert_no_secrets(agent, KEY, KEY_TEXT)


async def test_profile_2_tls_with_basic_auth(sim, make_agent, tmp_path, ca):
    passwords = Passwords(KEY_TEXT)
    async with central_system(ssl_context=server_context(ca.server(), tmp_path), authenticate=passwords) as csms:
        write_key(tmp_path)
        agent = await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(2, ca))
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
        assert passwords.attempts == [KEY_TEXT]
        await log_shows(agent, f"connected to wss://127.0.0.1:{csms.port}/ocpp/{CP}")
    assert_no_secrets(agent, KEY, KEY_TEXT)


@pytest.mark.parametrize("server", ["another CA", "expired"])
async def test_profile_2_refuses_a_backend_certificate_it_cannot_trust(sim, make_agent, tmp_path, ca, server):
    issued = TestCA("Somebody Else").server() if server == "another CA" else ca.server(expired=True)
    async with central_system(ssl_context=server_context(issued, tmp_path), authenticate=Passwords(KEY_TEXT)) as csms:
        write_key(tmp_path)
        agent = await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(2, ca))
        await log_shows(agent, "security event InvalidCentralSystemCertificate")
        await log_shows(agent, "CERTIFICATE_VERIFY_FAILED", count=2)
        assert CP not in csms.charge_points
    reason = "certificate has expired" if server == "expired" else "unable to get local issuer certificate"
    assert reason in agent.log()


async def test_profile_3_mutual_tls(sim, make_agent, tmp_path, ca):
    context = server_context(ca.server(), tmp_path, client_ca=ca)
    async with central_system(ssl_context=context, authenticate=Passwords(None)) as csms:
        client = ca.client(CP).write(tmp_path / "pki", "cp")
        agent = await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(3, ca, client))
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
    assert "BEGIN PRIVATE KEY" not in agent.log()


@pytest.mark.parametrize("client", ["another CA", "expired"])
async def test_profile_3_client_certificate_refused_by_the_backend(sim, make_agent, tmp_path, ca, client):
    context = server_context(ca.server(), tmp_path, client_ca=ca)
    issued = TestCA("Rogue CA").client(CP) if client == "another CA" else ca.client(CP, expired=True)
    async with central_system(ssl_context=context, authenticate=Passwords(None)) as csms:
        agent = await make_agent(
            csms.port, card_reader=False, extra_ocpp=profile_lines(3, ca, issued.write(tmp_path / "pki", "cp"))
        )
        await log_shows(agent, f"link to wss://127.0.0.1:{csms.port}/ocpp/{CP}: ", count=2)
        await log_shows(agent, "it may have refused the charge point certificate")
        assert CP not in csms.charge_points and not csms.recorder.of(BootEvent)


# ---- changing the security settings ---------------------------------------------------------


async def test_raising_the_profile_moves_the_link_to_tls(sim, csms, proxy, make_agent, tmp_path, ca):
    write_key(tmp_path)
    await make_agent(proxy.port, card_reader=False, extra_ocpp=profile_lines(1, unencrypted=True, certificates_unencrypted=True))
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
    cp = csms.charge_points[CP]
    change = call.ChangeConfiguration
    assert (await cp.async_call(change(key="SecurityProfile", value="0"))).status == "Rejected"  # never lowered
    assert (await cp.async_call(change(key="SecurityProfile", value="2"))).status == "Rejected"  # no root yet
    install = call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=ca.pem)
    assert (await cp.async_call(install)).status == "Accepted"

    async with central_system(ssl_context=server_context(ca.server(), tmp_path), authenticate=Passwords(KEY_TEXT)) as tls:
        proxy.target = ("127.0.0.1", tls.port)  # the same address now speaks TLS
        assert (await cp.async_call(change(key="SecurityProfile", value="2"))).status == "Accepted"
        await tls.recorder.wait_for(connected(), timeout=20)
        event = await tls.recorder.wait_for(security_event("ReconfigurationOfSecurityParameters", "1 -> 2"))
        assert event.tech_info == "security profile 1 -> 2 in use"
        conf = await tls.charge_points[CP].async_call(call.GetConfiguration(key=["SecurityProfile"]))
        assert conf.configuration_key[0]["value"] == "2"
        # The root installed over ws:// verified the TLS connection it was for: it stays.
        listed = await tls.charge_points[CP].async_call(call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate"))
        assert listed.status == "Accepted" and len(listed.certificate_hash_data) == 1


async def test_a_raised_profile_that_cannot_connect_falls_back_and_forgets_the_root_it_was_for(sim, csms, proxy, make_agent, tmp_path, ca):
    write_key(tmp_path)
    agent = await make_agent(proxy.port, card_reader=False, extra_ocpp=profile_lines(1, unencrypted=True, certificates_unencrypted=True))
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
    cp = csms.charge_points[CP]
    install = call.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=ca.pem)
    assert (await cp.async_call(install)).status == "Accepted"
    before = len(csms.recorder.events)
    # The backend still speaks plain ws:// here: TLS to it fails, three times, then profile 1 again.
    assert (await cp.async_call(call.ChangeConfiguration(key="SecurityProfile", value="2"))).status == "Accepted"
    event = await csms.recorder.wait_for(security_event("ReconfigurationOfSecurityParameters", "back to"), after=before, timeout=30)
    assert "back to security profile 1" in event.tech_info
    assert "1 provisional CentralSystemRootCertificate(s) removed" in event.tech_info
    await log_shows(agent, "back to the previous ones (profile 1)")
    conf = await cp.async_call(call.GetConfiguration(key=["SecurityProfile"]))
    assert conf.configuration_key[0]["value"] == "1"
    # The root came over ws:// for a TLS connection that never worked: it does not outlive it.
    listed = await cp.async_call(call.GetInstalledCertificateIds(certificate_type="CentralSystemRootCertificate"))
    assert listed.status == "NotFound"


async def test_a_new_authorization_key_is_used_at_once_and_never_logged(sim, make_agent, tmp_path):
    passwords = Passwords(KEY_TEXT)
    async with central_system(authenticate=passwords) as csms:
        write_key(tmp_path)
        agent = await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(1, unencrypted=True, certificates_unencrypted=True))
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
        cp = csms.charge_points[CP]
        change = call.ChangeConfiguration
        assert (await cp.async_call(change(key="AuthorizationKey", value="abcd"))).status == "Rejected"
        before = len(csms.recorder.events)
        passwords.expected = NEW_KEY_TEXT
        assert (await cp.async_call(change(key="AuthorizationKey", value=NEW_KEY))).status == "Accepted"
        await csms.recorder.wait_for(connected(), after=before)
        assert passwords.attempts[-1] == NEW_KEY_TEXT
        await csms.recorder.wait_for(security_event("ReconfigurationOfSecurityParameters", "AuthorizationKey"))
        key_file = tmp_path / "data" / "authorization-key"
        assert key_file.read_text() == NEW_KEY and key_file.stat().st_mode & 0o777 == 0o600
    await log_shows(agent, "ChangeConfiguration AuthorizationKey=<write-only>: Accepted")
    assert_no_secrets(agent, KEY, KEY_TEXT, NEW_KEY, NEW_KEY_TEXT)


# ---- certificates -------------------------------------------------------------------------


async def test_install_list_and_delete_certificates(sim, make_agent, tmp_path, ca):
    """Over TLS (profile 2): the Central System roots are the backend's to manage; the
    manufacturer roots are the installation's."""
    async with central_system(ssl_context=server_context(ca.server(), tmp_path), authenticate=Passwords(KEY_TEXT)) as csms:
        write_key(tmp_path)
        await make_agent(csms.port, card_reader=False, extra_ocpp=profile_lines(2, ca))
        await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
        cp = csms.charge_points[CP]
        kind = "CentralSystemRootCertificate"
        listed = await cp.async_call(call.GetInstalledCertificateIds(certificate_type=kind))
        assert listed.status == "NotFound"  # ocpp.ca_bundle is configuration, not an installed certificate
        bad = await cp.async_call(call.InstallCertificate(certificate_type=kind, certificate="-----BEGIN CERTIFICATE-----"))
        assert bad.status == "Rejected"
        expired = await cp.async_call(call.InstallCertificate(certificate_type=kind, certificate=TestCA(expired=True).pem))
        assert expired.status == "Rejected"
        other_ca = TestCA("Next CPO Root CA")
        assert (await cp.async_call(call.InstallCertificate(certificate_type=kind, certificate=other_ca.pem))).status == "Accepted"
        listed = await cp.async_call(call.GetInstalledCertificateIds(certificate_type=kind))
        assert listed.status == "Accepted" and len(listed.certificate_hash_data) == 1
        hash_data = listed.certificate_hash_data[0]
        assert hash_data["serial_number"] == format(other_ca.cert.serial_number, "x")
        manufacturer = await cp.async_call(call.InstallCertificate(certificate_type="ManufacturerRootCertificate", certificate=TestCA().pem))
        assert manufacturer.status == "Rejected"  # the firmware trust anchor comes from the installation
        other = await cp.async_call(call.GetInstalledCertificateIds(certificate_type="ManufacturerRootCertificate"))
        assert other.status == "NotFound"
        limit = await cp.async_call(call.GetConfiguration(key=["CertificateStoreMaxLength", "AdditionalRootCertificateCheck"]))
        assert {e["key"]: e["value"] for e in limit.configuration_key} == {
            "CertificateStoreMaxLength": "10",
            "AdditionalRootCertificateCheck": "false",
        }
        deleted = await cp.async_call(call.DeleteCertificate(certificate_hash_data=hash_data))
        assert deleted.status == "Accepted"
        assert (await cp.async_call(call.DeleteCertificate(certificate_hash_data=hash_data))).status == "NotFound"


async def test_certificate_operations_are_refused_on_a_link_without_tls(sim, raw_csms, make_agent, tmp_path):
    """Issue 17 item 11: someone on the LAN speaking for the backend over ws:// installs its
    root, has the charge point certificate signed by it and sets a password of its own."""
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    attacker = TestCA("LAN Attacker CA")

    async def ask(action: str, payload: dict) -> dict:
        reply = await raw_csms.response_to(await raw_csms.call(action, payload))
        assert reply[0] == 3, reply
        return reply[2]

    assert await ask("InstallCertificate", {"certificateType": "CentralSystemRootCertificate", "certificate": attacker.pem}) == {"status": "Rejected"}
    assert await ask("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"}) == {"status": "NotFound"}

    raw_csms.answer["SignCertificate"] = lambda payload: ("result", {"status": "Accepted"})
    assert await ask("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}) == {"status": "Accepted"}
    csr = (await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "SignCertificate"))[3]["csr"]
    assert await ask("CertificateSigned", {"certificateChain": pem(attacker.sign_csr(csr))}) == {"status": "Rejected"}
    assert not list((tmp_path / "data" / "certificates" / "charge-point").glob("*.pem"))

    assert await ask("ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_KEY}) == {"status": "Rejected"}
    assert not (tmp_path / "data" / "authorization-key").exists()
    some_id = {"hashAlgorithm": "SHA256", "issuerNameHash": "00" * 32, "issuerKeyHash": "00" * 32, "serialNumber": "1"}
    assert await ask("DeleteCertificate", {"certificateHashData": some_id}) == {"status": "Failed"}


async def test_sign_certificate_then_certificate_signed_switches_the_client_certificate(sim, make_agent, tmp_path, ca):
    """Profile 3 against a raw TLS peer: CSR out, signed chain in, reconnect with the new key."""
    raw = RawCsms(server_context(ca.server(), tmp_path, client_ca=ca))
    await raw.start()
    try:
        first = ca.client(CP)
        await make_agent(raw.port, card_reader=False, extra_ocpp=profile_lines(3, ca, first.write(tmp_path / "pki", "cp")))
        await raw.connected()
        assert peer_certificate(raw).serial_number == first.cert.serial_number
        await raw.response_to(await raw.call("ChangeConfiguration", {"key": "CpoName", "value": "Example CPO"}))
        raw.answer["SignCertificate"] = lambda payload: ("result", {"status": "Accepted"})

        # A chain that does not verify is refused and reported.
        trigger = await raw.call("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
        assert (await raw.response_to(trigger))[2] == {"status": "Accepted"}
        csr = (await raw.wait_for(lambda f: f[0] == 2 and f[2] == "SignCertificate"))[3]["csr"]
        rogue = pem(TestCA("Rogue CA").sign_csr(csr))
        answer = await raw.response_to(await raw.call("CertificateSigned", {"certificateChain": rogue}))
        assert answer[2] == {"status": "Rejected"}
        await raw.wait_for(lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "InvalidChargePointCertificate")

        # The backend's CA signs it: accepted, and the next connection uses it.
        signed = ca.sign_csr(csr)
        assert signed.subject.rfc4514_string() == f"O=Example CPO,CN={CP}"
        connections = raw.connections
        answer = await raw.response_to(await raw.call("CertificateSigned", {"certificateChain": pem(signed)}))
        assert answer[2] == {"status": "Accepted"}
        await raw.wait_for(
            lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3].get("techInfo") == "new charge point certificate in use"
        )
        assert raw.connections > connections
        assert peer_certificate(raw).serial_number == signed.serial_number
    finally:
        await raw.stop()


def peer_certificate(raw: RawCsms) -> x509.Certificate:
    der = raw.ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


async def test_extended_trigger_message_and_setting_system_time(sim, raw_csms, make_agent):
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "StartupOfTheDevice")
    # FirmwareStatusNotification: answered with the whitepaper's SignedFirmwareStatusNotification
    # (L01.FR.28/29); nothing was ever sent, so Idle.
    for message, sent in (("Heartbeat", "Heartbeat"), ("StatusNotification", "StatusNotification"),
                          ("LogStatusNotification", "LogStatusNotification"),
                          ("FirmwareStatusNotification", "SignedFirmwareStatusNotification")):
        before = len(raw_csms.received)
        reply = await raw_csms.response_to(await raw_csms.call("ExtendedTriggerMessage", {"requestedMessage": message}))
        assert reply[2] == {"status": "Accepted"}
        await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == sent, after=before)
    assert raw_csms.calls("SignedFirmwareStatusNotification")[-1][3] == {"status": "Idle"}
    assert not raw_csms.calls("FirmwareStatusNotification")
    unknown_connector = await raw_csms.call("ExtendedTriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 7})
    assert (await raw_csms.response_to(unknown_connector))[2] == {"status": "Rejected"}

    # The backend's clock was corrected by an hour: refused at first (agent/station/clock.py), taken once
    # three heartbeats in a row report it; a security event says so each time.
    raw_csms.answer["Heartbeat"] = lambda payload: (
        "result", {"currentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}
    )
    for _ in range(3):
        before = len(raw_csms.received)
        await raw_csms.response_to(await raw_csms.call("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}))
        await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "Heartbeat", after=before)
    refused = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "InvalidMessages")
    assert "refused: moves the time by +3600 s" in refused[3]["techInfo"] or "+3599 s" in refused[3]["techInfo"]
    event = await raw_csms.wait_for(lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "SettingSystemTime")
    assert "+3600 s" in event[3]["techInfo"] or "+3599 s" in event[3]["techInfo"]
    assert len([f for f in raw_csms.calls("SecurityEventNotification") if f[3]["type"] == "InvalidMessages"]) == 1


async def test_reset_is_reported_after_the_restart(sim, raw_csms, make_agent):
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    await raw_csms.response_to(await raw_csms.call("Reset", {"type": "Soft"}))
    reset = await raw_csms.wait_for(
        lambda f: f[0] == 2 and f[2] == "SecurityEventNotification" and f[3]["type"] == "ResetOrReboot", timeout=30
    )
    assert reset[3]["techInfo"] == "Reset Soft"
    starts = [f for f in raw_csms.calls("SecurityEventNotification") if f[3]["type"] == "StartupOfTheDevice"]
    assert len(starts) >= 1
