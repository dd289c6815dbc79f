"""The certificate store (agent/security/certificates.py): root certificates, their OCPP ids, and the
charge point's own key pair, CSR and signed certificate."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from agent.security.certificates import CertificateError, CertificateId, CertificateStore, NotManaged, RootKind, StoreFull, load_root_files
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
    store.install_root(RootKind.CSMS, TestCA("two").pem, NOW)
    with pytest.raises(StoreFull):
        store.install_root(RootKind.CSMS, TestCA("three").pem, NOW)


def test_manufacturer_roots_come_from_the_installation(tmp_path):
    shipped = TestCA("Manufacturer Root CA")
    legacy = TestCA("Installed by a backend before")
    (tmp_path / "certificates" / "manufacturer-root").mkdir(parents=True)
    (tmp_path / "certificates" / "manufacturer-root" / "old.pem").write_text(legacy.pem)
    store = CertificateStore(tmp_path / "certificates", fixed={RootKind.MANUFACTURER: [shipped.cert]})
    # Only the installation's root is trusted and listed; one the backend installed earlier is not.
    assert store.roots(RootKind.MANUFACTURER) == [shipped.cert]
    (listed,) = store.ids(RootKind.MANUFACTURER)
    assert listed.serial_number == format(shipped.cert.serial_number, "x")
    with pytest.raises(NotManaged, match="come from the installation"):
        store.install_root(RootKind.MANUFACTURER, TestCA("Backend's own").pem, NOW)
    with pytest.raises(NotManaged):
        store.delete(listed)
    assert store.roots(RootKind.MANUFACTURER) == [shipped.cert]
    # The operator may hand the hierarchy to the backend: then both are trusted, the shipped one stays.
    managed = CertificateStore(tmp_path / "certificates", fixed={RootKind.MANUFACTURER: [shipped.cert]},
                               backend_managed=frozenset(RootKind))
    assert managed.roots(RootKind.MANUFACTURER) == [shipped.cert, legacy.cert]
    with pytest.raises(NotManaged):
        managed.delete(listed)
    assert managed.delete(managed.ids(RootKind.MANUFACTURER)[1]) is RootKind.MANUFACTURER


def test_root_files_and_directories(tmp_path):
    one, two = TestCA("one"), TestCA("two")
    one.write(tmp_path / "roots" / "one.pem")
    (tmp_path / "roots" / "two.pem").write_text(two.pem)
    (tmp_path / "bundle.pem").write_text(one.pem + two.pem)
    assert load_root_files([str(tmp_path / "roots"), str(tmp_path / "bundle.pem"), str(tmp_path / "absent")], "k") == [one.cert, two.cert]
    (tmp_path / "leaf.pem").write_text(pem(one.client("CP-1").cert))
    with pytest.raises(ValueError, match=r"k\[0\]: .*leaf.pem: CN=CP-1 is not a CA certificate"):
        load_root_files([str(tmp_path / "leaf.pem")], "k")
    (tmp_path / "roots" / "junk.pem").write_text("junk")
    with pytest.raises(ValueError, match=r"k\[1\]: .*junk.pem: not readable PEM"):
        load_root_files([str(tmp_path / "bundle.pem"), str(tmp_path / "roots")], "k")


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
