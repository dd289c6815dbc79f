"""OCTT module 16, configuration keys – non-happy flow (OCPP 1.6 §5.3 ChangeConfiguration)."""

from __future__ import annotations


async def test_TC_040_1_configuration_keys_not_supported(station, csms):
    await station.boot()
    reply = await csms.call("ChangeConfiguration", {"key": "ThisKeyDoesNotExist", "value": "1"})
    assert reply == {"status": "NotSupported"}


async def test_TC_040_2_configuration_keys_invalid_value(station, csms):
    await station.boot()
    for key, value in [("MeterValueSampleInterval", "-1"), ("HeartbeatInterval", "often"),
                       ("StopTransactionOnInvalidId", "maybe"), ("MeterValuesSampledData", "Bogus.Measurand")]:
        reply = await csms.call("ChangeConfiguration", {"key": key, "value": value})
        assert reply == {"status": "Rejected"}, key
    config = await csms.call("GetConfiguration", {"key": ["MeterValueSampleInterval"]})
    assert config["configurationKey"][0]["value"] == "60"  # unchanged
