"""Functional block A (Security): the charging station certificate renewed at the CSMS's request
(A02: TriggerMessage SignChargingStationCertificate → SignCertificate → CertificateSigned, sent
again when no certificate comes, A02.FR.17-19). The BasicAuthPassword (A01) is a device model
variable (agent/ocpp201/live.py); security events (A04) go through the durable outbox
(agent/ocpp201/outbox.py). The security profile is upgraded through a new network connection
profile (A05: SetNetworkProfile, block B's message, in agent/ocpp201/handlers/provisioning.py,
refused when the station lacks what the profile needs: A05.FR.02 a CSMS root, A05.FR.03 a
charging station certificate; then NetworkConfigurationPriority and a reboot,
agent/backend/network_profiles.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.services import accept_signed_certificate
from agent.ocpp201.connection import LinkDown

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

CPO_NAME_SETTING = "security.cpo_name"  # SecurityCtrlr.OrganizationName (the 1.6 CpoName key too)


class CertificateSigning:
    """A02: one charging station certificate request at a time, for the life of the adapter (it
    outlives a connection: the CSMS may answer on the next one).

    ``request`` makes a new key pair on the device and sends its CSR; when the CSMS accepted it
    but no CertificateSigned comes within CertSigningWaitMinimum, the same CSR is sent again,
    the wait doubling each time, CertSigningRepeatTimes times at most (A02.FR.17-19)."""

    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self._csr: str | None = None
        self._task: asyncio.Task | None = None

    async def request(self) -> None:
        self.answered()  # a new request replaces one still waiting (its key is replaced too)
        security, store = self.adapter.services.security, self.adapter.services.store
        organization = store.settings().get(CPO_NAME_SETTING, "")
        self._csr = security.certificates.new_csr(self.adapter.charge_point_id, organization)
        if await self._send():
            self._task = asyncio.ensure_future(self._repeat(self._csr))

    def answered(self) -> None:
        """A CertificateSigned came (whatever became of it): no more repeats."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _send(self) -> bool:
        assert self._csr is not None
        try:
            result = await self.adapter.call(call.SignCertificate(csr=self._csr, certificate_type="ChargingStationCertificate"))
        except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
            log.warning("SignCertificate: %r", exc)
            return False
        log.info("SignCertificate: %s", result.status)
        return result.status == "Accepted"

    async def _repeat(self, csr: str) -> None:
        settings = self.adapter.services.settings
        wait = max(1, settings["cert_signing_wait_minimum_s"])
        repeats = settings["cert_signing_repeat_times"]
        for attempt in range(1, repeats + 1):
            await asyncio.sleep(wait)
            if self._csr != csr:
                return
            log.warning("no CertificateSigned within %d s: SignCertificate again (%d of %d)", wait, attempt, repeats)
            await self._send()
            wait *= 2  # A02.FR.18
        await asyncio.sleep(wait)
        log.warning("no CertificateSigned after %d SignCertificate repeats: giving up until the next request", repeats)


class SecurityHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.security = adapter.services.security

    # A02 CertificateSigned: the chain for the key of the last SignCertificate (A02.FR.06-09);
    # one that does not verify is Rejected with the security event InvalidChargingStationCertificate.
    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, certificate_type: str | None = None, **_: Any) -> Any:
        self.adapter.certificate_signing.answered()
        if certificate_type == "V2GCertificate":
            log.warning("CertificateSigned V2GCertificate rejected: no ISO 15118 stack to use it")
            return call_result.CertificateSigned(status="Rejected", status_info={"reason_code": "NotSupported"})
        services = self.adapter.services
        accepted = accept_signed_certificate(self.security, services.security_events, certificate_chain,
                                             services.clock.now())
        return call_result.CertificateSigned(status="Accepted" if accepted else "Rejected")

    @after(Action.certificate_signed)
    def after_certificate_signed(self, **_: Any) -> None:
        self.security.reconnect_if_due()  # profile 3: the new certificate is used at once
