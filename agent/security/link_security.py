"""The security profile of the link to the backend, its credentials, and changing them safely.

OCPP 1.6 Security Whitepaper (ed. 3) §2:

- profile 1: HTTP Basic authentication (username = charge point id, password = the
  AuthorizationKey) over ws://, only where ``ocpp.allow_unencrypted`` says so;
- profile 2: TLS 1.2 or later (A00.FR.309), the backend's certificate verified against
  the configured CA bundle and the installed CentralSystemRootCertificates, plus HTTP Basic;
- profile 3: TLS with the charge point's client certificate, no HTTP Basic.

Profile 0 (no whitepaper security) uses the URL as configured. The profile decides the
scheme: 1 → ws://, 2 and 3 → wss://, on the configured host, port and path.

The backend may raise the profile (never lower it, A00.FR.005: that is done in the config
file), change the AuthorizationKey, or send a new client certificate. New settings are tried
on an immediate reconnect and become the ones in use once they have connected; the previous
ones stay stored until then, and are used again if the new ones fail
``FALLBACK_AFTER_FAILURES`` times in a row first.

The password never appears in a URL or a log line: it goes in an ``Authorization`` header
(websockets logs URIs), and ``secrets()`` feeds the log filter of agent/security/secret_files.py.

With AdditionalRootCertificateCheck (``ocpp.additional_root_certificate_check``, Security
Whitepaper / OCPP 2.0.1 M05.FR.08-13) the backend's certificate is verified against one CSMS
root: the one installed (``ocpp.ca_bundle`` only until one is), replaced only by a root it
signed (``new_root_refused``). The old one stays as a fallback: the next connections verify with
the new root; if the backend's certificate does not verify with it, with the old one (M05.FR.13).
The first TLS connection that succeeds decides: with the new root, the old is deleted
(M05.FR.12); with the old, the new is.

Certificate operations (InstallCertificate, DeleteCertificate, CertificateSigned, a new
AuthorizationKey) change whom the charge point trusts or how it proves who it is; over a link
without TLS anyone on the way could send them, so they are refused there
(``certificate_operations_refused``) unless ``ocpp.allow_unencrypted_certificate_operations``
says otherwise. A Central System root installed over such a link (to raise the profile to 2)
is provisional: kept once a TLS connection has succeeded while it was trusted, removed when the
new settings fall back (they failed) or the operator changes the security settings in the file.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from agent.security.lazy_crypto import exceptions, serialization, x509
from websockets.exceptions import InvalidMessage, InvalidStatus

from agent.security.certificates import CertificateId, CertificateStore, ClientCertificate, NotManaged, RootKind, load_certificates
from agent.app.config import AgentConfig, ConfigError
from agent.backend.link import ConnectOptions, ConnectOptionsError
from agent.security.secret_files import write_secret
from agent.security.events import SecurityEvent, SecurityEvents
from agent.persistence.store import Store

log = logging.getLogger(__name__)

FALLBACK_AFTER_FAILURES = 3
# Whitepaper, AuthorizationKey: 16 to 20 bytes, in hexadecimal (up to 40 hex digits); the
# password on the wire is those bytes, not their hexadecimal digits.
AUTHORIZATION_KEY_BYTES = range(16, 21)
# OCPP 2.0.1 SecurityCtrlr.BasicAuthPassword (errata 2.1): at least 16 characters, maxLimit 40 to
# 64 (agent/ocpp201/station_model.py declares 64). The same file keeps it, as hexadecimal.
PASSWORD_BYTES = range(16, 65)
STATE_KEY = "link_security"

# TLS alerts by which a backend refuses the charge point's certificate.
_REFUSED_CLIENT_CERTIFICATE = {
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "TLSV1_ALERT_UNKNOWN_CA",
    "TLSV1_ALERT_ACCESS_DENIED",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
}
_TLS_VERSION = {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_SSL_VERSION"}
# Security Whitepaper (ed. 3) A00.FR.318: the TLS 1.2 cipher suites of a Charge Point,
# TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
# TLS_RSA_WITH_AES_128_GCM_SHA256 and TLS_RSA_WITH_AES_256_GCM_SHA384 (OpenSSL names), and no
# other: no CBC, no DHE (A00.FR.319). TLS 1.3 suites (all AEAD) are not affected.
TLS12_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384"
# A server that allows none of them answers the handshake with this alert (RFC 5246 §7.4.1.3).
_CIPHER_SUITE = {"SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_CIPHERS_AVAILABLE", "NO_SHARED_CIPHER"}


@dataclass(frozen=True)
class Credentials:
    profile: int
    client_cert: str | None = None
    client_key: str | None = None
    new_key: bool = False  # the AuthorizationKey to use is the new one, not yet confirmed


@dataclass(frozen=True)
class RootChange:
    """AdditionalRootCertificateCheck: the CSMS root installed, the one(s) it replaces, and whether
    the old one is being tried after the new one failed to verify the backend (M05.FR.13)."""

    new: CertificateId
    old: tuple[CertificateId, ...]
    fallback: bool = False


def _root_change(data: dict | None) -> RootChange | None:
    if not data:
        return None
    return RootChange(CertificateId(**data["new"]), tuple(CertificateId(**i) for i in data["old"]), data["fallback"])


def _state(creds: Credentials) -> dict:
    """Credentials as stored."""
    return asdict(creds)


def authorization_key_bytes(text: str, allowed: range = AUTHORIZATION_KEY_BYTES) -> bytes:
    """The password an AuthorizationKey stands for (ValueError saying why it is not one);
    ``allowed``: its length in bytes (the 1.6 AuthorizationKey's by default)."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError("an AuthorizationKey is hexadecimal digits") from None
    if len(raw) not in allowed:
        first, last = allowed.start, allowed.stop - 1
        raise ValueError(f"an AuthorizationKey is {first} to {last} bytes ({2 * first} to {2 * last} hex digits), not {len(raw)}")
    return raw


def check_files(config: AgentConfig) -> None:
    """The files the [ocpp] section names can be read (raises ConfigError)."""
    ocpp = config.ocpp
    if ocpp.ca_bundle:
        try:
            load_certificates(ocpp.ca_bundle)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"ocpp.ca_bundle: {ocpp.ca_bundle}: not a readable PEM bundle ({exc})") from None
    for name in ("client_cert", "client_key"):
        path = getattr(ocpp, name)
        if path and not os.access(path, os.R_OK):
            raise ConfigError(f"ocpp.{name}: {path} is not readable")


