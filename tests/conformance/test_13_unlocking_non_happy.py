"""OCTT module 13, Unlocking – non-happy flow (OCPP 1.6 §5.18 UnlockConnector)."""

from __future__ import annotations

from tests.conformance.steps import charging


async def test_TC_030_unlock_connector_unlock_failure(station, csms):
    await station.boot(lock=True)
    await charging(station, csms)
    assert station.lock_locked()
    station.sim.gpio.set(1, "lock_jammed", True)  # the lock pin no longer moves
    mark = csms.mark()
    assert await csms.call("UnlockConnector", {"connectorId": 1}) == {"status": "UnlockFailed"}
    stop = await csms.wait_call("StopTransaction", after=mark)  # §5.18: the transaction ends first
    assert stop["reason"] == "UnlockCommand"
    assert station.lock_locked() and not station.evse()["contactor_closed"]


async def test_TC_031_unlock_connector_unknown_connector(station, csms):
    await station.boot()
    assert await csms.call("UnlockConnector", {"connectorId": 2}) == {"status": "NotSupported"}
