"""OCTT 2.0.1 block D (Local Authorization List Management): SendLocalList Full and Differential,
GetLocalListVersion, the list kept over a reboot and used to authorize, with the strict backend
checking every message both ways.

The list's version is the one the CSMS last installed (D01.FR.01), also when that list is empty:
0 means no list is installed (D01.FR.18), or the list is disabled (LocalAuthListCtrlr.Enabled false)."""

from __future__ import annotations

import asyncio

from tests.conformance.conftest import VALID, VALID_2
from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)


def entry(id_token: str, status: str | None = "Accepted", token_type: str = "ISO14443") -> dict:
    """§2.1 AuthorizationData: no idTokenInfo removes the idToken (Differential)."""
    item: dict = {"idToken": {"idToken": id_token, "type": token_type}}
    if status is not None:
        item["idTokenInfo"] = {"status": status}
    return item


async def send_list(csms, version: int, update_type: str, *entries: dict) -> str:
    request: dict = {"versionNumber": version, "updateType": update_type}
    if entries:  # the schema has minItems 1: an empty list is one left out
        request["localAuthorizationList"] = list(entries)
    return (await csms.call("SendLocalList", request))["status"]


async def list_version(csms) -> int:
    return (await csms.call("GetLocalListVersion", {}))["versionNumber"]


async def entries(csms) -> int:
    result = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Entries"}}]})
    return int(result["getVariableResult"][0]["attributeValue"])


async def verdict(station, id_token: str, *, after: int, timeout: float = 10.0) -> str:
    """What the station decided of a card presented after log offset ``after`` (its log line
    ``card <id>: <why>``, agent/station/station.py): the only trace of an offline decision."""
    prefix = f"card {id_token}: "
    async with asyncio.timeout(timeout):  # no event announces a log line: look often
        while True:
            for line in station.log()[after:].splitlines():
                if prefix in line and "presented" not in line:
                    return line.split(prefix, 1)[1]
            await asyncio.sleep(0.05)


async def offline_tap_starts(station, csms, id_token: str, *, offline: bool = False) -> bool:
    """Offline (LocalAuthorizeOffline true, unknown idTokens refused): does a tap of ``id_token``
    with the EV plugged start the energy transfer? What the list says decides."""
    if not offline:
        await csms.go_offline()
    station.plug()
    seen = len(station.log())
    await station.tap(id_token)
    accepted = (await verdict(station, id_token, after=seen)).startswith("offline, accepted")
    if accepted:
        await station.energy_flows()
    else:
        assert not station.evse()["contactor_closed"]
    return accepted


async def test_TC_D_01_send_local_list_full(station, csms):
    """D01.FR.01/02: a Full list replaces the one installed; GetLocalListVersion names its
    version; its idTokens authorize offline."""
    await station.boot()
    assert await send_list(csms, 1, "Full", entry(VALID_2)) == "Accepted"
    assert await send_list(csms, 2, "Full", entry(VALID), entry("04A1B2C3D4E5F8", token_type="KeyCode")) == "Accepted"
    assert await list_version(csms) == 2
    assert await entries(csms) == 2  # VALID_2 went with the old list
    await csms.go_offline()
    seen = len(station.log())
    await station.tap("04A1B2C3D4E5F8")  # a card whose UID is the KeyCode's value is another token (§2.28)
    assert await verdict(station, "04A1B2C3D4E5F8", after=seen) == "offline, unknown idTag refused"
    assert await offline_tap_starts(station, csms, VALID, offline=True)


async def test_TC_D_02_send_local_list_differential_update(station, csms):
    """D01.FR.04: a Differential update adds and changes entries, the others stay."""
    await station.boot()
    assert await send_list(csms, 1, "Full", entry(VALID, "Blocked")) == "Accepted"
    assert await send_list(csms, 2, "Differential", entry(VALID), entry(VALID_2)) == "Accepted"
    assert await list_version(csms) == 2
    assert await entries(csms) == 2
    assert await offline_tap_starts(station, csms, VALID)  # Blocked → Accepted


async def test_TC_D_03_send_local_list_differential_remove(station, csms):
    """D01.FR.05: an entry without idTokenInfo is removed."""
    await station.boot()
    assert await send_list(csms, 1, "Full", entry(VALID), entry(VALID_2)) == "Accepted"
    assert await send_list(csms, 2, "Differential", entry(VALID, None)) == "Accepted"
    assert await list_version(csms) == 2
    assert await entries(csms) == 1
    assert not await offline_tap_starts(station, csms, VALID)  # no longer known offline


async def test_TC_D_04_send_local_list_full_with_empty_list(station, csms):
    """D01: a Full update without entries empties the list; the version is the one sent."""
    await station.boot()
    assert await send_list(csms, 1, "Full", entry(VALID)) == "Accepted"
    assert await send_list(csms, 2, "Full") == "Accepted"
    assert await list_version(csms) == 2
    assert await entries(csms) == 0
    assert not await offline_tap_starts(station, csms, VALID)


async def test_TC_D_05_send_local_list_differential_with_empty_list(station, csms):
    """D01: a Differential update without entries changes only the version."""
    await station.boot()
    assert await send_list(csms, 1, "Full", entry(VALID)) == "Accepted"
    assert await send_list(csms, 3, "Differential") == "Accepted"
    assert await list_version(csms) == 3
    assert await entries(csms) == 1


async def test_TC_D_06_send_local_list_version_mismatch(station, csms):
    """D01.FR.19: a Differential update whose version is not above the installed one is a
    VersionMismatch; the list and its version stay."""
    await station.boot()
    assert await send_list(csms, 3, "Full", entry(VALID)) == "Accepted"
    assert await send_list(csms, 2, "Differential", entry(VALID_2)) == "VersionMismatch"
    assert await list_version(csms) == 3
    assert await entries(csms) == 1


async def test_TC_D_07_send_local_list_persistent_over_reboot(station, csms):
    """D01: the list and its version are kept over a reboot (Reset), and used after it."""
    await station.boot()
    assert await send_list(csms, 2, "Full", entry(VALID)) == "Accepted"
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    await csms.wait_connector_status("Available", after=mark)
    assert await list_version(csms) == 2
    assert await entries(csms) == 1
    assert await offline_tap_starts(station, csms, VALID)


async def test_TC_D_08_get_local_list_version_success(station, csms):
    """D02.FR.01: the version of the installed list; 0 before any was (D01.FR.18)."""
    await station.boot()
    assert await list_version(csms) == 0
    assert await send_list(csms, 7, "Full", entry(VALID)) == "Accepted"
    assert await list_version(csms) == 7


async def test_TC_D_10_get_local_list_version_function_disabled(station, csms):
    """LocalAuthListCtrlr.Enabled false: the version is 0 (no list in use), a list sent is not
    taken (Failed) and an installed list no longer authorizes."""
    await station.boot()
    assert await send_list(csms, 4, "Full", entry(VALID)) == "Accepted"
    result = await csms.call("SetVariables", {"setVariableData": [{
        "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Enabled"}, "attributeValue": "false"}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    assert await list_version(csms) == 0
    assert await send_list(csms, 5, "Full", entry(VALID)) == "Failed"
    assert not await offline_tap_starts(station, csms, VALID)
