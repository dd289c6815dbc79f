"""Network connection profiles (OCPP 2.0.1 B09/B10): the pure choice of the slot to try
(agent/core/network_choice.py) and the profiles the link connects with
(agent/backend/network_profiles.py), over a fake of our own link-security interface."""

from __future__ import annotations

import pytest

from agent.backend.link import ConnectOptions
from agent.backend.network_profiles import NetworkProfile, NetworkProfiles, ProfileRefused
from agent.core.network_choice import SlotChoice


def test_attempts_per_entry_then_the_next_then_round_again():
    choice = SlotChoice((2, 1))
    assert choice.slot == 2  # B10.FR.04: the first entry after a start
    assert choice.failed(3) is False and choice.failed(3) is False
    assert choice.failed(3) is True and choice.slot == 1  # B10.FR.03: attempts per entry
    for _ in range(3):
        choice.failed(3)
    assert choice.slot == 2  # B10.FR.08: all failed: from the first entry again


def test_a_success_forgets_the_failures_and_a_lost_connection_begins_with_the_first():
    choice = SlotChoice((2, 1))
    choice.failed(2)
    choice.connected()
    assert choice.failed(2) is False  # counted from the success on
    choice.failed(2)
    assert choice.slot == 1
    choice.connected()
    choice.lost()
    assert choice.slot == 2


def test_one_slot_is_tried_for_ever():
    choice = SlotChoice((1,))
    assert [choice.failed(1) for _ in range(3)] == [False, False, False] and choice.slot == 1


def test_no_slot_is_an_error():
    with pytest.raises(ValueError):
        SlotChoice(())


class FakeSecurity:
    """Our link-security interface (agent/backend/network_profiles.py SecurityPolicy)."""

    def __init__(self, profile: int = 0, missing: dict[int, str] | None = None) -> None:
        self.profile = profile
        self.missing = missing or {}
        self.asked: list[tuple[str, int | None]] = []
        self.outcomes: list[str] = []
        self.reconfigurations: list[str] = []

    def options(self, url: str, security_profile: int | None = None) -> ConnectOptions:
        self.asked.append((url, security_profile))
        return ConnectOptions(url)

    def connected(self) -> None:
        self.outcomes.append("connected")

    def failed(self, error: BaseException) -> None:
        self.outcomes.append("failed")

    def usable(self, security_profile: int) -> str | None:
        return self.missing.get(security_profile)

    def reconfigured(self, detail: str) -> None:
        self.reconfigurations.append(detail)


class Store:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def settings(self) -> dict[str, str]:
        return dict(self.values)

    def put_setting(self, key: str, value: str) -> None:
        self.values[key] = value


def profiles(store: Store, security: FakeSecurity, priority=(1,), attempts: int = 2) -> NetworkProfiles:
    settings = {"network_configuration_priority": list(priority), "network_profile_connection_attempts": attempts}
    return NetworkProfiles(store, settings.__getitem__, security, charge_point_id="CP 1", config_url="ws://a/ocpp")


NEW = NetworkProfile("ws://b:9000/ocpp", 0)


def test_a_stored_profile_is_tried_after_a_restart_that_names_it_first_and_falls_back():
    store, security = Store(), FakeSecurity()
    profiles(store, security).set_profile(2, NEW)
    restarted = profiles(store, security, priority=(2, 1), attempts=2)
    assert restarted.options("ws://a/ocpp/CP%201").url == "ws://b:9000/ocpp/CP%201"  # identity appended
    restarted.failed(OSError())
    restarted.options("ws://a/ocpp/CP%201")
    restarted.failed(OSError())
    assert restarted.options("ws://a/ocpp/CP%201").url == "ws://a/ocpp/CP%201"  # slot 1: as configured
    restarted.connected()
    assert (restarted.active_slot, security.outcomes) == (1, ["failed", "failed", "connected"])


def test_a_slot_without_a_profile_is_left_out_of_the_priority():
    store, security = Store(), FakeSecurity()
    restarted = profiles(store, security, priority=(2, 1))
    assert restarted.options("ws://a/ocpp/CP%201").url == "ws://a/ocpp/CP%201"
    assert restarted.configured(1) and not restarted.configured(2) and not restarted.configured(3)


@pytest.mark.parametrize(("slot", "profile", "code"), [
    (3, NEW, "InvalidConfSlot"),  # B09.FR.05
    (2, NetworkProfile("ws://b/ocpp", 0, ocpp_version="OCPP16"), "InvalidNetworkConf"),  # B09.FR.02
    (2, NetworkProfile("http://b/ocpp", 0), "InvalidNetworkConf"),
    (2, NetworkProfile("wss://b/ocpp", 1), "InvalidNetworkConf"),  # profile 1 is ws://
    (2, NetworkProfile("wss://b/ocpp", 2), "InvalidNetworkConf"),  # the link security lacks a root
])
def test_profiles_the_station_cannot_take_are_refused_and_not_stored(slot, profile, code):
    store = Store()
    with pytest.raises(ProfileRefused) as refused:
        profiles(store, FakeSecurity(missing={2: "no root"})).set_profile(slot, profile)
    assert refused.value.reason_code == code and not store.values


def test_no_downgrade_of_the_security_profile_in_use_nor_a_change_of_the_slot_in_use():
    store = Store()
    network = profiles(store, FakeSecurity(profile=2))
    network.options("wss://a/ocpp/CP%201")
    network.connected()
    with pytest.raises(ProfileRefused) as refused:
        network.set_profile(2, NetworkProfile("ws://b/ocpp", 1))
    assert refused.value.reason_code == "NoSecurityDowngrade"  # B09.FR.04
    with pytest.raises(ProfileRefused):
        network.set_profile(1, NetworkProfile("wss://c/ocpp", 2))
    network.set_profile(2, NetworkProfile("wss://b/ocpp", 3))


def test_a_profile_connects_with_its_own_security_profile():
    store, security = Store(), FakeSecurity(profile=1)
    profiles(store, security).set_profile(2, NetworkProfile("wss://b/ocpp", 2))
    restarted = profiles(store, security, priority=(2, 1))
    restarted.options("ws://a/ocpp/CP%201")
    restarted.connected()
    assert security.asked[-1] == ("wss://b/ocpp/CP%201", 2)
    assert (restarted.active_slot, restarted.security_profile) == (2, 2)


def test_connecting_with_another_security_profile_is_logged_once_as_a_reconfiguration():
    store, security = Store(), FakeSecurity(profile=1)
    first = profiles(store, security)
    first.options("ws://a/ocpp/CP%201")
    first.connected()
    assert security.reconfigurations == []  # the configured profile
    first.set_profile(2, NetworkProfile("wss://b/ocpp", 2))
    for _ in range(2):  # the upgrade, then a restart on the same profile
        restarted = profiles(store, security, priority=(2, 1))
        restarted.options("ws://a/ocpp/CP%201")
        restarted.connected()
    assert security.reconfigurations == ["security profile 1 -> 2 (network profile slot 2)"]
