"""GetVariables, SetVariables, GetBaseReport, GetReport and NotifyReport paging over the device
model (OCPP 2.0.1 Part 2 B05–B08). Pure: payloads in, payloads out; time is passed in.

Payloads are dicts in snake_case, as the ``ocpp`` library hands a request to an ``@on``
handler (``get_variable_data``, ``connector_id``…) and as it takes a response or a
``call.NotifyReport`` (it turns the keys to camelCase on the wire).

Limits (DeviceDataCtrlr, read from the model):

- GetVariables with more items than ItemsPerMessage[GetVariables] → CALLERROR
  OccurrenceConstraintViolation (B06.FR.16), more bytes than BytesPerMessage[GetVariables] →
  CALLERROR FormatViolation (B06.FR.17): the library's exceptions are raised, which its routing
  turns into the CALLERROR. GetReport likewise (B08.FR.17, B08.FR.18).
- SetVariables: B05 names no CALLERROR, and B05.FR.01 wants one result per item; past
  ItemsPerMessage[SetVariables] (or BytesPerMessage[SetVariables]) every item is Rejected with
  reasonCode TooManyElements (TooLargeElement), and none is applied (Part 2 Appendix 5 lists
  TooManyElements for SetVariables).
- NotifyReport pages hold at most ItemsPerMessage[GetReport] reportData items and
  BytesPerMessage[GetReport] bytes of CALL frame each (our choice: the spec leaves the page size
  to the station, B07.FR.03 asks for as few messages as possible).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterable
from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import FormatViolationError, OccurrenceConstraintViolationError

from agent.ocpp201.device_model import (
    AttributeType,
    Component,
    DeviceModel,
    GetStatus,
    SetStatus,
    Variable,
    VariableDef,
)

log = logging.getLogger(__name__)

DEVICE_DATA = Component("DeviceDataCtrlr")
# '[2,"<36-character unique id>","<Action>",' … ']' around the payload of a CALL (OCPP-J Part 4 §4.2.1).
UNIQUE_ID_CHARS = 36


class ReportBase(str, enum.Enum):
    """Part 2 §3.70 ReportBaseEnumType."""

    CONFIGURATION_INVENTORY = "ConfigurationInventory"
    FULL_INVENTORY = "FullInventory"
    SUMMARY_INVENTORY = "SummaryInventory"


class Criterion(str, enum.Enum):
    """Part 2 §3.21 ComponentCriterionEnumType."""

    ACTIVE = "Active"
    AVAILABLE = "Available"
    ENABLED = "Enabled"
    PROBLEM = "Problem"


def wire_size(payload: dict[str, Any], action: str = "") -> int:
    """Bytes of the payload as the ``ocpp`` library sends it (camelCase, compact, ASCII); with
    ``action``, of the whole CALL frame around it."""
    body = len(json.dumps(snake_to_camel_case(payload), separators=(",", ":")))
    return body + (len(f'[2,"","{action}",]') + UNIQUE_ID_CHARS if action else 0)


def device_data_limit(model: DeviceModel, variable: str, message: str) -> int:
    definition = model.find(DEVICE_DATA, Variable(variable, message))
    if definition is None:
        raise KeyError(f"DeviceDataCtrlr.{variable}[{message}] is missing from the device model")
    return int(model.value(definition))


def _status_info(reason_code: str | None, info: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"reason_code": reason_code or "Unspecified"}  # StatusInfoType: reasonCode ≤ 20
    if info:
        out["additional_info"] = info[:512]
    return out


def _value_size(model: DeviceModel, name: str, schema_maximum: int) -> int:
    """DeviceDataCtrlr ConfigurationValueSize / ReportingValueSize (§2.1.20, §2.1.21), or the
    schema's maximum when the station does not report it."""
    definition = model.find(DEVICE_DATA, Variable(name))
    return min(int(model.value(definition)), schema_maximum) if definition is not None else schema_maximum


def _reporting_size(model: DeviceModel) -> int:
    return _value_size(model, "ReportingValueSize", 2500)


def _attribute_type(item: dict[str, Any]) -> tuple[str, AttributeType | None]:
    """The attributeType as sent ("Actual" when absent: B05.FR.12, B06.FR.11) and its enum."""
    sent = item.get("attribute_type") or AttributeType.ACTUAL.value
    try:
        return sent, AttributeType(sent)
    except ValueError:
        return sent, None


# ---- B06 Get Variables ------------------------------------------------------------------------


