"""OCTT 2.0.1 block B (Provisioning): the station registers, is read and set through the device
model, and resets, with the strict backend checking every message both ways."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import pytest

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from tests.conformance.conftest import REMOTE, VALID
from tests.conformance.strict_csms import CallErrorReply, StrictCsms, violations_report
from tests.conformance201.conftest import CP_ID, KNOWN_ID_TOKENS, Station201


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


# ---- helpers ---------------------------------------------------------------------------------

def cv(component: str, variable: str, *, instance: str | None = None, evse: dict | None = None,
       variable_instance: str | None = None) -> tuple[dict, dict]:
    comp: dict = {"name": component}
    if instance is not None:
        comp["instance"] = instance
    if evse is not None:
        comp["evse"] = evse
    var: dict = {"name": variable}
    if variable_instance is not None:
        var["instance"] = variable_instance
    return comp, var


async def get_variables(csms, *items: tuple[dict, dict], attribute: str | None = None) -> list[dict]:
    data = [{"component": c, "variable": v, **({"attributeType": attribute} if attribute else {})} for c, v in items]
    return (await csms.call("GetVariables", {"getVariableData": data}))["getVariableResult"]


async def set_variables(csms, *items: tuple[tuple[dict, dict], str], attribute: str | None = None) -> list[dict]:
    data = [{"component": c, "variable": v, "attributeValue": value,
             **({"attributeType": attribute} if attribute else {})} for (c, v), value in items]
    return (await csms.call("SetVariables", {"setVariableData": data}))["setVariableResult"]


async def report(csms, request_id: int, *, after: int) -> list[dict]:
    """Every reportData of the NotifyReport pages of ``request_id`` (B07.FR.04/10: one requestId,
    seqNo 0, 1, ..., tbc on every page but the last)."""
    def pages():
        found = [p for p in csms.calls_of("NotifyReport", after=after) if p["requestId"] == request_id]
        return found if found and not found[-1]["tbc"] else None
    found = await csms.wait_for(pages, timeout=15)
    assert [p["seqNo"] for p in found] == list(range(len(found)))
    return [item for p in found for item in p.get("reportData", [])]


def named(items: list[dict]) -> set[tuple[str, str]]:
    return {(i["component"]["name"], i["variable"]["name"]) for i in items}


async def charging(station, csms) -> str:
    """Reusable state EnergyTransferStarted (reported: Updated Charging); the transactionId."""
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    await csms.wait_transaction_event("Updated", lambda p: p["transactionInfo"].get("chargingState") == "Charging",
                                      after=mark)
    return started["transactionInfo"]["transactionId"]


async def rebooted(csms, *, after: int, reason: str = "RemoteReset") -> None:
    boot = await csms.wait_call("BootNotification", after=after, timeout=30)
    assert boot["reason"] == reason


def expiry(seconds: int = 600) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


# ---- B01-B03, B30: registration -------------------------------------------------------------

async def test_TC_B_02_cold_boot_pending(station, csms):
    """B02.FR.01/02: Pending: the BootNotification again after the interval; meanwhile nothing
    but BootNotification is sent and the CSMS may read the device model; then Accepted, statuses."""
    csms.knows.boot_status, csms.knows.heartbeat_interval = "Pending", 1
    await station.start()
    await csms.wait_call("BootNotification")
    result = await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold"))  # B02.FR.03: allowed
    assert result[0]["attributeStatus"] == "Accepted"
    await csms.wait_for(lambda: len(csms.calls_of("BootNotification")) >= 2, timeout=10)
    assert {c.action for c in csms.calls} == {"BootNotification"}
    csms.knows.boot_status = "Accepted"
    await csms.wait_connector_status("Available")
    actions = [c.action for c in csms.calls]
    assert set(actions[:actions.index("StatusNotification")]) == {"BootNotification"}


async def test_TC_B_03_cold_boot_rejected(station, csms):
    """B03.FR.01/02: Rejected: nothing until the interval has passed, then BootNotification again."""
    csms.knows.boot_status, csms.knows.heartbeat_interval = "Rejected", 2
    await station.start()
    first = await csms.wait_for_call("BootNotification")
    seen = time.monotonic()
    second = await csms.wait_for_call("BootNotification", after=first.seq + 1, timeout=10)
    assert time.monotonic() - seen >= 1.5  # not before the interval (2 s) has passed
    assert {c.action for c in csms.calls[: second.seq + 1]} == {"BootNotification"}
    csms.knows.boot_status = "Accepted"
    await csms.wait_connector_status("Available")


async def test_TC_B_30_cold_boot_pending_rejected_security_error(station, csms):
    """B02.FR.09: Pending: a RequestStartTransaction gets CALLERROR SecurityError (a GetVariables
    is answered); B03: Rejected: every request gets SecurityError."""
    csms.knows.boot_status, csms.knows.heartbeat_interval = "Pending", 1
    await station.start()
    await csms.wait_for(lambda: len(csms.calls_of("BootNotification")) >= 2)  # the first answer was taken
    with pytest.raises(CallErrorReply) as refused:
        await csms.call("RequestStartTransaction", {"idToken": {"idToken": VALID, "type": "ISO14443"}, "remoteStartId": 1})
    assert refused.value.code == "SecurityError"
    assert (await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold")))[0]["attributeStatus"] == "Accepted"
    await station.stop()
    csms.knows.boot_status = "Rejected"
    mark = csms.mark()
    await station.start()
    await csms.wait_for(lambda: len(csms.calls_of("BootNotification", after=mark)) >= 2)
    with pytest.raises(CallErrorReply) as refused:
        await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold"))
    assert refused.value.code == "SecurityError"
    assert not station.evse()["contactor_closed"]


# ---- B06, B05: GetVariables / SetVariables ---------------------------------------------------

async def test_TC_B_06_get_variables_single_value(station, csms):
    csms.knows.heartbeat_interval = 77
    await station.boot()
    result = await get_variables(csms, cv("OCPPCommCtrlr", "HeartbeatInterval"))
    assert result == [{"attributeStatus": "Accepted", "attributeType": "Actual", "attributeValue": "77",
                       "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]


async def test_TC_B_07_get_variables_multiple_values(station, csms):
    await station.boot()
    result = await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold"), cv("AuthCtrlr", "AuthorizeRemoteStart"))
    assert [(r["variable"]["name"], r["attributeStatus"]) for r in result] == [
        ("OfflineThreshold", "Accepted"), ("AuthorizeRemoteStart", "Accepted")]
    assert result[1]["attributeValue"] in ("true", "false")


async def test_TC_B_09_set_variables_single_value(station, csms):
    """B05.FR.01: Accepted, stored, and in use (heartbeats at the new interval)."""
    await station.boot()
    assert (await set_variables(csms, (cv("OCPPCommCtrlr", "HeartbeatInterval"), "1")))[0]["attributeStatus"] == "Accepted"
    assert (await get_variables(csms, cv("OCPPCommCtrlr", "HeartbeatInterval")))[0]["attributeValue"] == "1"
    mark = csms.mark()
    await csms.wait_call("Heartbeat", after=mark, timeout=5)


async def test_TC_B_10_set_variables_multiple_values(station, csms):
    await station.boot()
    result = await set_variables(csms, (cv("TxCtrlr", "EVConnectionTimeOut"), "45"),
                                 (cv("OCPPCommCtrlr", "OfflineThreshold"), "120"))
    assert [r["attributeStatus"] for r in result] == ["Accepted", "Accepted"]
    values = await get_variables(csms, cv("TxCtrlr", "EVConnectionTimeOut"), cv("OCPPCommCtrlr", "OfflineThreshold"))
    assert [v["attributeValue"] for v in values] == ["45", "120"]


async def test_TC_B_11_set_variables_invalidly_formatted_values(station, csms):
    """B05.FR.?: a value not of the variable's dataType or out of its limits is Rejected, the old
    value stays."""
    await station.boot()
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "HeartbeatInterval"), "soon"),
                                 (cv("TxCtrlr", "StopTxOnInvalidId"), "maybe"))
    assert [r["attributeStatus"] for r in result] == ["Rejected", "Rejected"]
    assert (await get_variables(csms, cv("TxCtrlr", "StopTxOnInvalidId")))[0]["attributeValue"] == "true"


async def test_TC_B_32_get_variables_unknown_component(station, csms):
    result = await _booted_get(station, csms, cv("FluxCapacitorCtrlr", "Enabled"))
    assert result[0]["attributeStatus"] == "UnknownComponent"  # B06.FR.06


async def test_TC_B_33_get_variables_unknown_variable(station, csms):
    result = await _booted_get(station, csms, cv("OCPPCommCtrlr", "FluxLevel"))
    assert result[0]["attributeStatus"] == "UnknownVariable"  # B06.FR.07


async def test_TC_B_34_get_variables_not_supported_attribute_type(station, csms):
    await station.boot()
    result = await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold"), attribute="Target")
    assert result[0]["attributeStatus"] == "NotSupportedAttributeType" and result[0]["attributeType"] == "Target"


async def _booted_get(station, csms, item):
    await station.boot()
    result = await get_variables(csms, item)
    assert "attributeValue" not in result[0]
    return result


async def test_TC_B_35_set_variables_unknown_component(station, csms):
    await station.boot()
    result = await set_variables(csms, (cv("FluxCapacitorCtrlr", "Enabled"), "true"))
    assert result[0]["attributeStatus"] == "UnknownComponent"  # B05.FR.05


async def test_TC_B_36_set_variables_unknown_variable(station, csms):
    await station.boot()
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "FluxLevel"), "1"))
    assert result[0]["attributeStatus"] == "UnknownVariable"  # B05.FR.06


async def test_TC_B_37_set_variables_not_supported_attribute_type(station, csms):
    await station.boot()
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "OfflineThreshold"), "100"), attribute="MinSet")
    assert result[0]["attributeStatus"] == "NotSupportedAttributeType"  # B05.FR.07
    assert (await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold")))[0]["attributeValue"] != "100"


async def test_TC_B_39_set_variables_read_only(station, csms):
    await station.boot()
    result = await set_variables(csms, (cv("ChargingStation", "Model"), "Other"))
    assert result[0]["attributeStatus"] == "Rejected"  # B05.FR.04
    assert (await get_variables(csms, cv("ChargingStation", "Model")))[0]["attributeValue"] == "OCTT wallbox"


# ---- B07, B08: reports -----------------------------------------------------------------------

async def test_TC_B_12_get_base_report_configuration_inventory(station, csms):
    """B07.FR.07: every variable the CSMS can set (a ReadWrite or WriteOnly attribute), no other."""
    await station.boot()
    mark = csms.mark()
    assert await csms.call("GetBaseReport", {"requestId": 12, "reportBase": "ConfigurationInventory"}) == {"status": "Accepted"}
    items = await report(csms, 12, after=mark)
    assert ("OCPPCommCtrlr", "HeartbeatInterval") in named(items)
    assert all(any(a["mutability"] != "ReadOnly" for a in i["variableAttribute"]) for i in items)
    write_only = [a for i in items for a in i["variableAttribute"] if a["mutability"] == "WriteOnly"]
    assert all("value" not in a for a in write_only)  # B07.FR.03 (errata 2.10)


async def test_TC_B_13_get_base_report_full_inventory(station, csms):
    await station.boot()
    mark = csms.mark()
    assert await csms.call("GetBaseReport", {"requestId": 13, "reportBase": "FullInventory"}) == {"status": "Accepted"}
    items = await report(csms, 13, after=mark)
    assert {("ChargingStation", "AvailabilityState"), ("EVSE", "AvailabilityState"), ("Connector", "ConnectorType"),
            ("OCPPCommCtrlr", "HeartbeatInterval"), ("ChargingStation", "Model")} <= named(items)
    assert any(i["variableAttribute"][0]["mutability"] == "ReadOnly" for i in items)


async def test_TC_B_14_get_base_report_summary_inventory(station, csms):
    """B07.FR.09: availability of the station and its EVSEs (and problems): no settings."""
    await station.boot()
    mark = csms.mark()
    assert await csms.call("GetBaseReport", {"requestId": 14, "reportBase": "SummaryInventory"}) == {"status": "Accepted"}
    items = await report(csms, 14, after=mark)
    assert {("ChargingStation", "AvailabilityState"), ("EVSE", "AvailabilityState")} <= named(items)
    assert ("OCPPCommCtrlr", "HeartbeatInterval") not in named(items)


async def test_TC_B_16_get_custom_report_component_criteria(station, csms):
    """B08.FR.05/08: componentCriteria Available: the components reported available."""
    await station.boot()
    mark = csms.mark()
    answer = await csms.call("GetReport", {"requestId": 16, "componentCriteria": ["Available"]})
    assert answer == {"status": "Accepted"}
    items = await report(csms, 16, after=mark)
    assert ("ChargingStation", "AvailabilityState") in named(items)


async def test_TC_B_17_get_custom_report_component_variable(station, csms):
    await station.boot()
    mark = csms.mark()
    c, v = cv("OCPPCommCtrlr", "HeartbeatInterval")
    assert await csms.call("GetReport", {"requestId": 17, "componentVariable": [{"component": c, "variable": v}]}) == {
        "status": "Accepted"}
    items = await report(csms, 17, after=mark)
    assert named(items) == {("OCPPCommCtrlr", "HeartbeatInterval")}  # B08.FR.11


async def test_TC_B_18_get_custom_report_criteria_and_component_variable(station, csms):
    await station.boot()
    mark = csms.mark()
    c, v = cv("AuthCacheCtrlr", "Enabled")
    request = {"requestId": 18, "componentCriteria": ["Enabled"], "componentVariable": [{"component": c, "variable": v}]}
    assert await csms.call("GetReport", request) == {"status": "Accepted"}
    assert named(await report(csms, 18, after=mark)) == {("AuthCacheCtrlr", "Enabled")}


async def test_TC_B_19_get_custom_report_unknown_component(station, csms):
    """B08.FR.15: nothing matches: EmptyResultSet, no NotifyReport."""
    await station.boot()
    mark = csms.mark()
    c, v = cv("FluxCapacitorCtrlr", "Enabled")
    answer = await csms.call("GetReport", {"requestId": 19, "componentCriteria": ["Problem"],
                                           "componentVariable": [{"component": c, "variable": v}]})
    assert answer == {"status": "EmptyResultSet"}
    await csms.barrier()
    assert not csms.calls_of("NotifyReport", after=mark)


async def test_TC_B_53_get_base_report_mandatory_variables_full_inventory(station, csms):
    """Errata 6.2.19: the required standardized variables are there, each with a value (but
    WriteOnly ones and EVSE.Power, which has only its maxLimit), list types with valuesList."""
    await station.boot()
    mark = csms.mark()
    assert await csms.call("GetBaseReport", {"requestId": 53, "reportBase": "FullInventory"}) == {"status": "Accepted"}
    items = await report(csms, 53, after=mark)
    required = {("OCPPCommCtrlr", "NetworkConfigurationPriority"), ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"),
                ("OCPPCommCtrlr", "OfflineThreshold"), ("OCPPCommCtrlr", "MessageAttempts"),
                ("OCPPCommCtrlr", "MessageAttemptInterval"), ("OCPPCommCtrlr", "ResetRetries"),
                ("OCPPCommCtrlr", "FileTransferProtocols"), ("OCPPCommCtrlr", "ActiveNetworkProfile"),
                ("DeviceDataCtrlr", "ItemsPerMessage"), ("DeviceDataCtrlr", "BytesPerMessage"),
                ("AuthCtrlr", "AuthorizeRemoteStart"), ("AuthCtrlr", "LocalAuthorizeOffline"),
                ("AuthCtrlr", "LocalPreAuthorize"), ("TxCtrlr", "EVConnectionTimeOut"), ("TxCtrlr", "TxStartPoint"),
                ("TxCtrlr", "TxStopPoint"), ("TxCtrlr", "StopTxOnInvalidId"), ("TxCtrlr", "StopTxOnEVSideDisconnect"),
                ("SampledDataCtrlr", "TxUpdatedInterval"), ("AlignedDataCtrlr", "Interval"),
                ("SecurityCtrlr", "SecurityProfile"), ("SecurityCtrlr", "OrganizationName"),
                ("ChargingStation", "AvailabilityState"), ("EVSE", "AvailabilityState"), ("EVSE", "Power"),
                ("Connector", "ConnectorType"), ("ClockCtrlr", "DateTime")}
    assert required <= named(items), required - named(items)
    for item in items:
        for attribute in item["variableAttribute"]:
            missing = "value" not in attribute
            exempt = attribute["mutability"] == "WriteOnly" or (item["component"]["name"], item["variable"]["name"]) == (
                "EVSE", "Power")
            assert missing == (attribute["mutability"] == "WriteOnly") or exempt, item
        characteristics = item["variableCharacteristics"]
        if characteristics["dataType"] in ("OptionList", "SequenceList", "MemberList"):
            allowed = characteristics["valuesList"].split(",")
            assert allowed != [""], item
            value = item["variableAttribute"][0].get("value", "")
            if characteristics["dataType"] == "OptionList" and value:
                assert value in allowed, item


async def test_TC_B_54_get_custom_report_component_variable_no_instance(station, csms):
    """B08.FR.25: no component instance given: every instance (the measurand variables, the
    ItemsPerMessage of each message)."""
    await station.boot()
    mark = csms.mark()
    c, v = cv("DeviceDataCtrlr", "ItemsPerMessage")
    assert await csms.call("GetReport", {"requestId": 54, "componentVariable": [{"component": c, "variable": v}]}) == {
        "status": "Accepted"}
    items = await report(csms, 54, after=mark)
    assert {i["variable"].get("instance") for i in items} >= {"GetVariables", "SetVariables", "GetReport"}


async def test_TC_B_55_get_custom_report_component_variable_instance(station, csms):
    """B08.FR.21: a variable instance given: that one only."""
    await station.boot()
    mark = csms.mark()
    c, v = cv("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="GetReport")
    assert await csms.call("GetReport", {"requestId": 55, "componentVariable": [{"component": c, "variable": v}]}) == {
        "status": "Accepted"}
    items = await report(csms, 55, after=mark)
    assert [i["variable"] for i in items] == [{"name": "ItemsPerMessage", "instance": "GetReport"}]


async def test_TC_B_56_get_custom_report_component_variable_no_evse_id(station, csms):
    """B08.FR.23: a component of the EVSE tier without evse: every EVSE's (here the one)."""
    await station.boot()
    mark = csms.mark()
    c, v = cv("EVSE", "AvailabilityState")
    assert await csms.call("GetReport", {"requestId": 56, "componentVariable": [{"component": c, "variable": v}]}) == {
        "status": "Accepted"}
    items = await report(csms, 56, after=mark)
    assert [i["component"] for i in items] == [{"name": "EVSE", "evse": {"id": 1}}]
    assert items[0]["variableAttribute"][0]["value"] == "Available"


