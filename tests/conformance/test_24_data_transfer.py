"""OCTT module 24, Data Transfer (OCPP 1.6 §5.6 DataTransfer)."""

from __future__ import annotations


async def test_TC_062_data_transfer_to_a_charge_point(station, csms):
    await station.boot()
    reply = await csms.call("DataTransfer", {"vendorId": "com.example.octt", "messageId": "Hello", "data": "{}"})
    assert reply["status"] in ("Rejected", "UnknownMessageId", "UnknownVendorId")
    assert reply["status"] == "UnknownVendorId"  # this vendor is not one the station knows
