"""Functional block A (Security): the charging station certificate renewed at the CSMS's request
(A02: TriggerMessage SignChargingStationCertificate → SignCertificate → CertificateSigned, sent
again when no certificate comes, A02.FR.17-19) and the security profile upgraded through a new
network connection profile (A05: SetNetworkProfile, then NetworkConfigurationPriority and a
reboot). The BasicAuthPassword (A01) is a device model variable (agent/ocpp201/live.py);
security events (A04) go through the durable outbox (agent/ocpp201/outbox.py).

SetNetworkProfile is block B's message (B09); here it does what A05 needs: a profile for a slot
not in use, refused when it would lower the security profile (B09.FR.04) or when the station
lacks what the new profile needs (A05.FR.02 a CSMS root, A05.FR.03 a charging station
certificate). The profiles and their use at start are agent/security/network_profiles.py and
agent/security/link_security.py; the profile's messageTimeout is stored, not used (the
station's response timeout is ``[ocpp] response_timeout_s``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.services import NetworkProfile, StorageError, accept_signed_certificate
from agent.ocpp201.connection import LinkDown

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

CPO_NAME_SETTING = "security.cpo_name"  # SecurityCtrlr.OrganizationName (the 1.6 CpoName key too)
SLOTS = (1, 2)  # NetworkConfigurationPriority's valuesList (agent/ocpp201/station_model.py Capabilities)


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

    # B09 SetNetworkProfile, as A05 uses it.
    @on(Action.set_network_profile)
    def on_set_network_profile(self, configuration_slot: int, connection_data: dict[str, Any], **_: Any) -> Any:
        why = self._unusable(configuration_slot, connection_data)
        if why is None:
            profile = NetworkProfile(configuration_slot, connection_data["ocpp_csms_url"],
                                     connection_data["security_profile"], connection_data["message_timeout"])
            try:
                why = self.security.set_network_profile(profile)
            except StorageError as exc:
                log.error("SetNetworkProfile slot %d: %s", configuration_slot, exc)
                return call_result.SetNetworkProfile(status="Failed")
        if why is not None:
            log.warning("SetNetworkProfile slot %d rejected: %s", configuration_slot, why)
            return call_result.SetNetworkProfile(status="Rejected", status_info={"reason_code": "InvalidProfile",
                                                                                 "additional_info": why[:512]})
        return call_result.SetNetworkProfile(status="Accepted")

    @staticmethod
    def _unusable(slot: int, data: dict[str, Any]) -> str | None:
        if slot not in SLOTS:
            return f"no slot {slot} (NetworkConfigurationPriority takes {', '.join(map(str, SLOTS))})"
        if data.get("ocpp_version") != "OCPP20":
            return f"ocppVersion {data.get('ocpp_version')}: this adapter speaks OCPP 2.0.1 (OCPP20)"
        if data.get("ocpp_transport") != "JSON":
            return "only OCPP-J (JSON) is spoken"
        if data.get("vpn") or data.get("apn"):
            return "the station connects over its own network: no VPN, no APN"
        if not str(data.get("ocpp_csms_url", "")).startswith(("ws://", "wss://")):
            return "ocppCsmsUrl is no ws:// or wss:// URL"
        return None
