"""Security profiles, the AuthorizationKey, switching to new settings and falling back
(agent/security/link_security.py), the security configuration keys, and secrets kept out of logs."""

from __future__ import annotations

import base64
import json
import logging
import ssl
from dataclasses import replace

import pytest

from agent.security.certificates import CertificateStore, RootKind
from agent.station.clock import Clock
from agent.app.config import AgentConfig, ChargePointSection, ConfigError, OcppSection, StorageSection, load_config
from agent.backend.link import ConnectOptionsError
from agent.security.link_security import FALLBACK_AFTER_FAILURES, LinkSecurity, authorization_key_bytes, url_for_profile
from agent.ocpp16.keys import ChangeResult, ConfigurationKeys
from agent.ocpp16.security_keys import SecurityKeys
from agent.security.secret_files import REDACTED, RedactSecrets, warn_if_exposed
from agent.security.events import SecurityEvents
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from tests.pki import NOW, TestCA

KEY = b"sixteen+ bytes!!".hex()  # 16 bytes as 32 hex digits
NEW_KEY = b"a new password, 20 b".hex()
URL = "ws://127.0.0.1:9000/ocpp/CP-1"


class Parts:
    def __init__(self, tmp_path, **ocpp) -> None:
        self.tmp_path = tmp_path
        self.store = Store(tmp_path / "db.sqlite")
        self.clock = Clock()
        self.ocpp = OcppSection(allow_unencrypted=True, **ocpp)
        self.certificates = CertificateStore(tmp_path / "data" / "certificates", max_certificates=2)
        self.events = SecurityEvents(self.store, self.clock)

    def config(self, **ocpp) -> AgentConfig:
        return AgentConfig(
            charge_point=ChargePointSection(id="CP-1"),
            ocpp=replace(self.ocpp, **ocpp),
            storage=StorageSection(data_dir=str(self.tmp_path / "data")),
        )

    def security(self, **ocpp) -> LinkSecurity:
        security = LinkSecurity(self.config(**ocpp), self.store, self.certificates, self.events)
        self.reconnects = 0

        def reconnect():
            self.reconnects += 1

        security.reconnect = reconnect
        return security

    def events_queued(self) -> list[str]:
        rows = self.store.execute("SELECT body FROM outbox WHERE kind='security_event' ORDER BY seq").fetchall()
        return [json.loads(r[0])["type"] for r in rows]

    def events_info(self) -> list[str]:
        rows = self.store.execute("SELECT body FROM outbox WHERE kind='security_event' ORDER BY seq").fetchall()
        return [json.loads(r[0])["tech_info"] or "" for r in rows]


@pytest.fixture
def parts(tmp_path):
    p = Parts(tmp_path)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "authorization-key").write_text(KEY)
    yield p
    p.store.close()


def basic(options) -> bytes:
    return base64.b64decode(options.headers["Authorization"].removeprefix("Basic "))


# ---- the AuthorizationKey and the URL ---------------------------------------------------


def test_authorization_key_is_16_to_20_bytes_in_hex():
    assert authorization_key_bytes(KEY) == b"sixteen+ bytes!!"
    for bad in ("zz" * 16, "ab" * 15, "ab" * 21, "abc"):
        with pytest.raises(ValueError):
            authorization_key_bytes(bad)


def test_the_profile_decides_the_scheme():
    assert url_for_profile("wss://h:1/ocpp", 0) == "wss://h:1/ocpp"
    assert url_for_profile("wss://h:1/ocpp", 1) == "ws://h:1/ocpp"
    assert url_for_profile("ws://h:1/ocpp", 2) == "wss://h:1/ocpp"
    assert url_for_profile("ws://h:1/ocpp", 3) == "wss://h:1/ocpp"


def test_profile_1_sends_basic_credentials_in_a_header_not_the_url(parts):
    options = parts.security(security_profile=1).options(URL)
    assert options.url == URL and "@" not in options.url and options.ssl is None
    assert basic(options) == b"CP-1:sixteen+ bytes!!"  # the key's bytes, not its hex digits
    assert "sixteen" not in repr(options)


