"""The security services built from the configuration: the certificate store, the link's
security profile and credentials, and security events (OCPP 1.6 Security Whitepaper ed. 3;
the same for OCPP 2.0.1 block A).

``build_security`` records StartupOfTheDevice, reports clock jumps as SettingSystemTime,
keeps secrets out of every log handler, warns about secret files others may read and says,
at every start, which local settings turned a security check off.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from agent.security.certificates import CertificateStore, RootKind, load_root_files
from agent.security.events import SecurityEvent, SecurityEvents
from agent.security.link_security import LinkSecurity
from agent.security.secret_files import install_redaction, warn_if_exposed

if TYPE_CHECKING:
    from agent.app.config import AgentConfig
    from agent.persistence.store import Store
    from agent.station.clock import Clock

log = logging.getLogger(__name__)

CERTIFICATE_STORE_MAX_LENGTH = 10  # CertificateStoreMaxLength


def build_security(config: AgentConfig, store: Store, clock: Clock) -> tuple[LinkSecurity, SecurityEvents]:
    data_dir = Path(config.storage.data_dir)
    events = SecurityEvents(store, clock)
    managed = {RootKind.CSMS} | ({RootKind.MANUFACTURER} if config.firmware.manufacturer_roots_from_backend else set())
    certificates = CertificateStore(
        data_dir / "certificates",
        max_certificates=CERTIFICATE_STORE_MAX_LENGTH,
        fixed={RootKind.MANUFACTURER: manufacturer_roots(config)},  # the firmware trust anchors
        backend_managed=frozenset(managed),
    )
    security = LinkSecurity(config, store, certificates, events)
    install_redaction(security.secrets)
    warn_if_exposed(security.secret_files())
    if security.profile in (1, 2) and not security.has_authorization_key():
        log.error(
            "security profile %d needs an AuthorizationKey: write it (hexadecimal) to %s, mode 0600",
            security.profile, security.key_file,
        )
    clock.on_jump = lambda old, new: events.record(
        SecurityEvent.SETTING_SYSTEM_TIME, f"time set from the backend: moved {new - old:+.0f} s"
    )
    return security, events


def record_startup(events: SecurityEvents, config: AgentConfig) -> None:
    events.record(SecurityEvent.STARTUP_OF_THE_DEVICE)
    for weakened in weakened_settings(config):  # said at every start, as long as they are set
        events.record(SecurityEvent.SECURITY_CHECK_DISABLED, weakened)


def manufacturer_roots(config: AgentConfig) -> list:
    """The firmware trust anchors the installation names (``[firmware] manufacturer_roots``);
    ValueError naming the key for a file that is not PEM CA certificates."""
    return load_root_files(config.firmware.manufacturer_roots, "firmware.manufacturer_roots")


def weakened_settings(config: AgentConfig) -> list[str]:
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
