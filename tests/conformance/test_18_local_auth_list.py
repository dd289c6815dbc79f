"""OCTT module 18, Local Authorization List Management (OCPP 1.6 §3.5.3, §5.10, §5.15, §9.3)."""

from __future__ import annotations

from tests.conformance.cases import not_applicable
from tests.conformance.conftest import VALID, VALID_2

LIST_ONLY = {"LocalPreAuthorize": True, "AuthorizationCacheEnabled": False, "LocalAuthListEnabled": True}


def entry(tag: str, status: str = "Accepted") -> dict:
    return {"idTag": tag, "idTagInfo": {"status": status}}


async def send_list(csms, version: int, update_type: str, entries: list[dict]) -> dict:
    return await csms.call("SendLocalList", {"listVersion": version, "updateType": update_type,
                                             "localAuthorizationList": entries})


async def test_TC_008_1_regular_start_charging_session_id_in_local_list(station, csms):
    await station.boot(keys=LIST_ONLY)
    version = (await csms.call("GetLocalListVersion", {}))["listVersion"]
    assert await send_list(csms, version + 1, "Full", [entry(VALID)]) == {"status": "Accepted"}
    mark = csms.mark()
    await station.tap(VALID)
    await csms.wait_status("Preparing", after=mark)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)
    assert not csms.calls_of("Authorize", after=mark)  # the list was enough (LocalPreAuthorize)


async def test_TC_008_2_remote_start_charging_session_id_in_local_list(station, csms):
    await station.boot(keys={**LIST_ONLY, "AuthorizeRemoteTxRequests": True})
    version = (await csms.call("GetLocalListVersion", {}))["listVersion"]
    assert await send_list(csms, version + 1, "Full", [entry(VALID)]) == {"status": "Accepted"}
    mark = csms.mark()
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    await csms.wait_status("Preparing", after=mark)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)
    assert not csms.calls_of("Authorize", after=mark)


def test_TC_042_1_get_local_list_version_not_supported():
    not_applicable("TC_042_1")


async def test_TC_042_2_get_local_list_version_empty(station, csms):
    await station.boot(keys=LIST_ONLY)
    assert await csms.call("GetLocalListVersion", {}) == {"listVersion": 0}
    assert await send_list(csms, 7, "Full", []) == {"status": "Accepted"}
    assert await csms.call("GetLocalListVersion", {}) == {"listVersion": 0}  # §5.10: 0 = an empty list


async def test_TC_043_send_local_authorization_list(station, csms):
    await station.boot(keys=LIST_ONLY)
    assert await send_list(csms, 1, "Full", [entry(VALID), entry("BLOCKED-TAG", "Blocked")]) == {"status": "Accepted"}
    assert await csms.call("GetLocalListVersion", {}) == {"listVersion": 1}
    differential = [entry(VALID_2), {"idTag": "BLOCKED-TAG"}]  # add one, remove one
    assert await send_list(csms, 2, "Differential", differential) == {"status": "Accepted"}
    assert await csms.call("GetLocalListVersion", {}) == {"listVersion": 2}
    mark = csms.mark()
    await station.tap(VALID_2)  # added by the differential update: no Authorize needed
    await csms.wait_status("Preparing", after=mark)
    assert not csms.calls_of("Authorize", after=mark)


def test_TC_043_1_send_local_authorization_list_not_supported():
    not_applicable("TC_043_1")


async def test_TC_043_2_send_local_authorization_list_version_mismatch(station, csms):
    await station.boot(keys=LIST_ONLY)
    assert await send_list(csms, 5, "Full", [entry(VALID)]) == {"status": "Accepted"}
    assert await send_list(csms, 5, "Differential", [entry(VALID_2)]) == {"status": "VersionMismatch"}
    assert await send_list(csms, 4, "Differential", [entry(VALID_2)]) == {"status": "VersionMismatch"}
    assert await csms.call("GetLocalListVersion", {}) == {"listVersion": 5}


async def test_TC_043_3_send_local_authorization_list_failed(station, csms):
    await station.boot(keys=LIST_ONLY)
    assert await send_list(csms, 1, "Full", [entry(VALID)]) == {"status": "Accepted"}
    config = await csms.call("GetConfiguration", {"key": ["SendLocalListMaxLength"]})
    most = int(config["configurationKey"][0]["value"])
    too_many = [entry(f"TAG-{i:05d}") for i in range(most + 1)]
    assert await send_list(csms, 2, "Full", too_many) == {"status": "Failed"}
    assert await csms.call("GetLocalListVersion", {}) == {"listVersion": 1}  # the old list stays
