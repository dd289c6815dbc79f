"""Steps the 2.0.1 security, certificate and firmware cases share: the test PKI and the
station's security profiles (the 1.6 suite's, tests/conformance/test_25_security.py), the
OCTT reusable states RenewChargingStationCertificate and GetInstalledCertificates, and what a
certificate is called on the wire (CertificateHashDataType)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from tests.conformance.test_25_security import KEY, NEW_KEY, Pki, pki, profile_lines, write_key  # noqa: F401
from tests.pki import TestCA, pem

__all__ = ["KEY", "NEW_KEY", "Pki", "pki", "profile_lines", "write_key"]


async def profile_2_station(station, csms, pki: Pki, **options) -> None:
    """Security profile 2 (TLS with the backend's certificate from ``pki``, HTTP Basic with KEY),
    the profile certificate operations are made on (they need TLS)."""
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki) + "\n" + options.pop("ocpp", ""), **options)


async def profile_3_station(station, csms, pki: Pki, **options) -> None:
    """Security profile 3: TLS both ways, the station's certificate issued by ``pki``'s CA."""
    await csms.listen(version="2.0.1", tls=pki.tls(client_ca=True), require_client_cert=True)
    await station.boot(ocpp=profile_lines(3, pki, pki.client()) + "\n" + options.pop("ocpp", ""), **options)


async def security_event(csms, kind: str, *, after: int = 0, timeout: float = 15.0) -> dict:
    """The first SecurityEventNotification of ``kind`` from ``after`` on (A04)."""
    return await csms.wait_call("SecurityEventNotification", lambda p: p["type"] == kind, after=after, timeout=timeout)


async def sign_charging_station_certificate(csms) -> str:
    """TriggerMessage SignChargingStationCertificate → Accepted, then the station's
    SignCertificateRequest (A02.FR.01/02); its CSR."""
    mark = csms.mark()
    reply = await csms.call("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})
    assert reply == {"status": "Accepted"}
    request = await csms.wait_call("SignCertificate", after=mark)
    assert request["certificateType"] == "ChargingStationCertificate"
    x509.load_pem_x509_csr(request["csr"].encode())  # RFC 2986, PEM
    return request["csr"]


async def renew_charging_station_certificate(csms, ca: TestCA) -> x509.Certificate:
    """OCTT reusable state RenewChargingStationCertificate: the CSR signed by ``ca`` and sent
    back with CertificateSigned, Accepted (A02.FR.06-08)."""
    csr = await sign_charging_station_certificate(csms)
    signed = ca.sign_csr(csr)
    reply = await csms.call("CertificateSigned", {"certificateChain": pem(signed),
                                                  "certificateType": "ChargingStationCertificate"})
    assert reply == {"status": "Accepted"}
    return signed


def hash_data(cert: x509.Certificate, issuer: x509.Certificate) -> dict:
    """CertificateHashDataType of ``cert`` (Part 2 §2.6: as an OCSP CertID, SHA256)."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    return {"hashAlgorithm": "SHA256", "issuerNameHash": request.issuer_name_hash.hex(),
            "issuerKeyHash": request.issuer_key_hash.hex(), "serialNumber": format(request.serial_number, "x")}


async def installed_certificates(csms, types: list[str] | None = None) -> dict:
    """OCTT reusable state GetInstalledCertificates (certificateType omitted when ``types`` is None)."""
    return await csms.call("GetInstalledCertificateIds", {} if types is None else {"certificateType": types})


def serials(reply: dict, certificate_type: str | None = None) -> list[int]:
    return [int(entry["certificateHashData"]["serialNumber"], 16) for entry in reply.get("certificateHashDataChain", [])
            if certificate_type in (None, entry["certificateType"])]
