"""OCPP 1.6 local authorization (§3.5): SendLocalList, GetLocalListVersion, ClearCache,
LocalPreAuthorize and an offline start from the local list, against ocpp-csms."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call
from ocpp.v16.enums import UpdateType
from ocpp_csms import AuthorizationStatus, BootEvent, CentralSystem, TransactionStartedEvent, TransactionStoppedEvent

from tests.integration.conftest import Recorder
from tests.integration.test_session_flow import CARD, booted, evse, status_reached


def entry(id_tag, status="Accepted", parent=None):
    info = {"status": status}
    if parent:
        info["parentIdTag"] = parent
    return {"idTag": id_tag, "idTagInfo": info}


async def send_list(cp, version, entries, update_type=UpdateType.full) -> str:
    result = await cp.async_call(
        call.SendLocalList(list_version=version, update_type=update_type, local_authorization_list=entries)
    )
    return result.status


async def list_version(cp) -> int:
    return (await cp.async_call(call.GetLocalListVersion())).list_version


async def test_local_list_versions_updates_and_clear_cache_through_the_backend(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    config = await cp.async_get_configuration(["SupportedFeatureProfiles", "LocalAuthListMaxLength", "SendLocalListMaxLength"])
    assert "LocalAuthListManagement" in config.values["SupportedFeatureProfiles"].value.split(",")
    assert config.values["LocalAuthListMaxLength"].readonly and config.values["SendLocalListMaxLength"].readonly
    max_update = int(config.values["SendLocalListMaxLength"].value)

    assert await list_version(cp) == 0  # empty
    assert await send_list(cp, 1, [entry("AA"), entry("BB", "Blocked")]) == "Accepted"
    assert await list_version(cp) == 1
    assert await send_list(cp, 1, [entry("CC")], UpdateType.differential) == "VersionMismatch"
    assert await send_list(cp, 2, [{"idTag": "BB"}, entry("CC")], UpdateType.differential) == "Accepted"
    assert await list_version(cp) == 2
    # Bad updates fail and leave the list as it was.
    assert await send_list(cp, 3, [{"idTag": "DD"}]) == "Failed"  # Full needs idTagInfo
    too_many = [entry(f"T{i}") for i in range(max_update + 1)]
    assert await send_list(cp, 3, too_many) == "Failed"
    assert await list_version(cp) == 2

    assert (await cp.async_call(call.ClearCache())).status == "Accepted"
    assert await cp.async_change_configuration("AuthorizationCacheEnabled", "false") == "Accepted"
    assert (await cp.async_call(call.ClearCache())).status == "Rejected"

    # The list and its version survive a crash.
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=mark, timeout=20)
    assert await list_version(cp) == 2
    assert await cp.async_change_configuration("LocalAuthListEnabled", "false") == "Accepted"
    assert await list_version(cp) == -1  # §5.10: no list in use
    assert await send_list(cp, 3, [entry("AA")]) == "NotSupported"


async def test_local_pre_authorize_starts_without_waiting_for_the_backend(sim, make_agent):
    asked: list[str] = []
    answered = asyncio.Event()
    release = asyncio.Event()

    async def slow_authorize(charge_point, id_tag):
        asked.append(id_tag)
        answered.set()
        await release.wait()  # the backend is stuck until the test lets it go
        return AuthorizationStatus.ACCEPTED

    async with CentralSystem(host="127.0.0.1", port=0, authorize=slow_authorize) as central:
        central.recorder = Recorder()
        central.add_listener(central.recorder)
        await make_agent(
            central.port, card_reader=False, extra_keys="LocalPreAuthorize = true\nAuthorizeRemoteTxRequests = true"
        )
        await booted(central)
        cp = central.charge_points["CP-TEST-1"]
        assert await send_list(cp, 1, [entry("LISTED", parent="FLEET")]) == "Accepted"
        sim.plug(1)
        await central.recorder.wait_for(status_reached(central, "Preparing"))
        # AuthorizeRemoteTxRequests: the remote start is authorized like a card, and the
        # local list says Accepted, so the session starts without asking the backend.
        assert await cp.async_remote_start_transaction("LISTED", connector_id=1) == "Accepted"
        await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
        await asyncio.wait_for(answered.wait(), 10)  # the StartTransaction reached the stuck backend
        assert not release.is_set()
        release.set()
        started = await central.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
        assert started.transaction.id_tag == "LISTED"
        assert asked == ["LISTED"]  # the StartTransaction only: no Authorize was sent


@pytest.mark.pcsc
async def test_offline_card_start_from_the_local_list_and_a_group_card_stops_it(sim, csms, proxy, make_agent):
    await make_agent(proxy.port)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await send_list(cp, 1, [entry(CARD, parent="FLEET"), entry("0A0B0C0D", parent="FLEET")]) == "Accepted"

    proxy.cut()
    sim.plug(1)
    await sim.tap_card(CARD)
    # LocalAuthorizeOffline (default true): the listed card starts charging with no backend.
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
    assert not csms.recorder.of(TransactionStartedEvent)

    mark = len(csms.recorder.events)
    proxy.restore()
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent), timeout=30, after=mark)
    assert started.transaction.id_tag == CARD
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark)

    # Another card of the same group (parentIdTag FLEET) ends the session (§5.16).
    sim.tap_card("0A0B0C0D")
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=20)
    assert stopped.transaction.transaction_id == started.transaction.transaction_id
    assert stopped.transaction.stop_reason == "Local"
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
