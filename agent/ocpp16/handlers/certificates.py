"""Certificates of the OCPP 1.6 Security Whitepaper (ed. 3): InstallCertificate,
GetInstalledCertificateIds, DeleteCertificate (§3.1 / §6: root certificates), CertificateSigned
and the SignCertificate the station sends for it (§3.2: the charge point certificate).

Certificate operations need a link with TLS unless the operator allows otherwise
(``LinkSecurity.certificate_operations_refused``); manufacturer roots are the installation's
and the backend may not change them unless the local configuration says so (``NotManaged``).
New security settings (a raised SecurityProfile, a new AuthorizationKey or charge point
certificate) are put to use by a reconnect from ``@after``, once the answer is on its way.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import (
    Action,
    CertificateSignedStatus,
    CertificateStatus,
    CertificateUse,
    DeleteCertificateStatus,
    GetInstalledCertificateStatus,
)

from agent.backend.services import CertificateError, CertificateId, NotManaged, RootKind, SecurityEvent, StoreFull

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)

ROOT_KINDS = {
    CertificateUse.central_system_root_certificate: RootKind.CSMS,
    CertificateUse.manufacturer_root_certificate: RootKind.MANUFACTURER,
}


class CertificateHandlers:
    def __init__(self, adapter: Ocpp16Adapter) -> None:
        self.adapter = adapter
        self.security = adapter.services.security
        self.clock = adapter.services.clock
        self.events = adapter.services.security_events

    # InstallCertificate.req: a root certificate of one of the two hierarchies (§2.6.2).
    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str) -> Any:
        security = self.security
        kind = ROOT_KINDS[certificate_type]
        if (why := security.certificate_operations_refused()) is not None:
            log.warning("InstallCertificate %s refused: %s", certificate_type, why)
            return call_result.InstallCertificate(status=CertificateStatus.rejected)
        known = security.certificates.ids(kind)
        try:
            installed = security.certificates.install_root(kind, certificate, self.clock.now())
        except NotManaged as exc:
            log.warning("InstallCertificate %s refused: %s (see [firmware] manufacturer_roots)", certificate_type, exc)
            return call_result.InstallCertificate(status=CertificateStatus.rejected)
        except StoreFull as exc:
            log.warning("InstallCertificate %s: %s", certificate_type, exc)
            return call_result.InstallCertificate(status=CertificateStatus.rejected)
        except CertificateError as exc:
            log.warning("InstallCertificate %s rejected: %s", certificate_type, exc)
            return call_result.InstallCertificate(status=CertificateStatus.rejected)
        except OSError as exc:
            log.error("InstallCertificate %s: cannot store it: %s", certificate_type, exc)
            return call_result.InstallCertificate(status=CertificateStatus.failed)
        if kind is RootKind.CSMS and installed not in known:
            security.root_installed(installed)
        return call_result.InstallCertificate(status=CertificateStatus.accepted)

    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: str) -> Any:
        ids = self.security.certificates.ids(ROOT_KINDS[certificate_type])
        if not ids:
            return call_result.GetInstalledCertificateIds(status=GetInstalledCertificateStatus.not_found)
        return call_result.GetInstalledCertificateIds(
            status=GetInstalledCertificateStatus.accepted, certificate_hash_data=[asdict(i) for i in ids]
        )

    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any]) -> Any:
        security = self.security
        if (why := security.certificate_operations_refused()) is not None:
            log.warning("DeleteCertificate refused: %s", why)
            return call_result.DeleteCertificate(status=DeleteCertificateStatus.failed)
        wanted = CertificateId(**certificate_hash_data)
        found = security.certificates.find(wanted)
        if found is None:
            return call_result.DeleteCertificate(status=DeleteCertificateStatus.not_found)
        kind, cert = found
        if kind is RootKind.CSMS and security.profile >= 2 and [c for c in security.trusted_roots() if c != cert] == []:
            # The agent's own rule: the link would have nothing left to verify the backend with.
            log.warning("DeleteCertificate: refused, it is the only root the backend's certificate is verified against")
            return call_result.DeleteCertificate(status=DeleteCertificateStatus.failed)
        try:
            security.certificates.delete(wanted)
        except NotManaged as exc:
            log.warning("DeleteCertificate refused: %s (see [firmware] manufacturer_roots)", exc)
            return call_result.DeleteCertificate(status=DeleteCertificateStatus.failed)
        except OSError as exc:
            log.error("DeleteCertificate: %s", exc)
            return call_result.DeleteCertificate(status=DeleteCertificateStatus.failed)
        return call_result.DeleteCertificate(status=DeleteCertificateStatus.accepted)

    # CertificateSigned.req: the chain for the key of our last SignCertificate.req (§3.2).
    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str) -> Any:
        security = self.security
        if (why := security.certificate_operations_refused()) is not None:
            log.warning("CertificateSigned refused: %s", why)
            return call_result.CertificateSigned(status=CertificateSignedStatus.rejected)
        try:
            installed = security.certificates.accept_signed_chain(certificate_chain, security.trusted_roots(), self.clock.now())
        except CertificateError as exc:
            self.events.record(SecurityEvent.INVALID_CHARGE_POINT_CERTIFICATE, str(exc))
            return call_result.CertificateSigned(status=CertificateSignedStatus.rejected)
        security.use_client_certificate(installed)
        return call_result.CertificateSigned(status=CertificateSignedStatus.accepted)

    @after(Action.certificate_signed)
    async def after_certificate_signed(self, certificate_chain: str) -> None:
        self.security.reconnect_if_due()

    async def sign_certificate(self) -> None:
        """A new key pair on the device, and its CSR to the backend (SignCertificate.req)."""
        csr = self.security.certificates.new_csr(self.adapter.charge_point_id, self.adapter.security_keys.cpo_name)
        try:
            result = await self.adapter.call(call.SignCertificate(csr=csr))
        except OCPPError as exc:
            log.warning("SignCertificate: %r", exc)
            return
        log.info("SignCertificate: %s", result.status)
