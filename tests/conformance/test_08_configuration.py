"""OCTT module 08, Configuration (OCPP 1.6 §5.8 GetConfiguration, §5.3 ChangeConfiguration, §9.1)."""

from __future__ import annotations

# §9.1 Core profile keys a charge point SHALL (or does here) report, with their accessibility.
CORE_KEYS = {
    "AuthorizeRemoteTxRequests": None,  # R or RW: the spec lets the charge point choose
    "ClockAlignedDataInterval": False,
    "ConnectionTimeOut": False,
    "ConnectorPhaseRotation": False,
    "GetConfigurationMaxKeys": True,
    "HeartbeatInterval": False,
    "LocalAuthorizeOffline": False,
    "LocalPreAuthorize": False,
    "MeterValuesAlignedData": False,
    "MeterValuesSampledData": False,
    "MeterValueSampleInterval": False,
    "NumberOfConnectors": True,
    "ResetRetries": False,
    "StopTransactionOnEVSideDisconnect": False,
    "StopTransactionOnInvalidId": False,
    "StopTxnAlignedData": False,
    "StopTxnSampledData": False,
    "SupportedFeatureProfiles": True,
    "TransactionMessageAttempts": False,
    "TransactionMessageRetryInterval": False,
    "UnlockConnectorOnEVSideDisconnect": False,
}


async def test_TC_019_retrieve_configuration(station, csms):
    await station.boot()
    everything = await csms.call("GetConfiguration", {})
    entries = {e["key"]: e for e in everything["configurationKey"]}
    for key, readonly in CORE_KEYS.items():
        assert key in entries, key
        if readonly is not None:
            assert entries[key]["readonly"] is readonly, key
    assert entries["NumberOfConnectors"]["value"] == "1"
    assert "unknownKey" not in everything
    some = await csms.call("GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert [e["key"] for e in some["configurationKey"]] == ["HeartbeatInterval"]
    assert some["unknownKey"] == ["NoSuchKey"]


async def test_TC_021_change_set_configuration(station, csms):
    await station.boot()
    changes = {
        "MeterValueSampleInterval": "17",
        "ClockAlignedDataInterval": "900",
        "ConnectionTimeOut": "45",
        "MeterValuesSampledData": "Energy.Active.Import.Register,Current.Import",
        "StopTransactionOnInvalidId": "false",
        "HeartbeatInterval": "120",
    }
    for key, value in changes.items():
        assert await csms.call("ChangeConfiguration", {"key": key, "value": value}) == {"status": "Accepted"}, key
    read = await csms.call("GetConfiguration", {"key": list(changes)})
    assert {e["key"]: e["value"] for e in read["configurationKey"]} == changes
    # A new HeartbeatInterval is used from now on (§9.1.11).
    mark = csms.mark()
    assert await csms.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "1"}) == {"status": "Accepted"}
    await csms.wait_call("Heartbeat", after=mark, timeout=5)
