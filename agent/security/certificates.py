"""The certificate store in the data directory: root certificates the backend installs, and the
charge point's own key pair and certificate.

OCPP 1.6 Security Whitepaper (ed. 3): InstallCertificate / GetInstalledCertificateIds /
DeleteCertificate manage root certificates of two hierarchies (§2.6.2: the operator's
Central System root, the manufacturer's root); SignCertificate / CertificateSigned renew the
charge point certificate (§3.2), whose private key is generated on the device and never
leaves it.

Which hierarchies the backend may change is the installation's choice (``backend_managed``):
by default only the Central System roots. The manufacturer roots, the firmware trust anchors,
come from the installation (``fixed`` roots: ``[firmware] manufacturer_roots``); a backend that
could install its own would sign and run its own code. Fixed roots are listed like installed
ones (GetInstalledCertificateIds tells the truth) and can never be deleted by the backend;
roots of a hierarchy the backend may not manage that it installed earlier are ignored. Layout::

    <directory>/csms-root/<sha256>.pem          installed Central System root certificates
    <directory>/csms-root/<sha256>.issuer       the root that signed one, when not itself (its name:
                                                CertificateHashData names the issuer's key)
    <directory>/manufacturer-root/<sha256>.pem  installed manufacturer root certificates
    <directory>/charge-point/                   key pairs (0600) and signed chains, 0700
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from pathlib import Path

from agent.security.lazy_crypto import ec, exceptions, hashes, ocsp, oid, serialization, verification, x509

from agent.security.secret_files import private_directory, write_secret

log = logging.getLogger(__name__)

HASHES = ("SHA256", "SHA384", "SHA512")  # cryptography.hazmat.primitives.hashes names


class RootKind(enum.Enum):
    CSMS = "csms-root"
    MANUFACTURER = "manufacturer-root"


class CertificateError(ValueError):
    """A certificate was refused; the message says why."""


class StoreFull(CertificateError):
    """Installing one more would exceed the store's maximum number of certificates."""


class NotManaged(CertificateError):
    """The installation, not the backend, decides the roots of this hierarchy."""


