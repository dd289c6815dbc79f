"""OCTT module 03, Stop Charging Session (OCPP 1.6 §3.6, §4.10, §5.16, §9.1.36, §9.1.37)."""

from __future__ import annotations

from tests.conformance.conftest import GROUP_1, GROUP_2, VALID, VALID_2
from tests.conformance.steps import charging


async def test_TC_005_1_ev_side_disconnected_stop_transaction_and_unlock(station, csms):
    await station.boot(keys={"MinimumStatusDuration": 0, "StopTransactionOnEVSideDisconnect": True,
                             "UnlockConnectorOnEVSideDisconnect": True})
    transaction_id = await charging(station, csms)
    assert station.lock_locked()
    mark = csms.mark()
    station.sim.unplug_ev(1)  # the EV driver unplugs the cable at the EV; it stays in the socket
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "EVDisconnected" and stop["transactionId"] == transaction_id
    await csms.wait_status("Finishing", after=mark)
    await station.sim.wait_for(lambda s: not s["gpio"][1]["lock_locked"], timeout=5)  # unlocked at once
    mark = csms.mark()
    station.unplug()  # ... and takes the cable out of the charge point
    await csms.wait_status("Available", after=mark)


async def test_TC_005_2_ev_side_disconnected_stop_transaction_keep_locked(station, csms):
    await station.boot(keys={"MinimumStatusDuration": 0, "StopTransactionOnEVSideDisconnect": True,
                             "UnlockConnectorOnEVSideDisconnect": False})
    await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "EVDisconnected"
    await csms.wait_status("Finishing", after=mark)
    assert station.lock_locked()  # the cable stays locked in the socket
    assert await csms.call("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert not station.lock_locked()
    mark = csms.mark()
    station.unplug()
    await csms.wait_status("Available", after=mark)


async def test_TC_005_3_ev_side_disconnected_transaction_goes_on(station, csms):
    await station.boot(keys={"MinimumStatusDuration": 0, "StopTransactionOnEVSideDisconnect": False,
                             "UnlockConnectorOnEVSideDisconnect": False})
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.unplug_ev(1)
    await csms.wait_status("SuspendedEV", after=mark)
    assert not csms.calls_of("StopTransaction")
    await station.no_energy()
    assert await csms.call("RemoteStopTransaction", {"transactionId": transaction_id}) == {"status": "Accepted"}
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "Remote"
    await csms.wait_status("Finishing", after=mark)
    assert station.lock_locked()  # UnlockConnectorOnEVSideDisconnect = false: the cable stays in
    await station.tap(VALID)  # its EV driver comes back for it
    await station.sim.wait_for(lambda s: not s["gpio"][1]["lock_locked"], timeout=5)
    mark = csms.mark()
    station.unplug()
    await csms.wait_status("Available", after=mark)


async def test_TC_068_stop_transaction_with_the_id_tag_that_started_it(station, csms):
    await station.boot()
    transaction_id = await charging(station, csms, VALID)
    mark = csms.mark()
    await station.tap(VALID_2)  # another card: it may not stop this transaction
    await station.tap(VALID)
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["idTag"] == VALID and stop["transactionId"] == transaction_id
    assert stop["reason"] == "Local"
    await csms.wait_status("Finishing", after=mark)
    # One card reader, one connector: the second card was not even asked about.
    assert [p["idTag"] for p in csms.calls_of("Authorize", after=mark)] == []
    assert len(csms.calls_of("StopTransaction", after=mark)) == 1


async def test_TC_069_stop_transaction_with_the_same_parent_id_tag(station, csms):
    await station.boot()
    transaction_id = await charging(station, csms, GROUP_1)
    mark = csms.mark()
    await station.tap(GROUP_2)  # another card of the same group (parentIdTag)
    authorize = await csms.wait_call("Authorize", after=mark)
    assert authorize["idTag"] == GROUP_2
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["idTag"] == GROUP_2 and stop["transactionId"] == transaction_id
    await csms.wait_status("Finishing", after=mark)
