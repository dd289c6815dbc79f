"""The certificate store (agent/security/certificates.py): root certificates, their OCPP ids, and the
charge point's own key pair, CSR and signed certificate."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from agent.security.certificates import CertificateError, CertificateId, CertificateStore, RootKind, StoreFull
from tests.pki import NOW, TestCA, pem


@pytest.fixture
def store(tmp_path):
    return CertificateStore(tmp_path / "certificates", max_certificates=2)


def test_install_list_and_delete_roots(store):
    ca = TestCA()
    installed = store.install_root(RootKind.CSMS, ca.pem, NOW)
    assert store.install_root(RootKind.CSMS, ca.pem, NOW) == installed  # again: the same one, not two
    assert store.ids(RootKind.CSMS) == [installed] and store.ids(RootKind.MANUFACTURER) == []
    # The id is the OCSP CertID of the certificate (for a root, issued by itself).
    cert_id = ocsp.OCSPRequestBuilder().add_certificate(ca.cert, ca.cert, hashes.SHA256()).build()
    assert installed.issuer_name_hash == cert_id.issuer_name_hash.hex()
    assert installed.issuer_key_hash == cert_id.issuer_key_hash.hex()
    assert installed.serial_number == format(ca.cert.serial_number, "x")
    upper = CertificateId("SHA256", installed.issuer_name_hash.upper(), installed.issuer_key_hash.upper(), "0" + installed.serial_number)
    assert store.delete(upper) is RootKind.CSMS
    assert store.ids(RootKind.CSMS) == [] and store.delete(installed) is None


def test_refused_certificates(store):
    with pytest.raises(CertificateError, match="PEM"):
        store.install_root(RootKind.CSMS, "not a certificate", NOW)
    with pytest.raises(CertificateError, match="not valid now"):
        store.install_root(RootKind.CSMS, TestCA(expired=True).pem, NOW)
    with pytest.raises(CertificateError, match="not a CA"):
        store.install_root(RootKind.CSMS, pem(TestCA().client("CP-1").cert), NOW)
    store.install_root(RootKind.CSMS, TestCA("one").pem, NOW)
    store.install_root(RootKind.MANUFACTURER, TestCA("two").pem, NOW)
    with pytest.raises(StoreFull):
        store.install_root(RootKind.MANUFACTURER, TestCA("three").pem, NOW)


def test_signing_request_and_signed_certificate(store, tmp_path):
    ca = TestCA()
    csr_pem = store.new_csr("CP-1", "Example CPO")
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "O=Example CPO,CN=CP-1"
    pending = tmp_path / "certificates" / "charge-point" / "pending.key"
    assert pending.stat().st_mode & 0o777 == 0o600

    with pytest.raises(CertificateError, match="does not verify"):
        store.accept_signed_chain(pem(TestCA("other CA").sign_csr(csr_pem)), [ca.cert], NOW)
    with pytest.raises(CertificateError, match="not for the key"):
        store.accept_signed_chain(pem(ca.client("CP-1").cert), [ca.cert], NOW)

    installed = store.accept_signed_chain(pem(ca.sign_csr(csr_pem)), [ca.cert], NOW)
    assert installed.key.stat().st_mode & 0o777 == 0o600 and not pending.exists()
    assert x509.load_pem_x509_certificate(installed.certificate.read_bytes()).subject == csr.subject
    with pytest.raises(CertificateError, match="no certificate signing request"):
        store.accept_signed_chain(pem(ca.sign_csr(csr_pem)), [ca.cert], NOW)