def get_variables(model: DeviceModel, payload: dict[str, Any], *, message_bytes: int | None = None) -> dict[str, Any]:
    """GetVariablesRequest → GetVariablesResponse. ``message_bytes``: the received frame's size
    (default: the payload's size on the wire)."""
    items = payload["get_variable_data"]
    limit = device_data_limit(model, "ItemsPerMessage", "GetVariables")
    if len(items) > limit:  # B06.FR.16
        raise OccurrenceConstraintViolationError(
            description=f"{len(items)} getVariableData, ItemsPerMessage[GetVariables] is {limit}")
    size = message_bytes if message_bytes is not None else wire_size(payload)
    byte_limit = device_data_limit(model, "BytesPerMessage", "GetVariables")
    if size > byte_limit:  # B06.FR.17
        raise FormatViolationError(description=f"{size} bytes, BytesPerMessage[GetVariables] is {byte_limit}")
    reporting = _reporting_size(model)
    results = []
    for item in items:
        sent, attribute = _attribute_type(item)
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"],
                                  "attribute_type": sent}  # B06.FR.02, FR.03, FR.11
        if attribute is None:
            result["attribute_status"] = GetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE.value
        else:
            outcome = model.get(Component.from_dict(item["component"]), Variable.from_dict(item["variable"]), attribute)
            result["attribute_status"] = outcome.status.value
            if outcome.status is GetStatus.ACCEPTED:
                result["attribute_value"] = (outcome.value or "")[:reporting]  # B06.FR.10, FR.13
            if outcome.reason_code:
                result["attribute_status_info"] = _status_info(outcome.reason_code, outcome.info)
        results.append(result)
    return {"get_variable_result": results}  # B06.FR.01


# ---- B05 Set Variables ------------------------------------------------------------------------


def set_variables(model: DeviceModel, payload: dict[str, Any], *, message_bytes: int | None = None) -> dict[str, Any]:
    """SetVariablesRequest → SetVariablesResponse; each accepted value is stored (and persists)."""
    items = payload["set_variable_data"]
    refusal: tuple[str, str] | None = None
    limit = device_data_limit(model, "ItemsPerMessage", "SetVariables")
    size = message_bytes if message_bytes is not None else wire_size(payload)
    byte_limit = device_data_limit(model, "BytesPerMessage", "SetVariables")
    if len(items) > limit:  # B05.FR.11 is the CSMS's duty; Appendix 5 TooManyElements
        refusal = ("TooManyElements", f"{len(items)} setVariableData, ItemsPerMessage[SetVariables] is {limit}")
    elif size > byte_limit:
        refusal = ("TooLargeElement", f"{size} bytes, BytesPerMessage[SetVariables] is {byte_limit}")
    value_size = _value_size(model, "ConfigurationValueSize", 1000)
    results = []
    for item in items:
        sent, attribute = _attribute_type(item)
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"],
                                  "attribute_type": sent}  # B05.FR.02, FR.03, FR.12
        if refusal is not None:
            result["attribute_status"] = SetStatus.REJECTED.value
            result["attribute_status_info"] = _status_info(*refusal)
        elif len(item["attribute_value"]) > value_size:  # §2.1.20 ConfigurationValueSize
            result["attribute_status"] = SetStatus.REJECTED.value
            result["attribute_status_info"] = _status_info(
                "TooLargeElement", f"{len(item['attribute_value'])} characters, ConfigurationValueSize is {value_size}")
        elif attribute is None:
            result["attribute_status"] = SetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE.value
        else:
            outcome = model.set(Component.from_dict(item["component"]), Variable.from_dict(item["variable"]),
                                item["attribute_value"], attribute)
            result["attribute_status"] = outcome.status.value
            if outcome.reason_code:
                result["attribute_status_info"] = _status_info(outcome.reason_code, outcome.info)
        results.append(result)
    return {"set_variable_result": results}  # B05.FR.01


# ---- report data ------------------------------------------------------------------------------


