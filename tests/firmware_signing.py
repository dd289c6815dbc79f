"""A manufacturer's firmware signing for tests: a manufacturer root (tests/pki.TestCA), signing
certificates it issues (RSA or ECDSA, optionally expired or for another use), and signatures
over firmware files as SignedUpdateFirmware carries them (base64, SHA-256)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.pki import TestCA, pem


@dataclass
class Signer:
    cert: x509.Certificate
    key: object

    @property
    def pem(self) -> str:
        return pem(self.cert)

    def sign(self, data: bytes) -> str:
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()


def signer(
    root: TestCA,
    *,
    kind: str = "rsa",
    expired: bool = False,
    usage=ExtendedKeyUsageOID.CODE_SIGNING,
    name: str = "Firmware Signing",
) -> Signer:
    """A signing certificate issued by ``root``."""
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    start, end = (now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired else (now - dt.timedelta(hours=1), now + dt.timedelta(days=365))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return Signer(cert, key)
