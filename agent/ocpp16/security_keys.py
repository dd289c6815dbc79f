"""Configuration keys of the OCPP 1.6 Security Whitepaper (ed. 3, §5 "Configuration Keys").

SecurityProfile (RW, may only be raised), AuthorizationKey (W: GetConfiguration lists it
without a value), CpoName (RW, the O of the charge point certificate's CSR),
CertificateStoreMaxLength (R), CertificateSignedMaxChainSize (R) and
AdditionalRootCertificateCheck (R, the installation's ``ocpp.additional_root_certificate_check``).
"""

from __future__ import annotations

import logging
from typing import Any

from agent.backend.services import KeyValuePort, LinkSecurityPort
from agent.ocpp16.keys import ChangeResult

log = logging.getLogger(__name__)

CERTIFICATE_SIGNED_MAX_CHAIN_SIZE = 10000  # CertificateSigned.req certificateChain maxLength
CPO_NAME_SETTING = "security.cpo_name"
CPO_NAME_MAX = 64  # X.520 ub-organization-name


class SecurityKeys:
    """The ExtraKeys of agent/ocpp16/keys.py for the security whitepaper."""

    def __init__(self, security: LinkSecurityPort, store: KeyValuePort) -> None:
        self._security = security
        self._store = store

    def names(self) -> list[str]:
        return [
            "AdditionalRootCertificateCheck",
            "AuthorizationKey",
            "CertificateSignedMaxChainSize",
            "CertificateStoreMaxLength",
            "CpoName",
            "SecurityProfile",
        ]

    @property
    def cpo_name(self) -> str:
        return self._store.settings().get(CPO_NAME_SETTING, "")

    def entry(self, name: str) -> dict[str, Any]:
        if name == "AuthorizationKey":
            return {"key": name, "readonly": False}  # write-only: never its value
        values = {
            "AdditionalRootCertificateCheck": (True, "true" if self._security.additional_root_certificate_check else "false"),
            "CertificateSignedMaxChainSize": (True, str(CERTIFICATE_SIGNED_MAX_CHAIN_SIZE)),
            "CertificateStoreMaxLength": (True, str(self._security.certificates.max_certificates)),
            "CpoName": (False, self.cpo_name),
            "SecurityProfile": (False, str(self._security.profile)),
        }
        readonly, value = values[name]
        return {"key": name, "readonly": readonly, "value": value}

    def change(self, name: str, value: str) -> ChangeResult:
        if name == "SecurityProfile":
            text = value.strip()
            why = self._security.raise_profile(int(text)) if text.isdigit() else f"{value!r} is not an integer"
        elif name == "AuthorizationKey":
            why = self._security.certificate_operations_refused() or self._security.set_authorization_key(value)
        elif name == "CpoName":
            why = None if 0 < len(value) <= CPO_NAME_MAX and value.isprintable() else f"1-{CPO_NAME_MAX} printable characters"
            if why is None:
                self._store.put_setting(CPO_NAME_SETTING, value)
        else:
            why = "read-only"
        if why is not None:
            log.warning("ChangeConfiguration %s rejected: %s", name, why)
            return ChangeResult.REJECTED
        return ChangeResult.ACCEPTED