# ---- B11, B12: Reset -------------------------------------------------------------------------

async def test_TC_B_20_reset_station_without_transaction_on_idle(station, csms):
    """B11.FR.01/03: Accepted, the station reboots: BootNotification reason RemoteReset."""
    await station.boot()
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    await rebooted(csms, after=mark)
    await csms.wait_connector_status("Available", after=mark)


async def test_TC_B_21_reset_station_with_transaction_on_idle(station, csms):
    """B12.FR.01: Scheduled; the transaction goes on until the EV driver ends it, then the reboot."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Scheduled"}
    await csms.barrier()
    assert not csms.calls_of("BootNotification", after=mark) and station.evse()["contactor_closed"]
    await station.tap(VALID)
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    await rebooted(csms, after=mark)


async def test_TC_B_22_reset_station_with_transaction_immediate(station, csms):
    """B12.FR.04: Accepted; the transaction ends (ResetCommand, ImmediateReset), then the reboot."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "Immediate"}) == {"status": "Accepted"}
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("ResetCommand", "ImmediateReset")
    await station.no_energy()
    await rebooted(csms, after=mark)


async def test_TC_B_23_reset_station_unavailable_persists(station, csms):
    """B11 remark: an EVSE set Unavailable stays so across the reset."""
    await station.boot()
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}) == {
        "status": "Accepted"}
    await csms.wait_connector_status("Unavailable", after=mark)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    await rebooted(csms, after=mark)
    await csms.wait_connector_status("Unavailable", after=mark)
    assert "Available" not in csms.connector_statuses(after=mark)


