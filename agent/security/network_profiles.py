"""Network connection profiles: where and how the station connects to its backend, by slot
(OCPP 2.0.1 B09 SetNetworkProfile, A05 upgrade of the security profile, B10 migration).

Slot 1 is the configuration file's (``[ocpp] csms_url`` and ``security_profile``, with what
the backend raised since); other slots hold what the backend set with SetNetworkProfile, kept
in the store's settings table (``network_profile.<slot>``, JSON). Which slot is used is
decided at start from ``OCPPCommCtrlr.NetworkConfigurationPriority`` (the neutral setting
``network_configuration_priority``): a change takes effect after a reboot (B10.FR.01), and the
new profile is tried like any new security setting, falling back to the previous one when it
fails to connect (agent/security/link_security.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

CONFIG_SLOT = 1  # the configuration file's profile
KEY = "network_profile.{}"


@dataclass(frozen=True)
class NetworkProfile:
    """Part 2 §2.37 NetworkConnectionProfileType, the part this station uses (an OCPP-J 2.0.1
    link over the station's own network interface: no VPN, no APN)."""

    slot: int
    url: str  # ocppCsmsUrl, without the station's identity (appended as the last path segment)
    security_profile: int
    message_timeout_s: int = 30


class NetworkProfiles:
    """The profiles of the slots other than the configuration file's, persisted."""

    def __init__(self, store: Any) -> None:
        self._store = store  # settings() / put_setting(), agent/persistence/store.py

    def get(self, slot: int) -> NetworkProfile | None:
        raw = self._store.settings().get(KEY.format(slot))
        if not raw:
            return None
        try:
            return NetworkProfile(**json.loads(raw))
        except (ValueError, TypeError) as exc:
            log.error("network profile of slot %d unreadable, ignored: %s", slot, exc)
            return None

    def put(self, profile: NetworkProfile) -> None:
        if profile.slot == CONFIG_SLOT:
            raise ValueError(f"slot {CONFIG_SLOT} is the configuration file's")
        self._store.put_setting(KEY.format(profile.slot), json.dumps(asdict(profile)))

    def configured(self, slot: int) -> bool:
        """B10.FR.02: a slot NetworkConfigurationPriority may name."""
        return slot == CONFIG_SLOT or self.get(slot) is not None