def report_item(model: DeviceModel, definition: VariableDef, reporting_size: int = 2500) -> dict[str, Any]:
    """One ReportDataType: every attribute the variable supports, even unset (B07.FR.11), its
    characteristics (B07.FR.07/FR.08, B08.FR.12), never the value of a WriteOnly attribute
    (B07.FR.03, B08.FR.03 as of errata 2.10)."""
    attributes = []
    for attribute in definition.attributes:
        entry: dict[str, Any] = {"type": attribute.type.value, "mutability": attribute.mutability.value,
                                 "persistent": attribute.is_persistent, "constant": attribute.is_constant}
        if attribute.readable:
            try:
                entry["value"] = (model.text(definition, attribute.type) or "")[:reporting_size]
            except Exception as exc:  # noqa: BLE001 - one failing part must not lose the whole report
                log.warning("reading %s.%s for a report failed: %r", definition.component, definition.variable, exc)
                entry["value"] = ""
        attributes.append(entry)
    return {"component": definition.component.to_dict(), "variable": definition.variable.to_dict(),
            "variable_attribute": attributes, "variable_characteristics": definition.characteristics.to_dict()}


def _items(model: DeviceModel, definitions: Iterable[VariableDef]) -> list[dict[str, Any]]:
    size = _reporting_size(model)
    return [report_item(model, d, size) for d in definitions]


def base_report(model: DeviceModel, report_base: str) -> list[dict[str, Any]] | None:
    """B07 Get Base Report: the reportData; None for a report base this station does not know
    (GetBaseReportResponse NotSupported, B07.FR.02)."""
    try:
        base = ReportBase(report_base)
    except ValueError:
        return None
    definitions = model.definitions()
    if base is ReportBase.CONFIGURATION_INVENTORY:  # B07.FR.07: what the operator can set
        return _items(model, (d for d in definitions if d.writable))
    if base is ReportBase.FULL_INVENTORY:  # B07.FR.08
        return _items(model, definitions)
    return _items(model, _summary(model, definitions))


ABNORMAL = ("Problem", "Tripped", "Overload", "Fallback")  # B07.FR.09 note


def _summary(model: DeviceModel, definitions: list[VariableDef]) -> list[VariableDef]:
    """B07.FR.09: AvailabilityState of the station and each EVSE, of each connector when known and
    different from its EVSE's, and every Problem/Tripped/Overload/Fallback that is true."""
    picked = []
    states: dict[int, str | None] = {}
    for d in definitions:
        if d.variable.name == "AvailabilityState" and d.component.name == "EVSE" and not d.variable.instance:
            states[d.component.evse_id or 0] = _safe_text(model, d)
    for d in definitions:
        name, comp = d.variable.name, d.component.name
        if name == "AvailabilityState" and not d.variable.instance:
            if comp in ("ChargingStation", "EVSE"):
                picked.append(d)
            elif comp == "Connector":
                value = _safe_text(model, d)
                if value and value != states.get(d.component.evse_id or 0):
                    picked.append(d)
        elif name in ABNORMAL and _safe_text(model, d) == "true":
            picked.append(d)
    return picked


def _safe_text(model: DeviceModel, definition: VariableDef) -> str | None:
    try:
        return model.text(definition)
    except Exception as exc:  # noqa: BLE001 - a part that cannot be read counts as unknown
        log.warning("reading %s.%s failed: %r", definition.component, definition.variable, exc)
        return None


# ---- B08 Get Custom Report --------------------------------------------------------------------


def custom_report(model: DeviceModel, component_criteria: list[str] | None = None,
                  component_variable: list[dict[str, Any]] | None = None) -> list[dict[str, Any]] | None:
    """B08: the reportData for GetReportRequest; None when a criterion is not supported
    (NotSupported, B08.FR.02); [] is EmptyResultSet (B08.FR.15)."""
    try:
        criteria = [Criterion(c) for c in component_criteria or []]
    except ValueError:
        return None
    definitions = model.definitions()
    if component_variable:  # B08.FR.11, FR.20–FR.25
        definitions = [d for d in definitions if any(_selected(d, cv) for cv in component_variable)]
    if criteria:  # B08.FR.05, FR.07–FR.10, FR.13
        passing = {c.key for c in model.components() if _meets(model, c, criteria)}
        definitions = [d for d in definitions if d.component.key in passing]
    return _items(model, definitions)


def _selected(definition: VariableDef, wanted: dict[str, Any]) -> bool:
    component = wanted["component"]
    have = definition.component
    if have.name.casefold() != component["name"].casefold():
        return False
    if component.get("instance") and (have.instance or "").casefold() != component["instance"].casefold():
        return False  # B08.FR.24 (no instance: every instance, B08.FR.25)
    evse = component.get("evse")
    if evse is not None:  # no evse: every tier (B08.FR.23)
        if have.evse_id != evse["id"]:
            return False
        if evse.get("connector_id") is not None and have.connector_id != evse["connector_id"]:
            return False  # no connectorId: every connector of the EVSE (B08.FR.22)
    variable = wanted.get("variable")
    if variable is None:  # B08.FR.20: every variable
        return True
    if definition.variable.name.casefold() != variable["name"].casefold():
        return False
    instance = variable.get("instance")
    return not instance or (definition.variable.instance or "").casefold() == instance.casefold()  # B08.FR.21