async def test_TC_B_24_reset_station_reserved_persists(station, csms):
    """Errata 6.2.16: with a reservation the station is not idle (OnIdle: Scheduled); Immediate:
    Accepted, and the EVSE is Reserved again after the reboot."""
    await station.boot()
    mark = csms.mark()
    reserve = {"id": 24, "idToken": {"idToken": VALID, "type": "ISO14443"}, "expiryDateTime": expiry(), "evseId": 1}
    assert await csms.call("ReserveNow", reserve) == {"status": "Accepted"}
    await csms.wait_connector_status("Reserved", after=mark)
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Scheduled"}
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "Immediate"}) == {"status": "Accepted"}
    await rebooted(csms, after=mark)
    await csms.wait_connector_status("Reserved", after=mark)
    assert "Available" not in csms.connector_statuses(after=mark)


async def test_TC_B_25_reset_evse_without_transaction(station, csms):
    """B11.FR.08 (EVSE.AllowReset true): Accepted; only the EVSE: the station does not reboot."""
    await station.boot()
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle", "evseId": 1}) == {"status": "Accepted"}
    await csms.barrier()
    assert not csms.calls_of("BootNotification", after=mark)
    assert await csms.call("Reset", {"type": "Immediate", "evseId": 2}) == {
        "status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}


async def test_TC_B_26_reset_evse_with_transaction_on_idle(station, csms):
    """B12.FR.05: Scheduled; the transaction goes on; the EVSE resets once it ended."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle", "evseId": 1}) == {"status": "Scheduled"}
    await csms.barrier()
    assert not csms.transaction_events(after=mark) and station.evse()["contactor_closed"]
    await station.tap(VALID)
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    await csms.barrier()
    assert not csms.calls_of("BootNotification", after=mark)


async def test_TC_B_27_reset_evse_with_transaction_immediate(station, csms):
    """B12.FR.08: Accepted; the EVSE's transaction ends (ResetCommand, ImmediateReset); no reboot."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "Immediate", "evseId": 1}) == {"status": "Accepted"}
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("ResetCommand", "ImmediateReset")
    await station.no_energy()
    await csms.barrier()
    assert not csms.calls_of("BootNotification", after=mark)


@pytest.fixture
async def two_evse_sim():
    """The simulator with two EVSEs (boards and meters on units 1/2 and 3/4)."""
    data = default_toml()
    data["evse"] = data["evse"][:2]
    data["i2c"] = {**data["i2c"], "nfc": "pn532", "temperature_sensor": "none"}
    config = parse_config(data)
    config = dataclasses.replace(config, vpcd=dataclasses.replace(config.vpcd, port=0, hold_s=0.6))
    simulator = Simulator(config, http=False, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def two_evse_station(two_evse_sim, csms, tmp_path):
    cp = Station201(two_evse_sim, csms, tmp_path)
    yield cp
    await cp.stop()
    print(cp.log()[-6000:])


SECOND_EVSE = """
[[connectors]]
id = 2
max_current_a = 16
poll_interval_s = 0.1
[connectors.board]
driver = "evse-din"
bus = "sim"
unit = 3
min_interval_s = 0.0
[connectors.meter]
driver = "sdm630"
bus = "sim"
unit = 4
"""


async def test_TC_B_41_reset_station_with_multiple_transactions_on_idle(two_evse_station, csms):
    """B12.FR.01: Scheduled while any transaction runs; the reboot comes after the last ended."""
    station = two_evse_station
    mark = csms.mark()
    await station.start(extra=SECOND_EVSE)
    await csms.wait_connector_status("Available", evse=2, after=mark, timeout=30)
    for evse, remote_start_id in ((1, 1), (2, 2)):
        request = {"idToken": {"idToken": REMOTE, "type": "Central"}, "remoteStartId": remote_start_id, "evseId": evse}
        assert await csms.call("RequestStartTransaction", request) == {"status": "Accepted"}
        station.sim.plug(evse)
    await csms.wait_for(lambda: len([e for e in csms.transaction_events(after=mark) if e["eventType"] == "Started"]) == 2)
    started = {e["evse"]["id"]: e["transactionInfo"]["transactionId"]
               for e in csms.transaction_events(after=mark) if e["eventType"] == "Started"}
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Scheduled"}
    assert await csms.call("RequestStopTransaction", {"transactionId": started[1]}) == {"status": "Accepted"}
    await csms.wait_transaction_event("Ended", lambda e: e["transactionInfo"]["transactionId"] == started[1], after=mark)
    await csms.barrier()
    assert not csms.calls_of("BootNotification", after=mark)  # one transaction still runs
    assert await csms.call("RequestStopTransaction", {"transactionId": started[2]}) == {"status": "Accepted"}
    await csms.wait_transaction_event("Ended", lambda e: e["transactionInfo"]["transactionId"] == started[2], after=mark)
    await rebooted(csms, after=mark)


# ---- B09, B10: network connection profiles -----------------------------------------------------

def connection_data(url: str, security_profile: int = 0) -> dict:
    return {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url, "messageTimeout": 30,
            "securityProfile": security_profile, "ocppInterface": "Wired0"}


@pytest.fixture
async def csms2(strict_backend, tmp_path):
    """The test system's second endpoint (errata 6.2.17: it switches the station between two)."""
    backend = StrictCsms(strict_backend, frames_log=tmp_path / "ocpp-frames-2.log")
    backend.knows.id_tokens.update(KNOWN_ID_TOKENS)
    await backend.start(version="2.0.1")
    yield backend
    await backend.stop()
    if failure := violations_report(backend):
        pytest.fail(failure, pytrace=False)


async def migrate(csms, url: str, *, attempts: int | None = None) -> int:
    """Steps 1-6 of TC_B_45-50: the profile into slot 2, NetworkConfigurationPriority "2,1"
    (RebootRequired: B10.FR.01), a Reset; the mark before the Reset."""
    assert await csms.call("SetNetworkProfile", {"configurationSlot": 2, "connectionData": connection_data(url)}) == {
        "status": "Accepted"}
    settings = [(cv("OCPPCommCtrlr", "NetworkConfigurationPriority"), "2,1")]
    if attempts is not None:
        settings.append((cv("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"), str(attempts)))
    result = await set_variables(csms, *settings)
    assert result[0]["attributeStatus"] == "RebootRequired"
    assert all(r["attributeStatus"] == "Accepted" for r in result[1:])
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    return mark


async def active_profile(csms) -> str:
    return (await get_variables(csms, cv("OCPPCommCtrlr", "ActiveNetworkProfile")))[0]["attributeValue"]


async def test_TC_B_43_set_network_profile_rejected(station, csms):
    """B09.FR.05: a slot not in NetworkConfigurationPriority's valuesList; B09.FR.02: content the
    station cannot use (OCPP 1.5, a URL that is no websocket): Rejected, nothing stored."""
    await station.boot()
    answer = await csms.call("SetNetworkProfile", {"configurationSlot": 999, "connectionData": connection_data(csms.url())})
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "InvalidConfSlot"
    bad = {**connection_data(csms.url()), "ocppVersion": "OCPP15"}
    assert (await csms.call("SetNetworkProfile", {"configurationSlot": 2, "connectionData": bad}))["status"] == "Rejected"
    bad = connection_data("http://127.0.0.1:1/ocpp")
    assert (await csms.call("SetNetworkProfile", {"configurationSlot": 2, "connectionData": bad}))["status"] == "Rejected"
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "NetworkConfigurationPriority"), "2,1"))
    assert result[0]["attributeStatus"] == "Rejected"  # B10.FR.02: slot 2 holds no profile


