"""OCTT 2.0.1 block B (Provisioning): the station registers, is read and set through the device
model, and resets, with the strict backend checking every message both ways."""

from __future__ import annotations

from tests.conformance201.conftest import CP_ID


async def test_TC_B_01_cold_boot_accepted(station, csms):
    """B01: BootNotification (reason PowerUp at a first start) → Accepted; every connector's
    StatusNotification follows; the Heartbeat interval the backend returned is used."""
    csms.knows.heartbeat_interval = 2
    await station.start()
    boot = await csms.wait_call("BootNotification")
    assert boot["reason"] == "PowerUp"
    assert boot["chargingStation"] == {"model": "OCTT wallbox", "vendorName": "evse-agent",
                                       "serialNumber": "OCTT-0001", "firmwareVersion": boot["chargingStation"]["firmwareVersion"]}
    status = await csms.wait_call("StatusNotification")
    assert (status["evseId"], status["connectorId"], status["connectorStatus"]) == (1, 1, "Available")
    await csms.wait_call("Heartbeat")
    assert csms.events_of("connected")[-1]["identity"] == CP_ID
