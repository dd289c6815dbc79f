"""What the backend may do with the station's certificates, whatever the OCPP version: install a
root certificate, delete one, hand over a signed charging station certificate.

OCPP 1.6 Security Whitepaper (ed. 3) §2.6, §3.2 / OCPP 2.0.1 M05 InstallCertificate, M04
DeleteCertificate, A02 CertificateSigned. The rules are the agent's, the same for both versions:

- every operation needs a link with TLS unless the operator allows otherwise
  (``LinkSecurity.certificate_operations_refused``, ``ocpp.allow_unencrypted_certificate_operations``);
- manufacturer roots (the firmware trust anchors) are the installation's unless
  ``[firmware] manufacturer_roots_from_backend`` (``NotManaged``);
- a Central System root installed over a link without TLS is provisional (link_security.py);
- the last root the backend's certificate is verified against is not deleted while TLS is in use;
- a signed certificate that does not verify is a security event (InvalidChargePointCertificate,
  2.0.1 InvalidChargingStationCertificate).

Each adapter maps the results onto its own status words.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

from agent.security.certificates import CertificateError, CertificateId, NotManaged, RootKind, StoreFull
from agent.security.events import SecurityEvent

log = logging.getLogger(__name__)


class InstallResult(enum.Enum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"  # refused: not a usable CA certificate, not allowed, store full
    FAILED = "Failed"  # could not be stored


class DeleteResult(enum.Enum):
    ACCEPTED = "Accepted"
    FAILED = "Failed"  # refused or could not be deleted
    NOT_FOUND = "NotFound"


def install_root(security: Any, kind: RootKind, pem: str, now: dt.datetime) -> InstallResult:
    """Install a root certificate of ``kind`` (``security``: agent/security/link_security.py)."""
    if (why := security.certificate_operations_refused()) is not None:
        log.warning("install %s root refused: %s", kind.value, why)
        return InstallResult.REJECTED
    if kind is RootKind.CSMS and (why := security.new_root_refused(pem)) is not None:  # M05.FR.10
        log.warning("install %s root rejected: %s", kind.value, why)
        return InstallResult.REJECTED
    known = security.certificates.ids(kind)
    try:
        installed = security.certificates.install_root(kind, pem, now)
    except NotManaged as exc:
        log.warning("install %s root refused: %s (see [firmware] manufacturer_roots)", kind.value, exc)
        return InstallResult.REJECTED
    except StoreFull as exc:
        log.warning("install %s root: %s", kind.value, exc)
        return InstallResult.REJECTED
    except CertificateError as exc:
        log.warning("install %s root rejected: %s", kind.value, exc)
        return InstallResult.REJECTED
    except OSError as exc:
        log.error("install %s root: cannot store it: %s", kind.value, exc)
        return InstallResult.FAILED
    if kind is RootKind.CSMS and installed not in known:
        security.root_installed(installed)
    return InstallResult.ACCEPTED


def delete_root(security: Any, wanted: CertificateId) -> DeleteResult:
    """Delete the installed root certificate ``wanted`` names."""
    if (why := security.certificate_operations_refused()) is not None:
        log.warning("delete certificate refused: %s", why)
        return DeleteResult.FAILED
    found = security.certificates.find(wanted)
    if found is None:
        return DeleteResult.NOT_FOUND
    kind, cert = found
    if kind is RootKind.CSMS and security.profile >= 2 and [c for c in security.trusted_roots() if c != cert] == []:
        # The agent's own rule: the link would have nothing left to verify the backend with.
        log.warning("delete certificate: refused, it is the only root the backend's certificate is verified against")
        return DeleteResult.FAILED
    try:
        security.certificates.delete(wanted)
    except NotManaged as exc:
        log.warning("delete certificate refused: %s (see [firmware] manufacturer_roots)", exc)
        return DeleteResult.FAILED
    except OSError as exc:
        log.error("delete certificate: %s", exc)
        return DeleteResult.FAILED
    return DeleteResult.ACCEPTED


def accept_signed_certificate(security: Any, events: Any, pem_chain: str, now: dt.datetime) -> bool:
    """A signed charging station certificate (for the key of the pending CSR): checked, stored
    and put to use (tried at once with security profile 3); False when refused."""
    if (why := security.certificate_operations_refused()) is not None:
        log.warning("signed certificate refused: %s", why)
        return False
    try:
        installed = security.certificates.accept_signed_chain(pem_chain, security.trusted_roots(), now)
    except CertificateError as exc:
        events.record(SecurityEvent.INVALID_CHARGE_POINT_CERTIFICATE, str(exc))
        return False
    security.use_client_certificate(installed)
    return True
