"""Functional block M (certificate management) as far as it applies to a station without an ISO
15118 stack: InstallCertificate (M05), GetInstalledCertificateIds (M03) and DeleteCertificate
(M04) of the root certificates the station uses, the CSMS roots (the link's TLS) and the
manufacturer roots (the firmware trust anchors).

The rules are the version-neutral ones of agent/security/certificate_operations.py (TLS needed
unless the operator allows otherwise; manufacturer roots the installation's unless
``[firmware] manufacturer_roots_from_backend``). V2G and MO roots (ISO 15118 Plug & Charge) have
no use on a station that charges by IEC 61851-1 PWM only: installing one is Rejected, and none
is ever reported.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ocpp.routing import after, on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from agent.backend.services import CertificateId, RootKind, delete_root, install_root

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

# Part 2 §3.36 InstallCertificateUseEnumType / §3.39 GetCertificateIdUseEnumType: the roots
# this station keeps (V2GRootCertificate, MORootCertificate and V2GCertificateChain are ISO 15118's).
ROOT_KINDS = {
    "CSMSRootCertificate": RootKind.CSMS,
    "ManufacturerRootCertificate": RootKind.MANUFACTURER,
}


class CertificateHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.security = adapter.services.security
        self.clock = adapter.services.clock

    # M05 InstallCertificate (M05.FR.01-03)
    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str, **_: Any) -> Any:
        kind = ROOT_KINDS.get(certificate_type)
        if kind is None:
            log.warning("InstallCertificate %s rejected: no ISO 15118 stack to use it", certificate_type)
            return call_result.InstallCertificate(status="Rejected", status_info={"reason_code": "NotSupported"})
        result = install_root(self.security, kind, certificate, self.clock.now())
        log.info("InstallCertificate %s: %s", certificate_type, result.value)
        return call_result.InstallCertificate(status=result.value)

    @after(Action.install_certificate)
    def after_install_certificate(self, **_: Any) -> None:
        self.security.reconnect_if_due()  # AdditionalRootCertificateCheck: the new root is tried at once

    # M03 GetInstalledCertificateIds: the roots of the types asked for, every type when none is
    # named (M03.FR.01/03/04); NotFound when there is none (M03.FR.02).
    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: list[str] | None = None, **_: Any) -> Any:
        wanted = [t for t in (certificate_type or list(ROOT_KINDS)) if t in ROOT_KINDS]
        chain = [
            {"certificate_type": name, "certificate_hash_data": asdict(cert_id)}
            for name in dict.fromkeys(wanted)
            for cert_id in self.security.certificates.ids(ROOT_KINDS[name])
        ]
        if not chain:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(status="Accepted", certificate_hash_data_chain=chain)

    # M04 DeleteCertificate (M04.FR.01-05); the charging station certificate is no root and is
    # never deleted this way (M04.FR.06): NotFound.
    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict[str, Any], **_: Any) -> Any:
        data = certificate_hash_data
        wanted = CertificateId(data["hash_algorithm"], data["issuer_name_hash"], data["issuer_key_hash"], data["serial_number"])
        result = delete_root(self.security, wanted)
        log.info("DeleteCertificate %s: %s", certificate_hash_data.get("serial_number"), result.value)
        return call_result.DeleteCertificate(status=result.value)