async def test_TC_B_45_migrate_to_new_profile_success(station, csms, csms2):
    """B10: after the reset the station connects with slot 2 (the other endpoint) and boots there
    (B10.FR.04, FR.10); ActiveNetworkProfile says 2."""
    await station.boot()
    assert await active_profile(csms) == "1"
    await migrate(csms, csms2.url())
    boot = await csms2.wait_call("BootNotification", timeout=30)
    assert boot["reason"] == "RemoteReset"
    await csms2.wait_connector_status("Available")
    assert await active_profile(csms2) == "2"


async def test_TC_B_46_migrate_to_new_profile_fallback(station, csms):
    """B10.FR.03/07: slot 2 cannot be reached: after NetworkProfileConnectionAttempts the station
    falls back to slot 1 and boots there."""
    await station.boot()
    mark = await migrate(csms, "ws://127.0.0.1:1/ocpp", attempts=2)
    await rebooted(csms, after=mark)
    assert await active_profile(csms) == "1"


async def test_TC_B_49_migrate_fallback_after_network_profile_connection_attempts(station, csms, csms2):
    """B10.FR.03: NetworkProfileConnectionAttempts (3) refused connections with slot 2, then slot 1."""
    await station.boot()
    await csms2.refuse_connections(True)
    mark = await migrate(csms, csms2.url(), attempts=3)
    await rebooted(csms, after=mark)
    assert len([e for e in csms2.events_of("refused") if e["reason"] == "offline"]) == 3  # one per attempt
    assert not csms2.calls
    assert await active_profile(csms) == "1"