def _meets(model: DeviceModel, component: Component, criteria: list[Criterion]) -> bool:
    """B08.FR.07–FR.10: Active/Available/Enabled true or absent; Problem true; any of them (FR.13)."""
    for criterion in criteria:
        definition = model.find(component, Variable(criterion.value))
        value = _safe_text(model, definition) if definition is not None else None
        if criterion is Criterion.PROBLEM:
            if value == "true":
                return True
        elif definition is None or value == "true":
            return True
    return False


# ---- the requests, as handlers call them ------------------------------------------------------


def get_base_report(model: DeviceModel, payload: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """GetBaseReportRequest → (GetBaseReportResponse, reportData to send in NotifyReport or None)."""
    data = base_report(model, payload["report_base"])
    if data is None:
        return {"status": "NotSupported"}, None  # B07.FR.02, FR.05
    return {"status": "Accepted"}, data  # B07.FR.01, FR.03


def get_report(model: DeviceModel, payload: dict[str, Any], *,
               message_bytes: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """GetReportRequest → (GetReportResponse, reportData to send or None)."""
    wanted = payload.get("component_variable")
    limit = device_data_limit(model, "ItemsPerMessage", "GetReport")
    if wanted and len(wanted) > limit:  # B08.FR.17
        raise OccurrenceConstraintViolationError(
            description=f"{len(wanted)} componentVariable, ItemsPerMessage[GetReport] is {limit}")
    size = message_bytes if message_bytes is not None else wire_size(payload)
    byte_limit = device_data_limit(model, "BytesPerMessage", "GetReport")
    if size > byte_limit:  # B08.FR.18
        raise FormatViolationError(description=f"{size} bytes, BytesPerMessage[GetReport] is {byte_limit}")
    data = custom_report(model, payload.get("component_criteria"), wanted)
    if data is None:
        return {"status": "NotSupported"}, None  # B08.FR.02
    if not data:
        return {"status": "EmptyResultSet"}, None  # B08.FR.15
    return {"status": "Accepted"}, data  # B08.FR.01, FR.03


def notify_report_pages(report_data: list[dict[str, Any]], request_id: int, generated_at: str, *,
                        max_items: int, max_bytes: int) -> list[dict[str, Any]]:
    """NotifyReportRequest payloads for one report: seqNo from 0 (B07.FR.10, B08.FR.14), tbc
    true on every page but the last, the same requestId on each (B07.FR.04, B08.FR.04); a page
    holds at most ``max_items`` items and its CALL frame at most ``max_bytes`` bytes (one item
    larger than that alone still goes, alone)."""
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    pages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    # The page around the items, at its longest (a 6-digit seqNo, "tbc":false, an empty list).
    empty = {**_page(request_id, generated_at, 999999, False, []), "report_data": []}
    overhead = wire_size(empty, "NotifyReport")
    used = overhead
    for item in report_data:
        item_bytes = wire_size(item) + 1  # and its comma
        if current and (len(current) >= max_items or used + item_bytes > max_bytes):
            pages.append(current)
            current, used = [], overhead
        current.append(item)
        used += item_bytes
    if current or not pages:
        pages.append(current)
    return [_page(request_id, generated_at, n, n < len(pages) - 1, items) for n, items in enumerate(pages)]


def _page(request_id: int, generated_at: str, seq_no: int, tbc: bool, items: list[dict[str, Any]]) -> dict[str, Any]:
    page: dict[str, Any] = {"request_id": request_id, "generated_at": generated_at, "seq_no": seq_no, "tbc": tbc}
    if items:
        page["report_data"] = items
    return page


def report_pages(model: DeviceModel, report_data: list[dict[str, Any]], request_id: int,
                 generated_at: str) -> list[dict[str, Any]]:
    """``notify_report_pages`` bounded by DeviceDataCtrlr ItemsPerMessage / BytesPerMessage [GetReport]."""
    return notify_report_pages(report_data, request_id, generated_at,
                               max_items=device_data_limit(model, "ItemsPerMessage", "GetReport"),
                               max_bytes=device_data_limit(model, "BytesPerMessage", "GetReport"))
