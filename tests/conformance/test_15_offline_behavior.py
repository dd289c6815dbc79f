"""OCTT module 15, Offline Behavior (OCPP 1.6 §3.5.4 offline authorization, §4.8/§4.10 queued
transaction messages, §9.1.20-21 StopTransactionOnInvalidId).

Offline: the backend drops the connection and refuses new ones until it is "online" again."""

from __future__ import annotations

from tests.conformance.conftest import INVALID, VALID
from tests.conformance.steps import charging, confirmed

OFFLINE_AUTH = {"LocalAuthorizeOffline": True, "LocalAuthListEnabled": True, "AuthorizationCacheEnabled": True,
                "AllowOfflineTxForUnknownId": False}


async def put_in_local_list(csms, *tags: str) -> None:
    """Memory state IdTagLocalAuthList: the backend sends its list (§5.15)."""
    version = (await csms.call("GetLocalListVersion", {}))["listVersion"] + 1
    reply = await csms.call("SendLocalList", {
        "listVersion": version, "updateType": "Full",
        "localAuthorizationList": [{"idTag": tag, "idTagInfo": {"status": "Accepted"}} for tag in tags]})
    assert reply == {"status": "Accepted"}


async def test_TC_036_connection_loss_during_transaction(station, csms):
    await station.boot(keys={"MeterValueSampleInterval": 1})
    transaction_id = await charging(station, csms)
    await confirmed(csms, transaction_id)
    await csms.go_offline()
    energy = station.evse()["energy_wh"]
    await station.sim.wait_for(lambda s: s["evses"][0]["energy_wh"] > energy + 20, timeout=15)  # charging goes on
    assert station.evse()["contactor_closed"]
    mark = csms.mark()
    await csms.go_online()
    # The MeterValues taken meanwhile arrive, in order, with the backend's transactionId.
    def delivered():
        sent = [p for p in csms.calls_of("MeterValues", after=mark) if p.get("transactionId") == transaction_id]
        return sent if len(sent) >= 2 else None

    queued = await csms.wait_for(delivered)
    assert queued[0]["meterValue"][0]["timestamp"] < queued[1]["meterValue"][0]["timestamp"]
    assert not csms.calls_of("BootNotification", after=mark)  # a reconnect is not a reboot
    assert await csms.call("RemoteStopTransaction", {"transactionId": transaction_id}) == {"status": "Accepted"}
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["transactionId"] == transaction_id and stop["reason"] == "Remote"


async def test_TC_037_1_offline_start_transaction_valid_id_tag(station, csms):
    await station.boot(keys=OFFLINE_AUTH)
    await put_in_local_list(csms, VALID)
    await csms.go_offline()
    station.plug()
    await station.tap(VALID)
    await station.energy_flows()  # accepted offline by the local list
    mark = csms.mark()
    await csms.go_online()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)


async def offline_start_with_an_unknown_id_tag(station, csms, stop_on_invalid: bool) -> int:
    await station.boot(keys={**OFFLINE_AUTH, "AllowOfflineTxForUnknownId": True,
                             "StopTransactionOnInvalidId": stop_on_invalid})
    await csms.go_offline()
    station.plug()
    await station.tap(INVALID)  # not known locally: AllowOfflineTxForUnknownId lets it start
    await station.energy_flows()
    mark = csms.mark()
    await csms.go_online()
    start = await csms.wait_call("StartTransaction", after=mark)  # answered: idTagInfo Invalid
    assert start["idTag"] == INVALID
    return mark


async def test_TC_037_2_offline_start_invalid_id_tag_stop_transaction_on_invalid_id_false(station, csms):
    mark = await offline_start_with_an_unknown_id_tag(station, csms, stop_on_invalid=False)
    await csms.wait_status("SuspendedEVSE", after=mark)  # §9.1.21: no more energy, the transaction stays
    await station.no_energy()
    assert not csms.calls_of("StopTransaction", after=mark)
    station.unplug()
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "EVDisconnected"


async def test_TC_037_3_offline_start_invalid_id_tag_stop_transaction_on_invalid_id_true(station, csms):
    mark = await offline_start_with_an_unknown_id_tag(station, csms, stop_on_invalid=True)
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "DeAuthorized"
    await csms.wait_status("Finishing", after=mark)
    await station.no_energy()


async def test_TC_038_offline_stop_transaction(station, csms):
    await station.boot(keys={**OFFLINE_AUTH, "MeterValueSampleInterval": 1})
    transaction_id = await charging(station, csms)
    await confirmed(csms, transaction_id)
    await csms.go_offline()
    await station.tap(VALID)  # the EV driver stops while the backend is unreachable
    await station.no_energy()
    mark = csms.mark()
    await csms.go_online()
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["transactionId"] == transaction_id and stop.get("reason", "Local") == "Local"
    await csms.wait_status("Finishing", after=mark)


async def test_TC_039_offline_transaction(station, csms):
    await station.boot(keys=OFFLINE_AUTH)
    await put_in_local_list(csms, VALID)
    await csms.go_offline()
    station.plug()
    await station.tap(VALID)
    await station.energy_flows()
    await station.tap(VALID)
    await station.no_energy()
    station.unplug()
    mark = csms.mark()
    await csms.go_online()
    start = await csms.wait_call("StartTransaction", after=mark)
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert start["idTag"] == VALID and stop.get("reason", "Local") == "Local"
    assert stop["transactionId"] == csms.transaction_id(after=mark)
    assert stop["meterStop"] >= start["meterStart"]
