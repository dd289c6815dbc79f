"""GetVariables, SetVariables, GetBaseReport, GetReport and NotifyReport paging (Part 2 B05–B08),
every payload checked against the official OCPP 2.0.1 JSON schemas of the ``ocpp`` package."""

import json
import uuid

import pytest
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import FormatViolationError, OccurrenceConstraintViolationError
from ocpp.messages import Call

from agent.ocpp201 import reports
from agent.ocpp201.device_model import Component, Variable
from agent.ocpp201.station_model import Capabilities
from tests.ocpp201.helpers import (
    LiveTable,
    MemorySettings,
    assert_valid,
    full_station,
    model,
    request,
)

GENERATED_AT = "2026-12-04T12:00:00Z"


def cv(component, variable=None, **where):
    """A componentVariable / GetVariableData body in camelCase, as a CSMS writes it."""
    comp = {"name": component}
    if "instance" in where:
        comp["instance"] = where["instance"]
    if "evse" in where:
        comp["evse"] = {"id": where["evse"]}
        if "connector" in where:
            comp["evse"]["connectorId"] = where["connector"]
    out = {"component": comp}
    if variable is not None:
        name, _, instance = variable.partition("[")
        out["variable"] = {"name": name, **({"instance": instance.rstrip("]")} if instance else {})}
    return out


def reported(data):
    """(component, evse, connector, variable) of every reportData item."""
    out = []
    for item in data:
        evse = item["component"].get("evse", {})
        var = item["variable"]
        out.append((item["component"]["name"] + (f"[{item['component']['instance']}]" if "instance" in item["component"] else ""),
                    evse.get("id"), evse.get("connector_id"),
                    var["name"] + (f"[{var['instance']}]" if "instance" in var else "")))
    return out


# ---- B06 -------------------------------------------------------------------------------------


def test_get_variables_answers_every_item_with_its_status():
    live = LiveTable({("Connector", 1, 1, "AvailabilityState"): "Faulted"})
    m = model(live=live)
    payload = request("GetVariablesRequest", {"getVariableData": [
        {**cv("OCPPCommCtrlr", "HeartbeatInterval")},
        {**cv("Connector", "AvailabilityState", evse=1, connector=1), "attributeType": "Actual"},
        {**cv("SecurityCtrlr", "BasicAuthPassword")},
        {**cv("Vacuum", "Enabled")},
        {**cv("OCPPCommCtrlr", "Mood")},
        {**cv("OCPPCommCtrlr", "HeartbeatInterval"), "attributeType": "Target"},
        {**cv("TemperatureSensor", "Temperature"), "attributeType": "MaxSet"},
        {**cv("OCPPCommCtrlr", "MessageAttempts[TransactionEvent]")},
    ]})
    response = reports.get_variables(m, payload)
    assert_valid("GetVariablesResponse", response)
    results = response["get_variable_result"]
    assert len(results) == 8  # B06.FR.01
    assert [(r["attribute_status"], r.get("attribute_value")) for r in results] == [
        ("Accepted", "300"), ("Accepted", "Faulted"), ("Rejected", None), ("UnknownComponent", None),
        ("UnknownVariable", None), ("NotSupportedAttributeType", None), ("Accepted", "60.0"), ("Accepted", "3")]
    assert [r["attribute_type"] for r in results] == ["Actual", "Actual", "Actual", "Actual", "Actual", "Target",
                                                      "MaxSet", "Actual"]  # B06.FR.03, FR.11
    assert results[1]["component"] == {"name": "Connector", "evse": {"id": 1, "connector_id": 1}}  # B06.FR.02
    assert results[2]["attribute_status_info"]["reason_code"] == "WriteOnly"


def test_too_many_get_variables_items_is_an_occurrence_constraint_violation():
    m = model()
    items = [cv("OCPPCommCtrlr", "HeartbeatInterval")] * 65  # ItemsPerMessage[GetVariables] = 64
    with pytest.raises(OccurrenceConstraintViolationError):  # B06.FR.16
        reports.get_variables(m, request("GetVariablesRequest", {"getVariableData": items}))
    assert len(reports.get_variables(m, request("GetVariablesRequest", {"getVariableData": items[:64]}))
               ["get_variable_result"]) == 64