def test_profile_2_verifies_the_backend_with_tls_1_2_or_later(parts, tmp_path):
    ca = TestCA().write(tmp_path / "ca.pem")
    options = parts.security(security_profile=2, ca_bundle=str(ca)).options(URL)
    assert options.url.startswith("wss://")
    assert options.ssl.minimum_version == ssl.TLSVersion.TLSv1_2
    assert options.ssl.verify_mode == ssl.CERT_REQUIRED and options.ssl.check_hostname
    assert basic(options) == b"CP-1:sixteen+ bytes!!"


def test_profile_3_has_a_client_certificate_and_no_password(parts, tmp_path):
    ca = TestCA()
    cert, key = ca.client("CP-1").write(tmp_path, "cp")
    security = parts.security(security_profile=3, ca_bundle=str(ca.write(tmp_path / "ca.pem")), client_cert=str(cert), client_key=str(key))
    options = security.options(URL)
    assert options.ssl is not None and "Authorization" not in options.headers


def test_a_missing_key_file_is_a_clear_connect_error(parts, tmp_path):
    (tmp_path / "data" / "authorization-key").unlink()
    with pytest.raises(ConnectOptionsError, match="no AuthorizationKey"):
        parts.security(security_profile=1).options(URL)


# ---- changes from the backend -----------------------------------------------------------


def test_the_profile_is_never_lowered(parts, tmp_path):
    security = parts.security(security_profile=2, ca_bundle=str(TestCA().write(tmp_path / "ca.pem")))
    assert "only be raised" in security.raise_profile(1)
    assert security.raise_profile(2) is None and security.pending is None  # the same: nothing to do
    assert parts.reconnects == 0


def test_raising_needs_what_the_new_profile_uses(parts):
    security = parts.security(security_profile=0, allow_unencrypted=False)
    assert "allow_unencrypted" in security.raise_profile(1)
    assert "CentralSystemRootCertificate" in security.raise_profile(2)
    parts.certificates.install_root(RootKind.CSMS, TestCA().pem, NOW)
    assert "charge point certificate" in security.raise_profile(3)
    assert security.raise_profile(2) is None


def test_a_raised_profile_is_tried_and_kept_once_it_connects(parts):
    security = parts.security(security_profile=1)
    parts.certificates.install_root(RootKind.CSMS, TestCA().pem, NOW)
    assert security.raise_profile(2) is None
    security.reconnect_if_due()
    assert parts.reconnects == 1 and security.profile == 2 and security.active.profile == 1
    assert security.options(URL).url.startswith("wss://")
    security.connected()
    assert security.active.profile == 2 and security.pending is None
    assert "ReconfigurationOfSecurityParameters" in parts.events_queued()
    # Kept across a restart.
    assert parts.security(security_profile=1).profile == 2


def test_new_settings_that_do_not_connect_fall_back_to_the_previous_ones(parts):
    security = parts.security(security_profile=1)
    parts.certificates.install_root(RootKind.CSMS, TestCA().pem, NOW)
    security.raise_profile(2)
    # Still pending after a restart: the previous settings are kept until the new ones connected.
    security = parts.security(security_profile=1)
    assert security.pending.profile == 2 and security.active.profile == 1
    for _ in range(FALLBACK_AFTER_FAILURES):
        security.failed(ssl.SSLError(1, "wrong version number"))
    assert security.profile == 1 and security.pending is None
    assert security.options(URL).url.startswith("ws://")


def test_a_new_authorization_key_replaces_the_old_one_only_once_it_connected(parts, tmp_path):
    security = parts.security(security_profile=1)
    assert security.set_authorization_key("not hex") is not None
    assert security.set_authorization_key(NEW_KEY) is None
    new_file = tmp_path / "data" / "authorization-key.new"
    assert new_file.stat().st_mode & 0o777 == 0o600
    assert basic(security.options(URL)) == b"CP-1:a new password, 20 b"
    security.connected()
    assert (tmp_path / "data" / "authorization-key").read_text() == NEW_KEY and not new_file.exists()

    assert security.set_authorization_key(KEY) is None
    for _ in range(FALLBACK_AFTER_FAILURES):
        security.failed(ConnectionRefusedError())
    assert basic(security.options(URL)) == b"CP-1:a new password, 20 b"  # back to the one that worked