# ---- B04: offline periods ----------------------------------------------------------------------

async def offline_change(station, csms, threshold_s: int, *, plug: bool) -> int:
    await station.boot()
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "OfflineThreshold"), str(threshold_s)))
    assert result[0]["attributeStatus"] == "Accepted"
    await csms.go_offline()
    if plug:
        seen = station.log().count("connector 1: Preparing")
        station.plug()
        async with asyncio.timeout(10):  # the station noticed while offline (no event announces it: look)
            while station.log().count("connector 1: Preparing") == seen:
                await asyncio.sleep(0.05)
    mark = csms.mark()
    await csms.go_online()
    await csms.wait_call("Heartbeat", after=mark)  # reconnected, not rebooted
    return mark


async def test_TC_B_51_status_change_offline_longer_than_threshold(station, csms):
    """B04.FR.01: offline longer than OfflineThreshold: every connector's status after reconnecting
    (the one that changed, and one that did not)."""
    mark = await offline_change(station, csms, 0, plug=True)
    await csms.wait_connector_status("Occupied", after=mark)
    await csms.go_offline()
    mark = csms.mark()
    await csms.go_online()
    await csms.wait_connector_status("Occupied", after=mark)  # unchanged, sent all the same


async def test_TC_B_52_status_change_offline_shorter_than_threshold(station, csms):
    """B04.FR.02: offline shorter than OfflineThreshold: only the statuses that changed meanwhile."""
    mark = await offline_change(station, csms, 3600, plug=True)
    await csms.wait_connector_status("Occupied", after=mark)
    await csms.go_offline()
    mark = csms.mark()
    await csms.go_online()
    await csms.wait_call("Heartbeat", after=mark)
    await csms.barrier()
    await csms.barrier()  # the statuses are sent by their own task, once registered: give it two round trips
    assert not csms.calls_of("StatusNotification", after=mark)