def test_a_get_variables_message_over_bytes_per_message_is_a_format_violation():
    m = model()
    payload = request("GetVariablesRequest", {"getVariableData": [cv("OCPPCommCtrlr", "HeartbeatInterval")]})
    with pytest.raises(FormatViolationError):  # B06.FR.17
        reports.get_variables(m, payload, message_bytes=65537)
    reports.get_variables(m, payload, message_bytes=65536)


# ---- B05 -------------------------------------------------------------------------------------


def test_set_variables_answers_every_item_with_its_status_and_applies_the_accepted():
    m = model(slot_configured=lambda slot: True)
    payload = request("SetVariablesRequest", {"setVariableData": [
        {**cv("OCPPCommCtrlr", "HeartbeatInterval"), "attributeValue": "600"},
        {**cv("OCPPCommCtrlr", "NetworkConfigurationPriority"), "attributeValue": "2,1"},
        {**cv("OCPPCommCtrlr", "FileTransferProtocols"), "attributeValue": "FTP"},
        {**cv("OCPPCommCtrlr", "HeartbeatInterval"), "attributeValue": "often"},
        {**cv("Vacuum", "Enabled"), "attributeValue": "true"},
        {**cv("TxCtrlr", "Nope"), "attributeValue": "true"},
        {**cv("TxCtrlr", "EVConnectionTimeOut"), "attributeValue": "30", "attributeType": "MinSet"},
        {**cv("SecurityCtrlr", "BasicAuthPassword"), "attributeValue": "correct-horse-battery-staple"},
    ]})
    response = reports.set_variables(m, payload)
    assert_valid("SetVariablesResponse", response)
    results = response["set_variable_result"]
    assert [r["attribute_status"] for r in results] == [
        "Accepted", "RebootRequired", "Rejected", "Rejected", "UnknownComponent", "UnknownVariable",
        "NotSupportedAttributeType", "Accepted"]
    assert [r.get("attribute_status_info", {}).get("reason_code") for r in results] == [
        None, None, "ReadOnly", "InvalidValue", None, None, None, None]
    assert results[6]["attribute_type"] == "MinSet" and results[0]["attribute_type"] == "Actual"  # B05.FR.03, FR.12
    assert m.get(Component("OCPPCommCtrlr"), Variable("HeartbeatInterval")).value == "600"


def test_too_many_set_variables_items_are_all_rejected_and_none_applied():
    settings = MemorySettings()
    m = model(settings=settings)
    items = [{**cv("OCPPCommCtrlr", "HeartbeatInterval"), "attributeValue": str(100 + n)} for n in range(33)]
    response = reports.set_variables(m, request("SetVariablesRequest", {"setVariableData": items}))
    assert_valid("SetVariablesResponse", response)
    assert len(response["set_variable_result"]) == 33  # B05.FR.01
    assert {r["attribute_status"] for r in response["set_variable_result"]} == {"Rejected"}
    assert {r["attribute_status_info"]["reason_code"] for r in response["set_variable_result"]} == {"TooManyElements"}
    assert settings["heartbeat_interval_s"] == 300
    big = reports.set_variables(m, request("SetVariablesRequest", {"setVariableData": items[:1]}), message_bytes=70000)
    assert big["set_variable_result"][0]["attribute_status_info"]["reason_code"] == "TooLargeElement"
    assert settings["heartbeat_interval_s"] == 300


def test_values_longer_than_configuration_value_size_are_rejected():
    m = model(capabilities=Capabilities(configuration_value_size=8))
    payload = request("SetVariablesRequest", {"setVariableData": [
        {**cv("AuthCtrlr", "MasterPassGroupId"), "attributeValue": "police-1"},
        {**cv("AuthCtrlr", "MasterPassGroupId"), "attributeValue": "police-12"}]})
    results = reports.set_variables(m, payload)["set_variable_result"]
    assert [r["attribute_status"] for r in results] == ["Accepted", "Rejected"]
    assert results[1]["attribute_status_info"]["reason_code"] == "TooLargeElement"
    assert m.get(Component("AuthCtrlr"), Variable("MasterPassGroupId")).value == "police-1"


