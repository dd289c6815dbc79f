"""The service page's HTTPS certificate: the operator's, or one made on the first start.

With ``[service_page] cert`` and ``key`` the page uses those files (a certificate from the
operator's own CA). Without them, the first start makes a self-signed ECDSA P-256
certificate (cryptography) for the station's host name, ``<host>.local``, ``localhost``, the
loopback addresses and the listen address, keeps it in ``<data_dir>/service-page/`` (the key
0600) and uses it from then on. The browser warns about a self-signed certificate once; the
installer compares the SHA-256 fingerprint it shows with the one ``evse-agent
service-password`` and the agent's log print.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agent.security.secret_files import write_secret

log = logging.getLogger(__name__)

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
VALID_DAYS = 3650


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate, as browsers show it (AB:CD:...)."""
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def names_for(listen_host: str) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """The DNS names and addresses the certificate is for."""
    host = socket.gethostname() or "evse-agent"
    dns = list(dict.fromkeys([host, f"{host}.local", "localhost"]))
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    try:
        listen_ip = ipaddress.ip_address(listen_host)
    except ValueError:
        if listen_host and listen_host not in dns:
            dns.append(listen_host)
    else:
        if not listen_ip.is_unspecified and listen_ip not in ips:
            ips.append(listen_ip)
    return dns, ips


def make_self_signed(common_name: str, dns: list[str], ips: list) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a new self-signed server certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evse-agent service page")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([*(x509.DNSName(d) for d in dns), *(x509.IPAddress(i) for i in ips)]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_certificate(directory: Path, listen_host: str) -> tuple[Path, Path]:
    """The generated certificate and key in ``directory``, made now if missing."""
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    dns, ips = names_for(listen_host)
    cert_pem, key_pem = make_self_signed(dns[0], dns, ips)
    write_secret(key_path, key_pem)
    write_secret(cert_path, cert_pem)
    log.info("service page: made a self-signed certificate for %s (SHA-256 %s)",
             ", ".join([*dns, *map(str, ips)]), fingerprint(cert_pem))
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """TLS 1.2 or later with the certificate; raises OSError / ssl.SSLError for bad files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