def test_the_operator_may_lower_the_profile_in_the_config_file(parts):
    security = parts.security(security_profile=1)
    parts.certificates.install_root(RootKind.CSMS, TestCA().pem, NOW)
    security.raise_profile(2)
    security.connected()
    assert parts.security(security_profile=1).profile == 2  # the same file: the backend's value
    assert parts.security(security_profile=0).profile == 0  # an edited file wins (A00.FR.005)


def test_repeated_failures_report_one_event_until_a_connection_succeeds(parts):
    security = parts.security(security_profile=1)
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "certificate has expired"
    for _ in range(3):
        security.failed(error)
    assert parts.events_queued() == ["InvalidCentralSystemCertificate"]
    security.connected()
    security.failed(error)
    assert parts.events_queued() == ["InvalidCentralSystemCertificate"] * 2


# ---- configuration keys -------------------------------------------------------------------


def test_security_keys_in_get_and_change_configuration(parts):
    security = parts.security(security_profile=1)
    keys = ConfigurationKeys(Settings(parts.store), 1)
    keys.add(SecurityKeys(security, parts.store))
    known, unknown = keys.get(None)
    entries = {e["key"]: e for e in known}
    assert entries["AuthorizationKey"] == {"key": "AuthorizationKey", "readonly": False}  # never its value
    assert entries["SecurityProfile"]["value"] == "1"
    assert entries["CertificateStoreMaxLength"] == {"key": "CertificateStoreMaxLength", "readonly": True, "value": "2"}
    assert entries["AdditionalRootCertificateCheck"]["value"] == "false"
    assert keys.change("SecurityProfile", "0") is ChangeResult.REJECTED
    assert keys.change("SecurityProfile", "x") is ChangeResult.REJECTED
    assert keys.change("CertificateStoreMaxLength", "5") is ChangeResult.REJECTED
    assert keys.change("AuthorizationKey", NEW_KEY) is ChangeResult.REJECTED  # the link has no TLS
    assert keys.change("CpoName", "Example CPO") is ChangeResult.ACCEPTED
    assert keys.get(["CpoName"])[0][0]["value"] == "Example CPO"
    # Where the operator allows certificate operations without TLS: the key itself is checked.
    allowed = parts.security(security_profile=1, allow_unencrypted_certificate_operations=True)
    keys = ConfigurationKeys(Settings(parts.store), 1)
    keys.add(SecurityKeys(allowed, parts.store))
    assert keys.change("AuthorizationKey", "ab" * 8) is ChangeResult.REJECTED  # 8 bytes: too short
    assert keys.change("AuthorizationKey", NEW_KEY) is ChangeResult.ACCEPTED


def test_certificate_operations_need_a_tls_link(parts):
    security = parts.security(security_profile=1)
    security.options(URL)
    security.connected()
    assert security.certificate_operations_refused() == "the link has no TLS (ocpp.allow_unencrypted_certificate_operations is false)"
    plain = parts.security(security_profile=0)  # with a wss:// URL: TLS
    plain.options("wss://127.0.0.1:9000/ocpp/CP-1")
    plain.connected()
    assert plain.certificate_operations_refused() is None
    plain.failed(OSError("connection lost"))
    assert plain.certificate_operations_refused() is not None  # not connected: nothing may change


def test_a_root_installed_without_tls_is_removed_when_the_raise_it_was_for_fails(parts):
    security = parts.security(security_profile=1, allow_unencrypted_certificate_operations=True)
    security.options(URL)
    security.connected()
    root = TestCA("CPO root over ws")
    installed = parts.certificates.install_root(RootKind.CSMS, root.pem, NOW)
    security.root_installed(installed)
    assert security.raise_profile(2) is None
    for _ in range(FALLBACK_AFTER_FAILURES):
        security.options(URL)
        security.failed(ssl.SSLError(1, "wrong version number"))
    assert security.profile == 1 and parts.certificates.roots(RootKind.CSMS) == []
    assert "1 provisional CentralSystemRootCertificate(s) removed" in parts.events_info()[-1]


