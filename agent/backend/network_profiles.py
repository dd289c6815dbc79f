"""Network connection profiles: where and how the link connects, in numbered configuration slots
(OCPP 2.0.1 B09 Setting a new NetworkConnectionProfile, B10 Migrate to new CSMS), version-neutral.

Slot 1 is the configuration file's backend ([ocpp] csms_url, security_profile) unless the CSMS
stored another profile there; the CSMS may store profiles in the other slots (SetNetworkProfile).
The link tries the slots in the order of the NetworkConfigurationPriority setting as it was at
the start of the agent (a new order takes effect at the next start: B10.FR.01 RebootRequired),
NetworkProfileConnectionAttempts times each (agent/core/network_choice.py), and connects with the
slot's URL (the station's identity appended, Part 4 §3.1.1) and security profile; the link's
security (agent/security/link_security.py) supplies the credentials and TLS for that profile.

It is the link's ``ConnectPolicy`` (agent/backend/link.py), in front of the link security. An
OCPP 1.6 backend never stores a profile, so a 1.6 station keeps connecting to slot 1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from agent.backend.link import ConnectOptions, endpoint_url
from agent.core.network_choice import SlotChoice

log = logging.getLogger(__name__)

STORE_PREFIX = "network_profile."  # store key of a slot's profile (JSON)
LAST_CONNECTED_KEY = "network_profile.last_connected"  # "slot profile" of the last connection


@dataclass(frozen=True)
class NetworkProfile:
    """OCPP 2.0.1 NetworkConnectionProfileType (Part 2 §2.41), the part the link uses."""

    url: str  # ocppCsmsUrl, without the station's identity
    security_profile: int
    message_timeout_s: int = 30
    ocpp_version: str = "OCPP20"
    ocpp_transport: str = "JSON"
    ocpp_interface: str = "Wired0"


class SecurityPolicy(Protocol):
    """What the link security does for the profiles (agent/security/link_security.py)."""

    @property
    def profile(self) -> int: ...

    def options(self, url: str, security_profile: int | None = None) -> ConnectOptions: ...

    def connected(self) -> None: ...

    def failed(self, error: BaseException) -> None: ...

    def usable(self, security_profile: int) -> str | None: ...

    def reconfigured(self, detail: str) -> None: ...


class KeyValues(Protocol):
    def settings(self) -> dict[str, str]: ...

    def put_setting(self, key: str, value: str) -> None: ...


class ProfileRefused(Exception):
    """A profile the station cannot take: ``reason_code`` as OCPP 2.0.1 names it (B09.FR.02/04/05)."""

    def __init__(self, reason_code: str, why: str) -> None:
        super().__init__(why)
        self.reason_code = reason_code


class NetworkProfiles:
    def __init__(self, store: KeyValues, settings: Callable[[str], Any], security: SecurityPolicy, *,
                 charge_point_id: str, config_url: str, slots: tuple[int, ...] = (1, 2)) -> None:
        """``settings(name)``: the setting's value now; ``config_url``: [ocpp] csms_url (slot 1)."""
        self._store = store
        self._settings = settings
        self._security = security
        self.charge_point_id = charge_point_id
        self.slots = slots
        self._config = NetworkProfile(config_url, security.profile)
        priority = tuple(s for s in settings("network_configuration_priority") if self.configured(s)) or (slots[0],)
        self._choice = SlotChoice(priority)
        self._up = False  # a connection is (or was, until the next attempt) up
        self.active_slot: int | None = None  # the slot of the connection up now (ActiveNetworkProfile)
        self.security_profile = security.profile  # of the connection up now (SecurityCtrlr.SecurityProfile)

    # ---- the profiles ---------------------------------------------------------------------

    def profile(self, slot: int) -> NetworkProfile | None:
        stored = self._store.settings().get(f"{STORE_PREFIX}{slot}")
        if stored:
            return NetworkProfile(**json.loads(stored))
        return self._config if slot == self.slots[0] else None

    def configured(self, slot: int) -> bool:
        """B10.FR.02: the slot holds a valid profile (NetworkConfigurationPriority may name it)."""
        return slot in self.slots and self.profile(slot) is not None

    def set_profile(self, slot: int, profile: NetworkProfile) -> None:
        """B09.FR.01: validate and store (ProfileRefused saying why not)."""
        if slot not in self.slots:
            raise ProfileRefused("InvalidConfSlot", f"slot {slot} is not one of {list(self.slots)}")  # B09.FR.05
        if slot == self.active_slot:
            raise ProfileRefused("InvalidConfSlot", f"slot {slot} is the profile in use")
        if profile.ocpp_version != "OCPP20" or profile.ocpp_transport != "JSON":
            raise ProfileRefused("InvalidNetworkConf", f"{profile.ocpp_version} over {profile.ocpp_transport} is not "
                                 "offered: OCPP 2.0.1 over JSON only")  # B09.FR.02
        scheme = urlsplit(profile.url).scheme
        if scheme not in ("ws", "wss") or not urlsplit(profile.url).hostname:
            raise ProfileRefused("InvalidNetworkConf", f"{profile.url!r} is not a ws:// or wss:// URL")
        if (scheme == "wss") != (profile.security_profile >= 2) and profile.security_profile != 0:
            raise ProfileRefused("InvalidNetworkConf", f"security profile {profile.security_profile} uses "
                                 f"{'wss' if profile.security_profile >= 2 else 'ws'}://, not {scheme}://")
        if profile.security_profile < self.security_profile:  # B09.FR.04
            raise ProfileRefused("NoSecurityDowngrade", f"security profile {profile.security_profile} is lower than "
                                 f"the one in use ({self.security_profile})")
        why = self._security.usable(profile.security_profile)
        if why is not None:
            raise ProfileRefused("InvalidNetworkConf", why)
        self._store.put_setting(f"{STORE_PREFIX}{slot}", json.dumps(asdict(profile)))
        log.info("network profile slot %d: %s, security profile %d", slot, profile.url, profile.security_profile)

    # ---- the link's ConnectPolicy ----------------------------------------------------------

    def options(self, url: str) -> ConnectOptions:
        """The next attempt: the slot chosen now (``url``: the config's endpoint, for slot 1 as configured)."""
        if self._up:
            self._up = False
            self._choice.lost()
        slot = self._choice.slot
        profile = self.profile(slot)
        if profile is None or profile == self._config:
            return self._security.options(url)
        return self._security.options(endpoint_url(profile.url, self.charge_point_id), profile.security_profile)

    def connected(self) -> None:
        slot = self._choice.slot
        profile = self.profile(slot)
        self._up = True
        self._choice.connected()
        self.active_slot = slot
        self.security_profile = profile.security_profile if profile is not None else self._security.profile
        self._security.connected()
        self._note_change(slot)

    def _note_change(self, slot: int) -> None:
        """A connection with another security profile than the last one is a change of the security
        parameters (A05.FR.04/05 upgrade): logged once, as a security event."""
        now = f"{slot} {self.security_profile}"
        last = self._store.settings().get(LAST_CONNECTED_KEY)
        if last == now:
            return
        self._store.put_setting(LAST_CONNECTED_KEY, now)
        last_profile = int(last.split()[1]) if last else self._config.security_profile
        if last_profile != self.security_profile:
            self._security.reconfigured(f"security profile {last_profile} -> {self.security_profile} "
                                        f"(network profile slot {slot})")

    def failed(self, error: BaseException) -> None:
        self._up = False
        self.active_slot = None
        self._security.failed(error)
        slot = self._choice.slot
        if self._choice.failed(int(self._settings("network_profile_connection_attempts"))):
            log.warning("link: network profile slot %d failed %s times; slot %d next (B10.FR.03)", slot,
                        self._settings("network_profile_connection_attempts"), self._choice.slot)
