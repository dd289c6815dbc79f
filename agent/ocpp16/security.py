"""Backend → charge point requests of the OCPP 1.6 Security Whitepaper (ed. 3).

InstallCertificate, GetInstalledCertificateIds, DeleteCertificate (§3.1 / §6: root
certificates), CertificateSigned (§3.2: the charge point certificate, after a SignCertificate
that the charge point sends when ExtendedTriggerMessage asks for SignChargePointCertificate),
ExtendedTriggerMessage (§6). New security settings (a raised SecurityProfile, a new
AuthorizationKey or charge point certificate) are put to use by a reconnect from ``@after``,
once the answer is on its way. GetLog and SignedUpdateFirmware live elsewhere.

What the agent refuses although the message is well formed (the whitepaper lets a charge
point reject these): certificate operations over a link without TLS
(``LinkSecurity.certificate_operations_refused``), and InstallCertificate / DeleteCertificate
of a ManufacturerRootCertificate, the firmware trust anchor, which comes from the installation
(``[firmware] manufacturer_roots``) unless ``[firmware] manufacturer_roots_from_backend``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

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
    TriggerMessageStatus,
)

from agent.security.certificates import CertificateError, CertificateId, CertificateStore, NotManaged, RootKind, StoreFull, load_root_files
from agent.security.link_security import LinkSecurity
from agent.ocpp16.security_keys import SecurityKeys
from agent.ocpp16.triggers import EXTENDED_TRIGGER_MESSAGE
from agent.security.secret_files import install_redaction, warn_if_exposed
from agent.security.events import SecurityEvent, SecurityEvents

log = logging.getLogger(__name__)

CERTIFICATE_STORE_MAX_LENGTH = 10  # CertificateStoreMaxLength

ROOT_KINDS = {
    CertificateUse.central_system_root_certificate: RootKind.CSMS,
    CertificateUse.manufacturer_root_certificate: RootKind.MANUFACTURER,
}


class SecurityHandlers:
    # InstallCertificate.req: a root certificate of one of the two hierarchies (§2.6.2).
    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str):
        security = self.backend.security
        kind = ROOT_KINDS[certificate_type]
        if (why := security.certificate_operations_refused()) is not None:
            log.warning("InstallCertificate %s refused: %s", certificate_type, why)
            return call_result.InstallCertificate(status=CertificateStatus.rejected)
        known = security.certificates.ids(kind)
        try:
            installed = security.certificates.install_root(kind, certificate, self.backend.clock.now())
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
    def on_get_installed_certificate_ids(self, certificate_type: str):
        ids = self.backend.security.certificates.ids(ROOT_KINDS[certificate_type])
        if not ids:
            return call_result.GetInstalledCertificateIds(status=GetInstalledCertificateStatus.not_found)
        return call_result.GetInstalledCertificateIds(
            status=GetInstalledCertificateStatus.accepted, certificate_hash_data=[asdict(i) for i in ids]
        )

    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict):
        security = self.backend.security
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
    def on_certificate_signed(self, certificate_chain: str):
        security = self.backend.security
        if (why := security.certificate_operations_refused()) is not None:
            log.warning("CertificateSigned refused: %s", why)
            return call_result.CertificateSigned(status=CertificateSignedStatus.rejected)
        try:
            installed = security.certificates.accept_signed_chain(
                certificate_chain, security.trusted_roots(), self.backend.clock.now()
            )
        except CertificateError as exc:
            self.backend.security_events.record(SecurityEvent.INVALID_CHARGE_POINT_CERTIFICATE, str(exc))
            return call_result.CertificateSigned(status=CertificateSignedStatus.rejected)
        security.use_client_certificate(installed)
        return call_result.CertificateSigned(status=CertificateSignedStatus.accepted)

    @after(Action.certificate_signed)
    async def after_certificate_signed(self, certificate_chain: str):
        self.backend.security.reconnect_if_due()

    # A raised SecurityProfile or a new AuthorizationKey (agent/ocpp16/security_keys.py).
    @after(Action.change_configuration)
    async def after_change_configuration(self, key: str, value: str):
        self.backend.security.reconnect_if_due()

    # Security Whitepaper §5.5 ExtendedTriggerMessage: decided as TriggerMessage (triggers.py),
    # the follow-ups sent by ChargePoint16.send_follow_up.
    @on(Action.extended_trigger_message)
    def on_extended_trigger_message(self, requested_message: str, connector_id: int | None = None, call_unique_id: str = ""):
        decision = self.decide_trigger(EXTENDED_TRIGGER_MESSAGE, requested_message, connector_id, call_unique_id)
        return call_result.ExtendedTriggerMessage(status=TriggerMessageStatus(decision.answer.value))

    @after(Action.extended_trigger_message)
    def after_extended_trigger_message(self, call_unique_id: str = "", **_):
        self.release_follow_ups(call_unique_id)

    async def sign_certificate(self) -> None:
        """A new key pair on the device, and its CSR to the backend (SignCertificate.req)."""
        csr = self.backend.security.certificates.new_csr(self.backend.charge_point_id, self.backend.security_keys.cpo_name)
        try:
            result = await self.backend.call(call.SignCertificate(csr=csr))
        except OCPPError as exc:
            log.warning("SignCertificate: %r", exc)
            return
        log.info("SignCertificate: %s", result.status)


def install_security(backend, config) -> LinkSecurity:
    """Wire the security whitepaper into a backend adapter; the Link's ConnectPolicy is returned.

    Records StartupOfTheDevice, reports clock jumps as SettingSystemTime, keeps secrets out
    of every log handler and warns about secret files others may read.
    """
    data_dir = Path(config.storage.data_dir)
    events = SecurityEvents(backend.store, backend.clock)
    events.queued = backend.outbox_changed
    managed = {RootKind.CSMS} | ({RootKind.MANUFACTURER} if config.firmware.manufacturer_roots_from_backend else set())
    certificates = CertificateStore(
        data_dir / "certificates",
        max_certificates=CERTIFICATE_STORE_MAX_LENGTH,
        fixed={RootKind.MANUFACTURER: manufacturer_roots(config)},  # the firmware trust anchors
        backend_managed=frozenset(managed),
    )
    security = LinkSecurity(config, backend.store, certificates, events)
    backend.security, backend.security_events = security, events
    backend.security_keys = SecurityKeys(security, backend.store)
    backend.keys.add(backend.security_keys)
    install_redaction(security.secrets)
    warn_if_exposed(security.secret_files())
    if security.profile in (1, 2) and not security.has_authorization_key():
        log.error(
            "security profile %d needs an AuthorizationKey: write it (hexadecimal) to %s, mode 0600",
            security.profile, security.key_file,
        )
    backend.clock.on_jump = lambda old, new: events.record(
        SecurityEvent.SETTING_SYSTEM_TIME, f"time set from the backend: moved {new - old:+.0f} s"
    )
    events.record(SecurityEvent.STARTUP_OF_THE_DEVICE)
    for weakened in weakened_settings(config):  # said at every start, as long as they are set
        events.record(SecurityEvent.SECURITY_CHECK_DISABLED, weakened)
    return security


def manufacturer_roots(config) -> list:
    """The firmware trust anchors the installation names (``[firmware] manufacturer_roots``);
    ValueError naming the key for a file that is not PEM CA certificates."""
    return load_root_files(config.firmware.manufacturer_roots, "firmware.manufacturer_roots")


def weakened_settings(config) -> list[str]:
    """The local settings that turn a security check of the agent off (README, "What the agent
    refuses"), as security event texts."""
    found = []
    if config.firmware.allow_unsigned:
        found.append("firmware.allow_unsigned = true: UpdateFirmware installs firmware no signature vouches for")
    if config.firmware.manufacturer_roots_from_backend:
        found.append("firmware.manufacturer_roots_from_backend = true: the backend may install firmware trust anchors")
    if config.ocpp.allow_unencrypted_certificate_operations:
        found.append("ocpp.allow_unencrypted_certificate_operations = true: certificates may change over a link without TLS")
    return found
