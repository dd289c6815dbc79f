"""OCTT 2.0.1 block P (DataTransfer): a DataTransfer for a vendor the station does not know, and
customData (Part 2 §2.13 CustomDataType: a vendorId and any properties) in what the CSMS sends,
with the strict backend checking every message both ways.

The station registers no vendor DataTransfer handler (AdapterServices.data_transfer is empty),
so every vendorId is unknown to it (P01: UnknownVendorId)."""

from __future__ import annotations

import datetime as dt

from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)

CUSTOM = {"vendorId": "com.example.octt", "colour": "green", "nested": {"level": 2, "list": [1, "two"]}}


async def test_TC_P_01_data_transfer_unknown_vendor_id(station, csms):
    """P01: a vendorId the station has no implementation for: UnknownVendorId, whatever the
    messageId or data (any JSON value in 2.0.1); the station goes on answering."""
    await station.boot()
    assert await csms.call("DataTransfer", {"vendorId": "com.example.octt", "messageId": "Hello",
                                            "data": {"any": ["json", 1]}}) == {"status": "UnknownVendorId"}
    assert await csms.call("DataTransfer", {"vendorId": "org.unknown"}) == {"status": "UnknownVendorId"}
    await csms.barrier()


async def test_TC_P_03_receive_custom_data(station, csms):
    """Part 2 §2.13: customData, with properties of the vendor's own, may be in any message and
    any of its objects: the station takes the requests as without it."""
    await station.boot()
    assert (await csms.call("DataTransfer", {"vendorId": "com.example.octt", "customData": CUSTOM}))["status"] \
        == "UnknownVendorId"
    mark = csms.mark()
    assert (await csms.call("TriggerMessage", {"requestedMessage": "Heartbeat", "customData": CUSTOM}))["status"] \
        == "Accepted"
    await csms.wait_call("Heartbeat", after=mark)
    result = await csms.call("GetVariables", {"customData": CUSTOM, "getVariableData": [{
        "customData": CUSTOM, "component": {"name": "AuthCtrlr", "customData": CUSTOM},
        "variable": {"name": "LocalPreAuthorize", "customData": CUSTOM}}]})
    assert result["getVariableResult"][0]["attributeStatus"] == "Accepted"
    assert await csms.call("GetLocalListVersion", {"customData": CUSTOM}) == {"versionNumber": 0}


async def test_TC_P_04_receive_custom_data_in_charging_profile(station, csms):
    """Part 2 §2.13: customData in a ChargingProfile, its schedule and periods does not make the
    station refuse it: a TxDefaultProfile (K01) with customData at every level is Accepted."""
    await station.boot()
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    schedule = {"id": 41, "chargingRateUnit": "A", "startSchedule": start, "customData": CUSTOM,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10, "customData": CUSTOM}]}
    profile = {"id": 41, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute", "chargingSchedule": [schedule], "customData": CUSTOM}
    reply = await csms.call("SetChargingProfile", {"evseId": 1, "chargingProfile": profile, "customData": CUSTOM})
    assert reply["status"] == "Accepted"
