"""A throw-away certificate authority for tests: CAs, server and client certificates,
expired ones, and files to hand to the agent and to a TLS backend."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.timezone.utc)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@dataclass
class Issued:
    cert: x509.Certificate
    key: object
    chain: list[x509.Certificate]  # leaf first, without the root

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """(chain file, key file 0600)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
        cert_path.write_text("".join(pem(c) for c in self.chain))
        key_path.write_bytes(key_pem(self.key))
        key_path.chmod(0o600)
        return cert_path, key_path


class TestCA:
    __test__ = False  # not a pytest class

    def __init__(self, name: str = "Test Root CA", *, expired: bool = False) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        not_before, not_after = _validity(expired, years=10)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> str:
        return pem(self.cert)

    def successor(self, name: str) -> TestCA:
        """A new CA with its own key whose certificate this one signed: the next CSMS root under
        AdditionalRootCertificateCheck (OCPP 2.0.1 M05.FR.09)."""
        new = TestCA(name)
        new.cert = (
            x509.CertificateBuilder()
            .subject_name(new.cert.subject)
            .issuer_name(self.cert.subject)
            .public_key(new.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(new.cert.not_valid_before_utc)
            .not_valid_after(new.cert.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(new.key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return new

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.pem)
        return path

    def _leaf(self, name: str, public_key, usage, *, expired: bool, sans=None) -> x509.Certificate:
        not_before, not_after = _validity(expired, years=1)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(name) if isinstance(name, list) else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def server(self, *, expired: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = self._leaf("localhost", key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, expired=expired, sans=sans)
        return Issued(cert, key, [cert])

    def client(self, charge_point_id: str, *, expired: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._leaf(charge_point_id, key.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH, expired=expired)
        return Issued(cert, key, [cert])

    def sign_csr(self, csr_pem: str) -> x509.Certificate:
        """What a backend's CA does with a SignCertificate CSR."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        assert csr.is_signature_valid
        return self._leaf(list(csr.subject), csr.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH, expired=False)


def server_context(server: Issued, tmp: Path, *, client_ca: TestCA | None = None) -> ssl.SSLContext:
    """A TLS server context for a test backend; with ``client_ca`` it requires a client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert_path, key_path = server.write(tmp, f"server-{id(server)}")
    context.load_cert_chain(cert_path, key_path)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_ca.pem)
    return context


def _validity(expired: bool, years: int) -> tuple[dt.datetime, dt.datetime]:
    if expired:
        return NOW - dt.timedelta(days=30), NOW - dt.timedelta(days=1)
    return NOW - dt.timedelta(hours=1), NOW + dt.timedelta(days=365 * years)