def test_a_root_installed_without_tls_stays_once_tls_connected(parts):
    security = parts.security(security_profile=1, allow_unencrypted_certificate_operations=True)
    security.options(URL)
    security.connected()
    root = TestCA("CPO root over ws")
    security.root_installed(parts.certificates.install_root(RootKind.CSMS, root.pem, NOW))
    assert security.raise_profile(2) is None
    security.options(URL)
    security.connected()  # over TLS, verified with it
    again = parts.security(security_profile=1, allow_unencrypted_certificate_operations=True)  # a restart
    assert again.provisional_roots == [] and parts.certificates.roots(RootKind.CSMS) == [root.cert]
    for _ in range(FALLBACK_AFTER_FAILURES):
        again.options(URL)
        again.failed(OSError("refused"))
    assert parts.certificates.roots(RootKind.CSMS) == [root.cert]


# ---- config file ----------------------------------------------------------------------------

CONFIG = """
[charge_point]
id = "CP-1"
[ocpp]
csms_url = "wss://csms.example.com/ocpp"
{ocpp}
[[buses]]
name = "rs485"
kind = "rtu"
device = "/dev/ttyUSB0"
[[connectors]]
id = 1
[connectors.board]
driver = "evse-din"
bus = "rs485"
"""


@pytest.mark.parametrize(
    "ocpp, error",
    [
        ("security_profile = 1", "allow_unencrypted"),
        ("security_profile = 2", "ocpp.ca_bundle"),
        ('security_profile = 3\nca_bundle = "/ca.pem"', "ocpp.client_cert"),
        ('client_cert = "/c.pem"', "give both"),
        ("security_profile = 4", "security_profile"),
    ],
)
def test_config_names_what_a_profile_misses(tmp_path, ocpp, error):
    path = tmp_path / "agent.toml"
    path.write_text(CONFIG.format(ocpp=ocpp))
    with pytest.raises(ConfigError, match=error):
        load_config(path)


def test_a_profile_2_config_loads(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(CONFIG.format(ocpp='security_profile = 2\nca_bundle = "/etc/evse-agent/csms-ca.pem"'))
    assert load_config(path).ocpp.security_profile == 2


# ---- secrets out of logs and files ----------------------------------------------------------


def test_log_lines_lose_secrets_by_value_and_by_shape(parts):
    security = parts.security(security_profile=1)
    redactor = RedactSecrets(security.secrets)
    frame = '[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"00112233445566778899aabbccddeeff"}]'
    record = logging.LogRecord("ocpp", logging.INFO, __file__, 1, "receive %s", (frame,), None)
    redactor.filter(record)
    assert "00112233" not in record.getMessage() and REDACTED in record.getMessage()
    header = security.options(URL).headers["Authorization"]
    for text in (f"> Authorization: {header}", f"key {KEY}", "password sixteen+ bytes!! in a traceback"):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, text, None, None)
        redactor.filter(record)
        assert record.getMessage().count(REDACTED) == 1, record.getMessage()


def test_secret_files_others_can_read_are_reported(parts, tmp_path, caplog):
    security = parts.security(security_profile=1)
    key_file = tmp_path / "data" / "authorization-key"
    key_file.chmod(0o644)
    assert warn_if_exposed(security.secret_files()) == [key_file]
    key_file.chmod(0o600)
    assert warn_if_exposed(security.secret_files()) == []


def test_tls_1_2_offers_only_the_whitepaper_cipher_suites(parts, tmp_path):
    """Security Whitepaper A00.FR.318: AES-GCM with ECDHE-ECDSA or RSA; no CBC, no DHE (issue 17, item 12)."""
    ca = TestCA("CPO Root CA").write(tmp_path / "ca.pem")
    context = parts.security(security_profile=2, ca_bundle=str(ca)).options(URL).ssl
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES256-GCM-SHA384"}


