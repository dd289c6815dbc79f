"""Certificates of the OCPP 1.6 Security Whitepaper (ed. 3): InstallCertificate,
GetInstalledCertificateIds, DeleteCertificate (§3.1 / §6: root certificates), CertificateSigned
and the SignCertificate the station sends for it (§3.2: the charge point certificate).

The rules (TLS needed, manufacturer roots the installation's, ...) are the version-neutral ones
of agent/security/certificate_operations.py.
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

from agent.backend.services import (
    CertificateId,
    InstallResult,
    RootKind,
    accept_signed_certificate,
    delete_root,
    install_root,
)

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)

ROOT_KINDS = {
    CertificateUse.central_system_root_certificate: RootKind.CSMS,
    CertificateUse.manufacturer_root_certificate: RootKind.MANUFACTURER,
}
INSTALL_STATUS = {
    InstallResult.ACCEPTED: CertificateStatus.accepted,
    InstallResult.REJECTED: CertificateStatus.rejected,
    InstallResult.FAILED: CertificateStatus.failed,
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
        result = install_root(self.security, ROOT_KINDS[certificate_type], certificate, self.clock.now())
        return call_result.InstallCertificate(status=INSTALL_STATUS[result])

    @after(Action.install_certificate)
    def after_install_certificate(self, certificate_type: str, certificate: str) -> None:
        self.security.reconnect_if_due()  # AdditionalRootCertificateCheck: the new root is tried at once

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
        result = delete_root(self.security, CertificateId(**certificate_hash_data))
        return call_result.DeleteCertificate(status=DeleteCertificateStatus(result.value))

    # CertificateSigned.req: the chain for the key of our last SignCertificate.req (§3.2).
    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str) -> Any:
        accepted = accept_signed_certificate(self.security, self.events, certificate_chain, self.clock.now())
        return call_result.CertificateSigned(
            status=CertificateSignedStatus.accepted if accepted else CertificateSignedStatus.rejected
        )

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
