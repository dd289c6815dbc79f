"""OCTT module 17, Fault Behavior (OCPP 1.6 §4.9 StatusNotification errorCode, §7.6)."""

from __future__ import annotations

from tests.conformance.steps import charging


async def test_TC_041_fault_behavior(station, csms):
    await station.boot()
    # An idle connector: Faulted with the error code while the fault lasts, then Available.
    mark = csms.mark()
    station.sim.inject_fault(1, "rcd")
    faulted = await csms.wait_status("Faulted", after=mark, error_code="GroundFailure")
    assert faulted["vendorErrorCode"] == "E-RCD"
    mark = csms.mark()
    station.sim.clear_fault(1)
    await csms.wait_status("Available", after=mark)
    # During a transaction: the energy stops, the transaction ends, the connector is Faulted.
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    station.sim.inject_fault(1, "rcd")
    await csms.wait_status("Faulted", after=mark, error_code="GroundFailure")
    stop = await csms.wait_call("StopTransaction", after=mark)
    assert stop["transactionId"] == transaction_id and stop["reason"] == "Other"
    await station.no_energy()
    mark = csms.mark()
    station.sim.clear_fault(1)
    await csms.wait_status("Finishing", after=mark)  # the EV is still plugged in
