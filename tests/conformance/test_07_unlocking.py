"""OCTT module 07, Unlocking (OCPP 1.6 §5.18 UnlockConnector).

"Not fixed cable": a socket outlet with the simulator's motor cable lock on the GPIO
([connectors.gpio] lock_direction / lock_motor / lock_feedback). "Fixed cable": the same
station built with its cable attached, so there is no lock to open.
"""

from __future__ import annotations

from tests.conformance.steps import charging


async def test_TC_017_1_unlock_connector_no_session_not_fixed_cable(station, csms):
    await station.boot(lock=True)
    assert await csms.call("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    assert not station.lock_locked()


async def test_TC_017_2_unlock_connector_no_session_fixed_cable(station, csms):
    await station.boot(lock=False)
    assert await csms.call("UnlockConnector", {"connectorId": 1}) == {"status": "NotSupported"}


async def test_TC_018_1_unlock_connector_with_session_not_fixed_cable(station, csms):
    await station.boot(lock=True)
    transaction_id = await charging(station, csms)
    assert station.lock_locked()
    mark = csms.mark()
    assert await csms.call("UnlockConnector", {"connectorId": 1}) == {"status": "Unlocked"}
    state = station.sim.state()
    assert not state["gpio"][1]["lock_locked"] and not state["gpio"][1]["coil"]
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "UnlockCommand" and stop["transactionId"] == transaction_id
    await csms.wait_status("Finishing", after=mark)
    mark = csms.mark()
    station.unplug()
    await csms.wait_status("Available", after=mark)


async def test_TC_018_2_unlock_connector_with_session_fixed_cable(station, csms):
    await station.boot(lock=False)
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("UnlockConnector", {"connectorId": 1}) == {"status": "NotSupported"}
    # §5.18: a transaction on the connector is finished first, as for any stop.
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "UnlockCommand" and stop["transactionId"] == transaction_id
    await csms.wait_status("Finishing", after=mark)
