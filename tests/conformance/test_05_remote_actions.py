"""OCTT module 05, Remote Actions (OCPP 1.6 §5.11 RemoteStartTransaction, §5.12 RemoteStopTransaction)."""

from __future__ import annotations

import time

from tests.conformance.conftest import VALID
from tests.conformance.steps import barrier, charging


async def test_TC_010_remote_start_cable_plugged_in_first(station, csms):
    await station.boot()
    config = await csms.call("GetConfiguration", {"key": ["AuthorizeRemoteTxRequests"]})
    assert config["configurationKey"][0]["key"] == "AuthorizeRemoteTxRequests"
    authorize_first = config["configurationKey"][0]["value"] == "true"
    mark = csms.mark()
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID and start["connectorId"] == 1
    assert bool(csms.calls_of("Authorize", after=mark)) == authorize_first
    await csms.wait_status("Charging", after=mark)
    await station.energy_flows()


async def test_TC_011_1_remote_start_charging_session_remote_start_first(station, csms):
    await station.boot(keys={"AuthorizeRemoteTxRequests": True})
    config = await csms.call("GetConfiguration", {"key": ["AuthorizeRemoteTxRequests"]})
    assert config["configurationKey"][0] == {"key": "AuthorizeRemoteTxRequests", "readonly": False, "value": "true"}
    mark = csms.mark()
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    assert await csms.wait_call("Authorize", after=mark) == {"idTag": VALID}
    await csms.wait_status("Preparing", after=mark)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)


async def test_TC_011_2_remote_start_charging_session_time_out(station, csms):
    await station.boot(keys={"ConnectionTimeOut": 2})
    mark = csms.mark()
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    accepted_at = time.monotonic()
    await csms.wait_status("Preparing", after=mark)
    await csms.wait_status("Available", after=mark, timeout=10)
    assert time.monotonic() - accepted_at >= 1.5
    await barrier(csms)
    assert not csms.calls_of("StartTransaction")


async def test_TC_012_remote_stop_charging_session(station, csms):
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("RemoteStopTransaction", {"transactionId": transaction_id}) == {"status": "Accepted"}
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["reason"] == "Remote" and stop["transactionId"] == transaction_id
    await csms.wait_status("Finishing", after=mark)
    await station.no_energy()