# ---- OCPP 2.0.1 (the network connection profiles: tests/unit/test_network_profiles.py) ---------


def test_a_2_0_1_password_may_be_longer_than_a_1_6_authorization_key(parts):
    from agent.security.link_security import PASSWORD_BYTES

    security = parts.security(security_profile=1)
    forty = b"a BasicAuthPassword of forty characters!"
    assert "16 to 20 bytes" in security.set_authorization_key(forty.hex())  # 1.6 AuthorizationKey
    assert security.set_authorization_key(forty.hex(), PASSWORD_BYTES) is None  # 2.0.1 errata 2.1
    assert basic(security.options(URL)) == b"CP-1:" + forty


# ---- AdditionalRootCertificateCheck (M05.FR.08-13) ----------------------------------------------


def _replace_root(parts, security, old: TestCA, new: TestCA):
    from agent.security.certificate_operations import InstallResult, install_root

    security.options("wss://csms.example/ocpp/CP-1")
    security.connected()  # a TLS link: certificate operations allowed
    assert install_root(security, RootKind.CSMS, new.pem, NOW) is InstallResult.ACCEPTED
    return parts.certificates.certificate_id(new.cert, RootKind.CSMS)


def test_with_the_check_a_new_csms_root_must_be_signed_by_the_one_in_use(parts):
    old = TestCA("Old CSMS Root")
    parts.certificates.install_root(RootKind.CSMS, old.pem, NOW)
    security = parts.security(security_profile=2, additional_root_certificate_check=True)
    assert "not signed by the CSMS root in use" in security.new_root_refused(TestCA("Stranger").pem)  # M05.FR.10
    new = old.successor("Next CSMS Root")
    assert security.new_root_refused(new.pem) is None
    _replace_root(parts, security, old, new)
    assert security.trusted_roots() == [new.cert]  # the new one first, the old kept (M05.FR.11)
    assert len(parts.certificates.roots(RootKind.CSMS)) == 2
    assert "not confirmed" in security.new_root_refused(new.successor("Later CSMS Root").pem)
    security.reconnect_if_due()
    assert parts.reconnects == 1  # tried at once
    security.options("wss://csms.example/ocpp/CP-1")
    security.connected()
    assert parts.certificates.roots(RootKind.CSMS) == [new.cert] and security.root_change is None  # M05.FR.12
    # The old root's name for the new one survives the old one's deletion.
    issuer_key_hash = parts.certificates.certificate_id(new.cert, RootKind.CSMS).issuer_key_hash
    assert issuer_key_hash != parts.certificates.certificate_id(new.cert, RootKind.MANUFACTURER).issuer_key_hash


def test_with_the_check_the_old_root_is_tried_when_the_new_one_does_not_verify_the_backend(parts):
    old = TestCA("Old CSMS Root")
    parts.certificates.install_root(RootKind.CSMS, old.pem, NOW)
    security = parts.security(security_profile=2, additional_root_certificate_check=True)
    new = old.successor("Next CSMS Root")
    _replace_root(parts, security, old, new)
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "unable to get local issuer certificate"
    security.failed(error)
    assert security.trusted_roots() == [old.cert]  # M05.FR.13
    assert parts.security(security_profile=2, additional_root_certificate_check=True).trusted_roots() == [old.cert]
    security.options("wss://csms.example/ocpp/CP-1")
    security.connected()
    assert parts.certificates.roots(RootKind.CSMS) == [old.cert] and security.root_change is None


def test_without_the_check_every_installed_root_is_trusted(parts):
    old = TestCA("Old CSMS Root")
    parts.certificates.install_root(RootKind.CSMS, old.pem, NOW)
    security = parts.security(security_profile=2)
    stranger = TestCA("Stranger")
    assert security.new_root_refused(stranger.pem) is None
    _replace_root(parts, security, old, stranger)
    assert security.trusted_roots() == parts.certificates.roots(RootKind.CSMS) and security.root_change is None