def test_values_longer_than_reporting_value_size_are_cut():
    m = model(capabilities=Capabilities(reporting_value_size=5))
    m.set(Component("TariffCostCtrlr"), Variable("TariffFallbackMessage"), "0.30 EUR/kWh")
    payload = request("GetVariablesRequest", {"getVariableData": [cv("TariffCostCtrlr", "TariffFallbackMessage")]})
    assert reports.get_variables(m, payload)["get_variable_result"][0]["attribute_value"] == "0.30 "
    item = reports.custom_report(m, None, [{"component": {"name": "TariffCostCtrlr"},
                                            "variable": {"name": "TariffFallbackMessage"}}])[0]
    assert item["variable_attribute"][0]["value"] == "0.30 "


# ---- B07 -------------------------------------------------------------------------------------


def test_full_inventory_reports_every_variable_with_its_characteristics_and_attributes():
    m = model(live=LiveTable({("ClockCtrlr", None, None, "DateTime"): None}))
    response, data = reports.get_base_report(m, request("GetBaseReportRequest",
                                                        {"requestId": 7, "reportBase": "FullInventory"}))
    assert response == {"status": "Accepted"}
    assert_valid("GetBaseReportResponse", response)
    assert len(data) == len(m.definitions())
    assert all("variable_characteristics" in item for item in data)  # B07.FR.08
    temperature = next(i for i in data if i["variable"]["name"] == "Temperature")
    assert [a["type"] for a in temperature["variable_attribute"]] == ["Actual", "MaxSet"]  # B07.FR.11
    for item in data:
        for attribute in item["variable_attribute"]:
            assert ("value" in attribute) is (attribute["mutability"] != "WriteOnly")  # B07.FR.03 (errata 2.10)


def test_configuration_inventory_is_what_the_operator_can_set():
    m = model()
    _, data = reports.get_base_report(m, {"request_id": 1, "report_base": "ConfigurationInventory"})
    assert data and all(any(a["mutability"] != "ReadOnly" for a in i["variable_attribute"]) for i in data)  # B07.FR.07
    names = {(c, v) for c, _, _, v in reported(data)}
    assert ("SecurityCtrlr", "BasicAuthPassword") in names and ("OCPPCommCtrlr", "HeartbeatInterval") in names
    assert ("OCPPCommCtrlr", "FileTransferProtocols") not in names
    writable = sum(1 for d in m.definitions() if d.writable)
    assert len(data) == writable


def test_summary_inventory_is_availability_and_what_is_wrong():
    live = LiveTable({
        ("ChargingStation", None, None, "AvailabilityState"): "Available",
        ("EVSE", 1, None, "AvailabilityState"): "Occupied",
        ("Connector", 1, 1, "AvailabilityState"): "Occupied",  # same as its EVSE: left out
        ("EVSE", 2, None, "AvailabilityState"): "Available",
        ("Connector", 2, 1, "AvailabilityState"): "Unavailable",
        ("FiscalMetering", 1, None, "Problem"): True,
        ("RCD", 1, None, "Tripped"): True,
        ("Controller", None, None, "Problem"): False,
    })
    _, data = reports.get_base_report(model(live=live), {"request_id": 2, "report_base": "SummaryInventory"})
    assert reported(data) == [
        ("ChargingStation", None, None, "AvailabilityState"), ("EVSE", 1, None, "AvailabilityState"),
        ("EVSE", 2, None, "AvailabilityState"), ("Connector", 2, 1, "AvailabilityState"),
        ("FiscalMetering", 1, None, "Problem"), ("RCD", 1, None, "Tripped"),
    ]  # B07.FR.09; the Controller without a problem is not in it


def test_an_unknown_report_base_is_not_supported():
    assert reports.get_base_report(model(), {"request_id": 3, "report_base": "EverythingInventory"}) == \
        ({"status": "NotSupported"}, None)  # B07.FR.02, FR.05


# ---- B08 -------------------------------------------------------------------------------------


