"""Checks of a signed firmware update (OCPP 1.6 Security Whitepaper ed. 3, secure firmware update).

SignedUpdateFirmware.req carries the firmware signing certificate (PEM) and the signature
(base64) of the firmware file. Before the request is accepted, the signing certificate must
chain to an installed ManufacturerRootCertificate and be valid now (otherwise the answer is
InvalidCertificate, with the security event InvalidFirmwareSigningCertificate); after the
download, the signature must verify over the whole file with the certificate's public key
(otherwise InvalidSignature, with the security event InvalidFirmwareSignature, and nothing
is installed). The signature is SHA-256 with the certificate's key: RSA (PKCS#1 v1.5, as
``openssl dgst -sha256 -sign`` makes it) or ECDSA (DER-encoded r, s).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from pathlib import Path

from agent.security.lazy_crypto import asymmetric_utils, ec, exceptions, hashes, oid, padding, rsa, verification, x509

CHUNK = 1 << 20


class FirmwareSignatureError(ValueError):
    """The signing certificate or the signature was refused; the message says why."""


def _code_signing_if_restricted(policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    # A certificate restricted to other uses (a TLS server certificate of the same
    # manufacturer, say) does not sign firmware; one without extendedKeyUsage may.
    if eku is not None and oid.ExtendedKeyUsageOID.CODE_SIGNING not in eku and oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
        raise ValueError("its extendedKeyUsage does not include codeSigning")


def check_signing_certificate(pem: str, roots: list[x509.Certificate], now: dt.datetime) -> x509.Certificate:
    """The signing certificate (the first of ``pem``; any others are intermediates), verified
    (RFC 5280 path validation) against the manufacturer ``roots`` at ``now``. Raises
    FirmwareSignatureError."""
    try:
        chain = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise FirmwareSignatureError(f"the signing certificate is not PEM X.509: {exc}") from None
    if not roots:
        raise FirmwareSignatureError("no ManufacturerRootCertificate is installed to verify the signing certificate with")
    leaf_policy = (
        verification.ExtensionPolicy.webpki_defaults_ee()
        # A signing certificate names its holder in the subject, not in a subjectAltName.
        .may_be_present(x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None)
        .may_be_present(x509.ExtendedKeyUsage, verification.Criticality.AGNOSTIC, _code_signing_if_restricted)
    )
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(roots))
        .time(now)
        .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy)
        .build_client_verifier()
    )
    try:
        verifier.verify(chain[0], chain[1:])
    except verification.VerificationError as exc:
        raise FirmwareSignatureError(f"the signing certificate does not verify against the manufacturer root: {exc}") from None
    return chain[0]


def check_still_anchored(pem: str, roots: list[x509.Certificate], now: dt.datetime) -> None:
    """Before installing: the signing certificate still chains to one of ``roots`` (the trust
    anchors of the installation now). It is judged at ``now``, or at its own expiry when that
    came first: a signature stays good when its certificate expires before a scheduled
    installation. Raises FirmwareSignatureError."""
    try:
        leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    except ValueError as exc:
        raise FirmwareSignatureError(f"the signing certificate is not PEM X.509: {exc}") from None
    check_signing_certificate(pem, roots, min(now, leaf.not_valid_after_utc))


def verify_file_signature(pem: str, signature_b64: str, path: Path) -> None:
    """Check ``signature_b64`` over the file at ``path`` with the key of the signing
    certificate (the first in ``pem``), SHA-256. Raises FirmwareSignatureError.

    The certificate itself was checked when the request came (check_signing_certificate):
    a signature stays good when its certificate expires before a scheduled installation."""
    try:
        certificate = x509.load_pem_x509_certificates(pem.encode())[0]
    except ValueError as exc:
        raise FirmwareSignatureError(f"the signing certificate is not PEM X.509: {exc}") from None
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise FirmwareSignatureError("the signature is not base64") from None
    digest = hashes.Hash(hashes.SHA256())
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    prehashed = asymmetric_utils.Prehashed(hashes.SHA256())
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest.finalize(), padding.PKCS1v15(), prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest.finalize(), ec.ECDSA(prehashed))
        else:
            raise FirmwareSignatureError(f"unsupported signing key type {type(key).__name__} (RSA or ECDSA only)")
    except exceptions.InvalidSignature:
        raise FirmwareSignatureError(f"the signature does not match {path.name}") from None