async def test_TC_B_57_network_reconnection_after_connection_loss(station, csms):
    """B10.FR.03 / Part 4 §5.3: the connection drops: the station reconnects by itself (with the
    profile it had), is still registered (a Heartbeat, no BootNotification) and works."""
    await station.boot()
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"), "3"))
    assert result[0]["attributeStatus"] == "Accepted"
    events, mark = len(csms.events), csms.mark()
    await csms.drop_connection()
    await csms.wait_event("disconnected", after=events)
    await csms.connected(after=events)
    await csms.wait_call("Heartbeat", after=mark)
    assert not csms.calls_of("BootNotification", after=mark)
    assert (await get_variables(csms, cv("OCPPCommCtrlr", "OfflineThreshold")))[0]["attributeStatus"] == "Accepted"


async def test_TC_B_47_migrate_fallback_after_attempts_new_csms_root(station, csms, csms2, tmp_path):
    """B10.FR.03/07 with TLS (security profile 2): the new CSMS presents a certificate of a root
    the station does not trust: every attempt fails the TLS handshake; after
    NetworkProfileConnectionAttempts the station is back on slot 1 (its own CSMS root)."""
    from tests.conformance.test_25_security import KEY, Pki, profile_lines, write_key
    from tests.pki import TestCA, key_pem, pem

    pki = Pki(tmp_path / "pki")
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])
    other = TestCA("Another CSMS Root CA").server()
    await csms2.listen(version="2.0.1", tls={"cert": pem(other.cert), "key": key_pem(other.key).decode()},
                       passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki))
    answer = await csms.call("SetNetworkProfile", {"configurationSlot": 2,
                                                   "connectionData": connection_data(csms.url("ws"), 1)})
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "NoSecurityDowngrade"  # B09.FR.04
    mark = await migrate_with(csms, connection_data(csms2.url("wss"), 2), attempts=2)
    await rebooted(csms, after=mark)
    assert not csms2.calls
    assert await active_profile(csms) == "1"
    assert (await get_variables(csms, cv("SecurityCtrlr", "SecurityProfile")))[0]["attributeValue"] == "2"


