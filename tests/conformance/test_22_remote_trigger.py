"""OCTT module 22, Remote Trigger (OCPP 1.6 §5.17 TriggerMessage)."""

from __future__ import annotations

from tests.conformance.steps import barrier

# requested message -> (connectorId sent, the CALL that must follow, a check of its payload)
TRIGGERS = [
    ("BootNotification", None, "BootNotification", lambda p: p["chargePointVendor"] == "evse-agent"),
    ("DiagnosticsStatusNotification", None, "DiagnosticsStatusNotification", lambda p: p["status"] == "Idle"),
    ("FirmwareStatusNotification", None, "FirmwareStatusNotification", lambda p: p["status"] == "Idle"),
    ("Heartbeat", None, "Heartbeat", lambda p: p == {}),
    ("MeterValues", 1, "MeterValues", lambda p: p["connectorId"] == 1 and p["meterValue"]),
    ("StatusNotification", 1, "StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Available"),
]


async def test_TC_054_trigger_message(station, csms):
    await station.boot()
    for requested, connector_id, action, check in TRIGGERS:
        request = {"requestedMessage": requested}
        if connector_id is not None:
            request["connectorId"] = connector_id
        mark = csms.mark()
        assert await csms.call("TriggerMessage", request) == {"status": "Accepted"}, requested
        sent = await csms.wait_call(action, after=mark)
        assert check(sent), (requested, sent)


async def test_TC_055_trigger_message_rejected(station, csms):
    await station.boot()
    mark = csms.mark()
    for requested in ("MeterValues", "StatusNotification"):  # messages about a connector it does not have
        reply = await csms.call("TriggerMessage", {"requestedMessage": requested, "connectorId": 2})
        assert reply == {"status": "Rejected"}, requested
    await barrier(csms)
    assert not [p for p in csms.calls_of("MeterValues", after=mark) + csms.calls_of("StatusNotification", after=mark)
                if p["connectorId"] == 2]