@dataclass(frozen=True)
class CertificateId:
    """How OCPP names a certificate (CertificateHashDataType, as in an OCSP CertID)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str  # hexadecimal, without leading zeroes


@dataclass(frozen=True)
class ClientCertificate:
    certificate: Path  # PEM chain, leaf first
    key: Path


class CertificateStore:
    def __init__(
        self,
        directory: Path,
        max_certificates: int = 10,
        *,
        fixed: dict[RootKind, list[x509.Certificate]] | None = None,
        backend_managed: frozenset[RootKind] = frozenset({RootKind.CSMS}),
    ) -> None:
        # Directories are made when first written to (an unwritable data directory only
        # fails the certificate operations, with an OSError).
        self.directory = directory
        self.max_certificates = max_certificates
        self.fixed = {kind: list((fixed or {}).get(kind, [])) for kind in RootKind}
        self.backend_managed = backend_managed
        self._own = directory / "charge-point"
        for kind in RootKind:
            ignored = [] if kind in backend_managed else self._stored(kind)
            if ignored:
                log.warning(
                    "certificate store: %d %s certificate(s) the backend installed in %s are ignored: "
                    "these roots come from the installation", len(ignored), kind.value, self.directory / kind.value,
                )

    # ---- root certificates -----------------------------------------------------------

    def roots(self, kind: RootKind) -> list[x509.Certificate]:
        """The trust anchors of a hierarchy: the installation's, then those the backend installed."""
        return self.fixed[kind] + [cert for _, cert in self._installed(kind) if cert not in self.fixed[kind]]

    def roots_pem(self, kind: RootKind) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.roots(kind))

    def count(self) -> int:
        return sum(len(self._installed(kind)) for kind in RootKind)

    def install_root(self, kind: RootKind, pem: str, now: dt.datetime) -> CertificateId:
        """Install one CA certificate (raises CertificateError / StoreFull / NotManaged)."""
        if kind not in self.backend_managed:
            raise NotManaged(f"{kind.value} certificates come from the installation, not from the backend")
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            raise CertificateError(f"not a PEM X.509 certificate: {exc}") from None
        constraints = _extension(cert, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise CertificateError("not a CA certificate (basicConstraints cA is not set)")
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise CertificateError(f"not valid now (valid {cert.not_valid_before_utc} to {cert.not_valid_after_utc})")
        issuer = self._issuer(cert, kind)  # raises when it is neither self-signed nor issued by an installed root
        path = self.directory / kind.value / f"{_fingerprint(cert)}.pem"
        if not path.exists():
            if self.count() >= self.max_certificates:
                raise StoreFull(f"the certificate store is full ({self.max_certificates} certificates)")
            path.parent.mkdir(parents=True, exist_ok=True)
            if issuer != cert:  # kept to name it by, should the issuer be deleted (AdditionalRootCertificateCheck)
                path.with_suffix(".issuer").write_bytes(issuer.public_bytes(serialization.Encoding.PEM))
            path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        log.info("certificate store: installed %s root %s", kind.value, cert.subject.rfc4514_string())
        return self.certificate_id(cert, kind)

    def ids(self, kind: RootKind, algorithm: str = "SHA256") -> list[CertificateId]:
        return [self.certificate_id(cert, kind, algorithm) for cert in self.roots(kind)]

    def delete(self, wanted: CertificateId) -> RootKind | None:
        """Delete the installed root named ``wanted``; its kind, or None if there is none.
        Raises NotManaged for a root of the installation."""
        found = self.find(wanted)
        if found is None:
            return None
        kind, cert = found
        if cert in self.fixed[kind] or kind not in self.backend_managed:
            raise NotManaged(f"{kind.value} {cert.subject.rfc4514_string()} comes from the installation")
        for path, installed in self._installed(kind):
            if installed == cert:
                path.unlink()
                path.with_suffix(".issuer").unlink(missing_ok=True)
        log.info("certificate store: deleted %s root %s", kind.value, cert.subject.rfc4514_string())
        return kind

    def find(self, wanted: CertificateId) -> tuple[RootKind, x509.Certificate] | None:
        for kind in RootKind:
            for cert in self.roots(kind):
                if self.certificate_id(cert, kind, wanted.hash_algorithm) == _normalised(wanted):
                    return kind, cert
        return None

    def certificate_id(self, cert: x509.Certificate, kind: RootKind, algorithm: str = "SHA256") -> CertificateId:
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, self._issuer_or_self(cert, kind), getattr(hashes, algorithm)())
            .build()
        )
        return CertificateId(
            hash_algorithm=algorithm,
            issuer_name_hash=request.issuer_name_hash.hex(),
            issuer_key_hash=request.issuer_key_hash.hex(),
            serial_number=format(request.serial_number, "x"),
        )

    def _installed(self, kind: RootKind) -> list[tuple[Path, x509.Certificate]]:
        """What the backend installed, for a hierarchy it may manage."""
        return self._stored(kind) if kind in self.backend_managed else []

    def _stored(self, kind: RootKind) -> list[tuple[Path, x509.Certificate]]:
        found = []
        for path in sorted((self.directory / kind.value).glob("*.pem")):
            try:
                found.append((path, x509.load_pem_x509_certificate(path.read_bytes())))
            except (OSError, ValueError) as exc:
                log.error("certificate store: %s is unreadable, ignored: %s", path, exc)
        return found

    def _issuer(self, cert: x509.Certificate, kind: RootKind) -> x509.Certificate:
        candidates = [cert] + [c for c in self.roots(kind) if c != cert]
        for issuer in candidates:
            if issuer.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, exceptions.InvalidSignature):
                continue
            return issuer
        raise CertificateError("neither self-signed nor issued by an installed root certificate")

    def _issuer_or_self(self, cert: x509.Certificate, kind: RootKind) -> x509.Certificate:
        # An installed certificate whose issuer was deleted since keeps its name: the issuer kept
        # beside it, else (installed by an older release) itself.
        try:
            return self._issuer(cert, kind)
        except CertificateError:
            pass
        kept = self.directory / kind.value / f"{_fingerprint(cert)}.issuer"
        try:
            return x509.load_pem_x509_certificate(kept.read_bytes())
        except (OSError, ValueError):
            return cert

    # ---- the charge point's own certificate ------------------------------------------

    def new_csr(self, common_name: str, organization: str) -> str:
        """A new key pair (kept until its certificate arrives) and its PEM CSR (RFC 2986)."""
        key = ec.generate_private_key(ec.SECP256R1())
        private_directory(self._own)
        write_secret(self._own / "pending.key", _private_pem(key))
        subject = [x509.NameAttribute(oid.NameOID.COMMON_NAME, common_name)]
        if organization:
            subject.append(x509.NameAttribute(oid.NameOID.ORGANIZATION_NAME, organization))
        csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject)).sign(key, hashes.SHA256())
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def accept_signed_chain(self, pem_chain: str, trusted: list[x509.Certificate], now: dt.datetime) -> ClientCertificate:
        """Check a signed charge point certificate against ``trusted`` roots and the pending key;
        store it beside its key. Raises CertificateError."""
        try:
            chain = x509.load_pem_x509_certificates(pem_chain.encode())
        except ValueError as exc:
            raise CertificateError(f"not a PEM certificate chain: {exc}") from None
        pending = self._own / "pending.key"
        if not pending.exists():
            raise CertificateError("no certificate signing request is pending")
        key = serialization.load_pem_private_key(pending.read_bytes(), password=None)
        leaf = chain[0]
        if _public_der(leaf.public_key()) != _public_der(key.public_key()):
            raise CertificateError("the certificate is not for the key of the pending signing request")
        if not trusted:
            raise CertificateError("no Central System root certificate to verify it against")
        # RFC 5280 path validation; unlike a web client certificate, a charge point
        # certificate names itself in its subject (CN, O = CpoName), not in a subjectAltName.
        leaf_policy = verification.ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
        )
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(trusted))
            .time(now)
            .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy)
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, chain[1:])
        except verification.VerificationError as exc:
            raise CertificateError(f"the chain does not verify: {exc}") from None
        name = _fingerprint(leaf)[:16]
        installed = ClientCertificate(self._own / f"{name}.pem", self._own / f"{name}.key")
        installed.certificate.write_bytes(pem_chain.encode())
        write_secret(installed.key, pending.read_bytes())
        pending.unlink()
        log.info("certificate store: charge point certificate %s installed", leaf.subject.rfc4514_string())
        return installed

    def prune_client_certificates(self, keep: set[Path]) -> None:
        """Remove earlier charge point certificates and keys that nothing uses any more."""
        for path in self._own.glob("*"):
            if path.name != "pending.key" and path not in keep:
                path.unlink(missing_ok=True)

    def secret_files(self) -> list[Path]:
        return sorted(self._own.glob("*.key"))