def custom(m, criteria=None, variables=None):
    body = {"requestId": 9}
    if criteria:
        body["componentCriteria"] = criteria
    if variables:
        body["componentVariable"] = variables
    response, data = reports.get_report(m, request("GetReportRequest", body))
    assert_valid("GetReportResponse", response)
    return response["status"], reported(data or [])


def test_component_variable_selects_components_and_variables():
    m = model()
    # B08.FR.20: no variable → every variable of the component
    status, items = custom(m, variables=[cv("ReservationCtrlr")])
    assert status == "Accepted"
    assert items == [("ReservationCtrlr", None, None, v) for v in ("Available", "Enabled", "NonEvseSpecific")]
    # B08.FR.21: a variable without instance → every instance
    _, items = custom(m, variables=[cv("TariffCostCtrlr", "Enabled")])
    assert [v for *_, v in items] == ["Enabled[Tariff]", "Enabled[Cost]"]
    _, items = custom(m, variables=[cv("TariffCostCtrlr", "Enabled[Cost]")])
    assert [v for *_, v in items] == ["Enabled[Cost]"]
    # B08.FR.23: no evse → every tier; B08.FR.22: evse without connector → every connector on it
    _, items = custom(m, variables=[cv("Connector", "AvailabilityState")])
    assert [(e, c) for _, e, c, _ in items] == [(1, 1), (2, 1)]
    _, items = custom(m, variables=[cv("Connector", "ConnectorType", evse=2)])
    assert [(e, c) for _, e, c, _ in items] == [(2, 1)]
    _, items = custom(m, variables=[cv("EVSE", "Power", evse=1)])
    assert items == [("EVSE", 1, None, "Power")]
    # B08.FR.25: no component instance → every instance
    _, items = custom(m, variables=[cv("Display", "Count", evse=1)])
    assert [v for *_, v in items] == ["Count[WidthInChars]", "Count[HeightInChars]"]
    # names are case-insensitive
    _, items = custom(m, variables=[cv("ocppcommctrlr", "heartbeatinterval")])
    assert items == [("OCPPCommCtrlr", None, None, "HeartbeatInterval")]


def test_component_criteria():
    live = LiveTable({("FiscalMetering", 1, None, "Problem"): True, ("FiscalMetering", 1, None, "Available"): True,
                      ("TokenReader", None, None, "Available"): False,
                      ("PowerContactor", 1, None, "Active"): False, ("TemperatureSensor", None, None, "Active"): True})
    m = model(live=live)
    # B08.FR.10: Problem true only
    status, items = custom(m, criteria=["Problem"])
    assert status == "Accepted"
    assert {c for c, *_ in items} == {"FiscalMetering"}
    # B08.FR.08: Available true or no Available variable: the card reader that is not there is left out
    _, items = custom(m, criteria=["Available"])
    components = {c for c, *_ in items}
    assert "TokenReader" not in components and {"OCPPCommCtrlr", "FiscalMetering", "ChargingStation"} <= components
    # B08.FR.07: Active true or absent: an open contactor is left out, a hot sensor is in
    _, items = custom(m, criteria=["Active"])
    components = {c for c, *_ in items}
    assert "PowerContactor" not in components and "TemperatureSensor" in components
    # B08.FR.09: Enabled true or absent (a controller with Enabled false is left out)
    m.set(Component("ReservationCtrlr"), Variable("Enabled"), "false")
    _, items = custom(m, criteria=["Enabled"])
    assert "ReservationCtrlr" not in {c for c, *_ in items} and "AuthCtrlr" in {c for c, *_ in items}
    # B08.FR.13: criteria are ORed
    _, items = custom(m, criteria=["Problem", "Enabled"])
    assert "FiscalMetering" in {c for c, *_ in items} and "ReservationCtrlr" not in {c for c, *_ in items}
    # B08.FR.05: both given → the componentVariable set, limited by the criteria
    _, items = custom(m, criteria=["Problem"], variables=[cv("FiscalMetering", "EnergyImportRegister"),
                                                          cv("Controller")])
    assert items == [("FiscalMetering", 1, None, "EnergyImportRegister")]