def url_for_profile(url: str, profile: int) -> str:
    if profile == 0:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="ws" if profile == 1 else "wss"))


class LinkSecurity:
    """The Link's ConnectPolicy (agent/backend/link.py)."""

    def __init__(self, config: AgentConfig, store: Store, certificates: CertificateStore, events: SecurityEvents) -> None:
        ocpp = config.ocpp
        self._ocpp = ocpp
        self.charge_point_id = config.charge_point.id
        self._store = store
        self.certificates = certificates
        self.events = events
        self.key_file = Path(ocpp.authorization_key_file or Path(config.storage.data_dir) / "authorization-key")
        self.new_key_file = self.key_file.with_name(self.key_file.name + ".new")
        self.reconnect: Callable[[], None] = lambda: None  # Link.reconnect, set by the composition root
        self._reconnect_due = False
        self._failures = 0
        self._reported: set[SecurityEvent | str] = set()
        self._secrets: tuple[str, ...] = ()
        self._from_config = Credentials(ocpp.security_profile, ocpp.client_cert or None, ocpp.client_key or None)
        # Whether the connection in use (or being opened) has TLS: certificate operations need it.
        self.encrypted = False
        self._opening_encrypted = False
        state = json.loads(store.settings().get(STATE_KEY, "null"))
        self.provisional_roots = [CertificateId(**i) for i in (state or {}).get("provisional_roots", [])]
        # AdditionalRootCertificateCheck: a CSMS root replaced and not yet confirmed by a connection.
        self.root_change: RootChange | None = _root_change((state or {}).get("root_change"))
        if state is None or state.get("config") != _state(self._from_config):
            # First start, or the operator edited the file, which is how a profile is lowered.
            self.active, self.pending = self._from_config, None
            _remove(self.new_key_file)
            self._remove_provisional_roots("the security settings in the config file changed")
            self._save()
        else:
            self.active = Credentials(**state["active"])
            self.pending = Credentials(**state["pending"]) if state["pending"] else None
        self._remember_secrets()

    # ---- what the link uses -----------------------------------------------------------

    @property
    def trying(self) -> Credentials:
        return self.pending or self.active

    @property
    def profile(self) -> int:
        return self.trying.profile

    @property
    def additional_root_certificate_check(self) -> bool:
        """AdditionalRootCertificateCheck (the installation's, ``ocpp.additional_root_certificate_check``)."""
        return self._ocpp.additional_root_certificate_check

    def options(self, url: str, security_profile: int | None = None) -> ConnectOptions:
        """``security_profile``: connect with that profile instead (a network connection profile's,
        agent/backend/network_profiles.py), with the credentials in use."""
        creds = self.trying if security_profile is None else replace(self.trying, profile=security_profile)
        url = url_for_profile(url, creds.profile)
        headers = {}
        if creds.profile in (1, 2):
            password = self._key(creds.new_key)
            token = base64.b64encode(self.charge_point_id.encode() + b":" + password).decode()
            headers["Authorization"] = f"Basic {token}"
        self._opening_encrypted = urlsplit(url).scheme == "wss"
        context = self._tls_context(creds) if self._opening_encrypted else None
        return ConnectOptions(url, context, headers)

    def connected(self) -> None:
        self._failures = 0
        self._reported.clear()
        self.encrypted = self._opening_encrypted
        if self.encrypted and self.root_change is not None:
            self._root_change_decided()
        if self.encrypted and self.provisional_roots:
            # The TLS connection they were installed for has succeeded: they stay.
            log.info("link: %d provisional CentralSystemRootCertificate(s) kept: a TLS connection succeeded", len(self.provisional_roots))
            self.provisional_roots = []
            self._save()
        if self.pending is None:
            return
        previous, self.active, self.pending = self.active, self.pending, None
        if self.active.new_key:
            os.replace(self.new_key_file, self.key_file)
            self.active = replace(self.active, new_key=False)
        self._save()
        self._remember_secrets()
        self._prune_client_certificates()
        self.events.record(SecurityEvent.RECONFIGURATION_OF_SECURITY_PARAMETERS, _change(previous, self.active))

    def reconfigured(self, detail: str) -> None:
        """Another network profile's security settings are in use (agent/backend/network_profiles.py)."""
        self.events.record(SecurityEvent.RECONFIGURATION_OF_SECURITY_PARAMETERS, detail)

    def failed(self, error: BaseException) -> None:
        self.encrypted = False
        event = _classify(error)
        change = self.root_change
        if change is not None and not change.fallback and event is SecurityEvent.INVALID_CENTRAL_SYSTEM_CERTIFICATE:
            # M05.FR.13: the backend's certificate does not verify with the new root: the old one next.
            log.warning("link: the backend's certificate does not verify with the new CSMS root; trying the old one")
            self.root_change = replace(change, fallback=True)
            self._save()
        if event is not None and event not in self._reported:
            self._reported.add(event)
            self.events.record(event, _reason(error))
        if self.trying.profile == 3 and isinstance(error, InvalidMessage) and "profile 3 hint" not in self._reported:
            self._reported.add("profile 3 hint")
            # TLS 1.3 sends the refusal of a client certificate after the handshake: all that
            # arrives here is a connection closed before the HTTP answer.
            log.warning(
                "link: the backend closed the connection before answering; it may have refused the "
                "charge point certificate %s (expired, or from a CA it does not trust)", self.trying.client_cert,
            )
        if self.pending is None:
            return
        self._failures += 1
        if self._failures >= FALLBACK_AFTER_FAILURES:
            log.error(
                "link: the new security settings (profile %d) failed %d times (%s); back to the previous ones (profile %d)",
                self.pending.profile, self._failures, _reason(error), self.active.profile,
            )
            if self.pending.new_key:
                _remove(self.new_key_file)
            self.pending, self._failures = None, 0
            removed = self._remove_provisional_roots("the TLS connection they were installed for failed")
            self._save()
            self._remember_secrets()
            self.events.record(
                SecurityEvent.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                f"new settings failed to connect ({_reason(error)}); back to security profile {self.active.profile}"
                + (f"; {removed} provisional CentralSystemRootCertificate(s) removed" if removed else ""),
            )

    # ---- changes from the backend -----------------------------------------------------

    def certificate_operations_refused(self) -> str | None:
        """Why a certificate operation (InstallCertificate, DeleteCertificate, CertificateSigned,
        AuthorizationKey) is refused on the link in use, or None when it may go ahead."""
        if self.encrypted or self._ocpp.allow_unencrypted_certificate_operations:
            return None
        return "the link has no TLS (ocpp.allow_unencrypted_certificate_operations is false)"

    def new_root_refused(self, pem: str) -> str | None:
        """M05.FR.09/10: why a new CSMS root may not be installed (AdditionalRootCertificateCheck:
        it must be signed by the root in use, or be it), or None."""
        if not self._ocpp.additional_root_certificate_check:
            return None
        try:
            new = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            return None  # the certificate store says what is wrong with it
        if self.root_change is not None:
            return "a CSMS root replaced earlier is not confirmed by a connection yet"
        for root in self.trusted_roots():
            if new == root:
                return None
            try:
                new.verify_directly_issued_by(root)
            except (ValueError, TypeError, exceptions.InvalidSignature):
                continue
            return None
        return "AdditionalRootCertificateCheck: the new CSMS root is not signed by the CSMS root in use"

    def root_installed(self, installed: CertificateId) -> None:
        """A CentralSystemRootCertificate was installed: provisional when it came over a link
        without TLS, until a TLS connection succeeds. With AdditionalRootCertificateCheck it
        replaces the root in use, which stays as a fallback until a connection decides (M05.FR.11)."""
        if self._ocpp.additional_root_certificate_check:
            old = [i for i in self.certificates.ids(RootKind.CSMS) if i != installed]
            self.root_change = RootChange(installed, tuple(old))
            self._reconnect_due = True  # verified with the new root at once
            self._save()
            log.info("link: new CSMS root installed; the old one is kept as a fallback until a connection decides")
        if not self.encrypted and installed not in self.provisional_roots:
            log.warning("link: the CentralSystemRootCertificate came over a link without TLS: provisional until a TLS connection succeeds")
            self.provisional_roots.append(installed)
            self._save()

    def raise_profile(self, new: int) -> str | None:
        """None when accepted (a reconnect is then due), else why not."""
        current = self.trying
        if new == current.profile:
            return None
        if new < current.profile:
            # Security Whitepaper A00.FR.005, OCPP 2.0.1 B09.FR.04.
            return f"the security profile is {current.profile}; it may only be raised (A00.FR.005)"
        why = self.usable(new)
        if why is not None:
            return why
        self._propose(replace(current, profile=new))
        return None

    def usable(self, new: int) -> str | None:
        """None when the charge point has what security profile ``new`` needs, else what it lacks."""
        current = self.trying
        if new not in (0, 1, 2, 3):
            return f"{new} is not a security profile"
        if new == 1 and not self._ocpp.allow_unencrypted:
            return "profile 1 is unencrypted and ocpp.allow_unencrypted is false"
        if new in (1, 2) and not self._has_key(current.new_key):
            return "no AuthorizationKey is set"
        if new >= 2 and not self.trusted_roots():  # OCPP 2.0.1 A05.FR.02
            return "no CentralSystemRootCertificate is installed (and no ocpp.ca_bundle)"
        if new == 3 and not current.client_cert:  # OCPP 2.0.1 A05.FR.03
            return "no charge point certificate is installed"
        return None

    def set_authorization_key(self, text: str, allowed: range = AUTHORIZATION_KEY_BYTES) -> str | None:
        """A new password, in hexadecimal; None when accepted, else why not. ``allowed``: its
        length in bytes (1.6 AuthorizationKey: 16-20; 2.0.1 BasicAuthPassword: PASSWORD_BYTES)."""
        try:
            authorization_key_bytes(text, allowed)
        except ValueError as exc:
            return str(exc)
        current = self.trying
        try:
            if current.profile in (1, 2):
                write_secret(self.new_key_file, text.strip().encode())
                self._propose(replace(current, new_key=True))
            else:  # not in use now: kept for when the profile is raised to 1 or 2
                write_secret(self.key_file, text.strip().encode())
        except OSError as exc:
            return f"cannot store it: {exc.strerror}"
        self._remember_secrets()
        return None

    def use_client_certificate(self, installed: ClientCertificate) -> None:
        """A new charge point certificate (CertificateSigned): tried at once with profile 3."""
        fields = {"client_cert": str(installed.certificate), "client_key": str(installed.key)}
        if self.trying.profile == 3:
            self._propose(replace(self.trying, **fields))
            return
        self.active = replace(self.active, **fields)
        if self.pending is not None:
            self.pending = replace(self.pending, **fields)
        self._save()

    def reconnect_if_due(self) -> None:
        if self._reconnect_due:
            self._reconnect_due = False
            self.reconnect()

    def trusted_roots(self) -> list[x509.Certificate]:
        """What the backend's certificate (and a signed charge point certificate) must chain to."""
        roots = []
        if self._ocpp.ca_bundle:
            try:
                roots += load_certificates(self._ocpp.ca_bundle)
            except (OSError, ValueError) as exc:
                log.error("ocpp.ca_bundle %s: %s", self._ocpp.ca_bundle, exc)
        installed = self.certificates.roots(RootKind.CSMS)
        if not self._ocpp.additional_root_certificate_check:
            return roots + installed
        if not installed:
            return roots  # the installation's, until the backend installed its one root
        change = self.root_change
        if change is None:
            return installed
        if change.fallback and not change.old:
            return roots  # the new root replaced the installation's
        wanted = set(change.old) if change.fallback else {change.new}
        return [c for c in installed if self.certificates.certificate_id(c, RootKind.CSMS) in wanted]

    # ---- secrets ----------------------------------------------------------------------

    def secrets(self) -> tuple[str, ...]:
        """Every form of the AuthorizationKeys in use, for the log filter."""
        return self._secrets

    def secret_files(self) -> list[Path]:
        keys = {self.key_file, self.new_key_file, *self.certificates.secret_files()}
        for creds in (self._from_config, self.active, self.pending):
            if creds is not None and creds.client_key:
                keys.add(Path(creds.client_key))
        return sorted(keys)

    # ---- inside -----------------------------------------------------------------------

    def _propose(self, creds: Credentials) -> None:
        log.info("link: new security settings (profile %d) will be tried now", creds.profile)
        self.pending, self._failures, self._reconnect_due = creds, 0, True
        self._save()

    def _save(self) -> None:
        state = {
            "config": _state(self._from_config),
            "active": _state(self.active),
            "pending": _state(self.pending) if self.pending else None,
            "provisional_roots": [asdict(i) for i in self.provisional_roots],
        }
        if self.root_change is not None:
            state["root_change"] = {"new": asdict(self.root_change.new), "old": [asdict(i) for i in self.root_change.old],
                                    "fallback": self.root_change.fallback}
        self._store.put_setting(STATE_KEY, json.dumps(state))

    def _root_change_decided(self) -> None:
        """A TLS connection succeeded during a CSMS root change: M05.FR.12, or the new root failed."""
        change = self.root_change
        assert change is not None
        drop, kept = (change.new, "the old CSMS root (the new one did not verify the backend)") if change.fallback \
            else (change.old, "the new CSMS root")
        for cert_id in (drop,) if isinstance(drop, CertificateId) else drop:
            try:
                self.certificates.delete(cert_id)
            except (OSError, NotManaged) as exc:
                log.error("link: cannot remove a replaced CSMS root: %s", exc)
        self.root_change = None
        self._save()
        self.events.record(SecurityEvent.RECONFIGURATION_OF_SECURITY_PARAMETERS, f"{kept} in use (AdditionalRootCertificateCheck)")

    def _remove_provisional_roots(self, why: str) -> int:
        """Delete the provisional Central System roots; how many were still installed."""
        removed = 0
        for cert_id in self.provisional_roots:
            try:
                removed += self.certificates.delete(cert_id) is not None
            except (OSError, NotManaged) as exc:
                log.error("link: cannot remove a provisional CentralSystemRootCertificate: %s", exc)
        if self.provisional_roots:
            log.warning("link: %d provisional CentralSystemRootCertificate(s) removed: %s", removed, why)
        self.provisional_roots = []
        return removed

    def has_authorization_key(self) -> bool:
        return self._has_key(self.trying.new_key)

    def _has_key(self, new: bool = False) -> bool:
        try:
            self._key(new)
        except ConnectOptionsError:
            return False
        return True

    def _key(self, new: bool) -> bytes:
        # The new key file is gone once it replaced the old one (a restart in between).
        path = self.new_key_file if new and self.new_key_file.exists() else self.key_file
        try:
            return authorization_key_bytes(path.read_text(), PASSWORD_BYTES)
        except OSError as exc:
            raise ConnectOptionsError(f"no AuthorizationKey: {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConnectOptionsError(f"{path}: {exc}") from None

    def _tls_context(self, creds: Credentials) -> ssl.SSLContext:
        if creds.profile < 2:
            context = ssl.create_default_context()  # the system's CAs, and any configured ones
            extra = "".join(_pem(c) for c in self.trusted_roots())
            if extra:
                context.load_verify_locations(cadata=extra)
        else:
            roots = self.trusted_roots()
            if not roots:
                raise ConnectOptionsError("no CA certificate to verify the backend against")
            context = ssl.create_default_context(cadata="".join(_pem(c) for c in roots))
        if self._ocpp.additional_root_certificate_check:
            # The CSMS root in use may be one the previous root signed (M05.FR.09): an anchor itself.
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(TLS12_CIPHERS)
        if creds.profile == 3:
            if not creds.client_cert or not creds.client_key:
                raise ConnectOptionsError("security profile 3 without a client certificate")
            context.load_cert_chain(creds.client_cert, creds.client_key)
        return context

    def _remember_secrets(self) -> None:
        found = []
        for path in (self.key_file, self.new_key_file):
            try:
                text = path.read_text().strip()
                raw = authorization_key_bytes(text, PASSWORD_BYTES)
            except (OSError, ValueError):
                continue
            found += [text, text.lower(), text.upper()]
            found.append(base64.b64encode(self.charge_point_id.encode() + b":" + raw).decode())
            printable = raw.decode("utf-8", errors="ignore")
            if len(printable) >= 8:
                found.append(printable)
        self._secrets = tuple(dict.fromkeys(self._secrets + tuple(found)))  # a replaced key stays secret

    def _prune_client_certificates(self) -> None:
        keep = {Path(p) for c in (self.active, self.pending) if c for p in (c.client_cert, c.client_key) if p}
        self.certificates.prune_client_certificates(keep)


def _classify(error: BaseException) -> SecurityEvent | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, InvalidStatus) and seen.response.status_code == 401:
            return SecurityEvent.FAILED_TO_AUTHENTICATE_AT_CENTRAL_SYSTEM
        if isinstance(seen, ssl.SSLCertVerificationError):
            return SecurityEvent.INVALID_CENTRAL_SYSTEM_CERTIFICATE
        if isinstance(seen, ssl.SSLError):
            reason = getattr(seen, "reason", None)
            if reason in _REFUSED_CLIENT_CERTIFICATE:
                return SecurityEvent.FAILED_TO_AUTHENTICATE_AT_CENTRAL_SYSTEM
            if reason in _TLS_VERSION:
                return SecurityEvent.INVALID_TLS_VERSION
            if reason in _CIPHER_SUITE:
                return SecurityEvent.INVALID_TLS_CIPHER_SUITE  # A00.FR.322
        seen = seen.__cause__ or seen.__context__
    return None


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {getattr(error, 'reason', None) or error}"
    return f"{type(error).__name__}: {error}"


def _change(previous: Credentials, now: Credentials) -> str:
    if previous.profile != now.profile:
        return f"security profile {previous.profile} -> {now.profile} in use"
    if previous.client_cert != now.client_cert:
        return "new charge point certificate in use"
    return "new AuthorizationKey in use"


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):  # gone already, or a data directory that cannot be written
        path.unlink()


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