def load_certificates(path: str | Path) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle file."""
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def load_root_files(paths: list[str], key: str) -> list[x509.Certificate]:
    """The CA certificates in ``paths`` (PEM files, or directories whose ``*.pem`` files are
    read; a path that does not exist holds none and is logged). Raises ValueError naming
    ``key[i]`` and the file for one that is not readable PEM CA certificates."""
    roots: list[x509.Certificate] = []
    for i, name in enumerate(paths):
        path = Path(name)
        if not path.exists():
            log.warning("%s[%d]: %s does not exist: no certificates from it", key, i, path)
            continue
        for file in sorted(path.glob("*.pem")) if path.is_dir() else [path]:
            try:
                certs = load_certificates(file)
            except (OSError, ValueError) as exc:
                raise ValueError(f"{key}[{i}]: {file}: not readable PEM certificates ({exc})") from None
            for cert in certs:
                constraints = _extension(cert, x509.BasicConstraints)
                if constraints is None or not constraints.ca:
                    raise ValueError(f"{key}[{i}]: {file}: {cert.subject.rfc4514_string()} is not a CA certificate")
                if cert not in roots:
                    roots.append(cert)
    return roots


def _extension(cert: x509.Certificate, kind: type) -> object | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _normalised(wanted: CertificateId) -> CertificateId:
    return CertificateId(
        hash_algorithm=wanted.hash_algorithm,
        issuer_name_hash=wanted.issuer_name_hash.lower(),
        issuer_key_hash=wanted.issuer_key_hash.lower(),
        serial_number=wanted.serial_number.lower().lstrip("0") or "0",
    )


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