async def test_TC_B_50_migrate_to_new_profile_success_new_csms_root_new_csms(station, csms, csms2, tmp_path):
    """B10 with TLS (security profile 2), M05: the CSMS installs the root of a new CSMS
    (InstallCertificate CSMSRootCertificate), then moves the station to it (slot 2, priority
    "2,1", a Reset): the station trusts the new CSMS's certificate and boots there (B10.FR.04)."""
    from tests.conformance.test_25_security import KEY, Pki, profile_lines, write_key
    from tests.pki import TestCA, key_pem, pem

    pki = Pki(tmp_path / "pki")
    await csms.listen(version="2.0.1", tls=pki.tls(), passwords=[KEY])
    new_root = TestCA("New CSMS Root CA")
    new_server = new_root.server()
    await csms2.listen(version="2.0.1", tls={"cert": pem(new_server.cert), "key": key_pem(new_server.key).decode()},
                       passwords=[KEY])
    write_key(station)
    await station.boot(ocpp=profile_lines(2, pki))
    answer = await csms.call("InstallCertificate", {"certificateType": "CSMSRootCertificate",
                                                    "certificate": new_root.pem})
    assert answer["status"] == "Accepted"
    await migrate_with(csms, connection_data(csms2.url("wss"), 2), attempts=2)
    boot = await csms2.wait_call("BootNotification", timeout=30)
    assert boot["reason"] == "RemoteReset"
    await csms2.wait_connector_status("Available")
    assert await active_profile(csms2) == "2"
    assert (await get_variables(csms2, cv("SecurityCtrlr", "SecurityProfile")))[0]["attributeValue"] == "2"


async def migrate_with(csms, data: dict, *, attempts: int) -> int:
    assert await csms.call("SetNetworkProfile", {"configurationSlot": 2, "connectionData": data}) == {"status": "Accepted"}
    result = await set_variables(csms, (cv("OCPPCommCtrlr", "NetworkConfigurationPriority"), "2,1"),
                                 (cv("OCPPCommCtrlr", "NetworkProfileConnectionAttempts"), str(attempts)))
    assert [r["attributeStatus"] for r in result] == ["RebootRequired", "Accepted"]
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    return mark