def test_an_empty_result_and_an_unknown_criterion():
    m = model()
    assert custom(m, criteria=["Problem"]) == ("EmptyResultSet", [])  # B08.FR.15: nothing has a problem
    assert custom(m, variables=[cv("Vacuum")]) == ("EmptyResultSet", [])
    assert reports.get_report(m, {"request_id": 1, "component_criteria": ["Broken"]}) == ({"status": "NotSupported"}, None)


def test_too_many_component_variables_is_an_occurrence_constraint_violation():
    with pytest.raises(OccurrenceConstraintViolationError):  # B08.FR.17
        reports.get_report(model(), request("GetReportRequest", {"requestId": 1,
                                                                 "componentVariable": [cv("Controller")] * 65}))
    with pytest.raises(FormatViolationError):  # B08.FR.18
        reports.get_report(model(), {"request_id": 1}, message_bytes=10 ** 6)


def test_write_only_values_never_leave_the_station():
    m = model()
    m.set(Component("SecurityCtrlr"), Variable("BasicAuthPassword"), "a-secret-password-0123")
    everything = [reports.base_report(m, base) for base in ("FullInventory", "ConfigurationInventory")]
    everything.append(reports.custom_report(m, None, [{"component": {"name": "SecurityCtrlr"}}]))
    assert "a-secret-password" not in json.dumps(everything)


# ---- NotifyReport paging ---------------------------------------------------------------------


def frame_bytes(page):
    return len(Call(str(uuid.uuid4()), "NotifyReport", snake_to_camel_case(page)).to_json())


def test_report_pages_are_numbered_continued_and_bounded():
    m = model()
    data = reports.base_report(m, "FullInventory")
    pages = reports.report_pages(m, data, request_id=42, generated_at=GENERATED_AT)
    assert [p["seq_no"] for p in pages] == list(range(len(pages)))  # B07.FR.10
    assert [p["tbc"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert {p["request_id"] for p in pages} == {42}  # B07.FR.04
    assert all(len(p["report_data"]) <= 64 for p in pages)  # ItemsPerMessage[GetReport]
    assert all(frame_bytes(p) <= 65536 for p in pages)
    assert [i for p in pages for i in p["report_data"]] == data  # nothing lost, order kept
    for page in pages:
        assert_valid("NotifyReportRequest", page)


@pytest.mark.parametrize("max_bytes", [1200, 2000, 5000])
def test_pages_fit_the_byte_limit_on_the_wire(max_bytes):
    data = reports.base_report(model(), "FullInventory")
    pages = reports.notify_report_pages(data, 1, GENERATED_AT, max_items=1000, max_bytes=max_bytes)
    assert len(pages) > 1
    for page in pages:
        # each page is as full as allowed: full frames only break when the next item would not fit
        assert frame_bytes(page) <= max_bytes or len(page["report_data"]) == 1
    assert [i for p in pages for i in p["report_data"]] == data


def test_an_item_larger_than_a_page_goes_alone_and_an_empty_report_is_one_page():
    data = reports.base_report(model(), "FullInventory")[:3]
    pages = reports.notify_report_pages(data, 1, GENERATED_AT, max_items=10, max_bytes=100)
    assert [len(p["report_data"]) for p in pages] == [1, 1, 1]
    empty = reports.notify_report_pages([], 5, GENERATED_AT, max_items=10, max_bytes=100)
    assert empty == [{"request_id": 5, "generated_at": GENERATED_AT, "seq_no": 0, "tbc": False}]
    assert_valid("NotifyReportRequest", empty[0])


def test_every_report_payload_is_valid_on_the_wire():
    live = LiveTable({("EVSE", 1, None, "Power"): 11000.0, ("ClockCtrlr", None, None, "DateTime"): None,
                      ("FiscalMetering", 1, None, "Problem"): True})
    m = model(full_station(), live=live)
    for base in ("FullInventory", "ConfigurationInventory", "SummaryInventory"):
        for page in reports.report_pages(m, reports.base_report(m, base), 1, GENERATED_AT):
            assert_valid("NotifyReportRequest", page)
