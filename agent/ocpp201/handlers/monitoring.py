"""Functional block N (Diagnostics), the monitoring part: SetVariableMonitoring (N04),
ClearVariableMonitoring (N06), SetMonitoringBase (N03), SetMonitoringLevel (N05) and
GetMonitoringReport (N02) with NotifyMonitoringReport paged after the answer. The monitors and
the events they cause are agent/ocpp201/monitoring.py's."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OccurrenceConstraintViolationError, OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.core.monitoring import MonitoringBase
from agent.ocpp201.connection import LinkDown
from agent.ocpp201.device_model import Component, Variable
from agent.ocpp201.monitoring import Request

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

REPORT_PAGE = 20  # variables per NotifyMonitoringReport


class MonitoringHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.monitors = adapter.monitors
        self._reports: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # accepted, by message id

    def _items_per_message(self, message: str) -> int:
        """MonitoringCtrlr.ItemsPerMessage[message] (N04.FR.09, N06.FR.06)."""
        model = self.adapter.device_model
        definition = model.find(Component("MonitoringCtrlr"), Variable("ItemsPerMessage", message))
        return int(model.value(definition)) if definition is not None else 1 << 16

    @on(Action.set_variable_monitoring)
    def on_set_variable_monitoring(self, set_monitoring_data: list[dict[str, Any]], **_: Any) -> Any:
        limit = self._items_per_message("SetVariableMonitoring")
        if len(set_monitoring_data) > limit:  # N04.FR.09
            raise OccurrenceConstraintViolationError(
                description=f"{len(set_monitoring_data)} setMonitoringData, ItemsPerMessage allows {limit}")
        results = []
        for item in set_monitoring_data:  # N04.FR.01/02: one result per item, in order
            request = Request(Component.from_dict(item["component"]), Variable.from_dict(item["variable"]),
                              item["type"], float(item["value"]), item["severity"], item.get("transaction", False),
                              item.get("id"))
            status, monitor_id, why = self.monitors.set(request)
            log.info("SetVariableMonitoring %s %s.%s %s %g: %s", monitor_id, request.component, request.variable,
                     request.type, request.value, status)
            result: dict[str, Any] = {"status": status, "type": item["type"], "severity": item["severity"],
                                      "component": item["component"], "variable": item["variable"]}
            if monitor_id is not None:
                result["id"] = monitor_id  # N04.FR.11
            if why is not None:
                reason = "NotSupported" if status == "UnsupportedMonitorType" else "InvalidValue"  # reasonCode: 20 chars
                result["status_info"] = {"reason_code": reason, "additional_info": why[:512]}
            results.append(result)
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    @on(Action.clear_variable_monitoring)
    def on_clear_variable_monitoring(self, id: list[int], **_: Any) -> Any:
        limit = self._items_per_message("ClearVariableMonitoring")
        if len(id) > limit:  # N06.FR.06
            raise OccurrenceConstraintViolationError(description=f"{len(id)} ids, ItemsPerMessage allows {limit}")
        return call_result.ClearVariableMonitoring(  # N06.FR.05
            clear_monitoring_result=[{"status": self.monitors.clear(i), "id": i} for i in id])

    @on(Action.set_monitoring_base)
    def on_set_monitoring_base(self, monitoring_base: str, **_: Any) -> Any:
        self.monitors.set_base(MonitoringBase(monitoring_base))  # N03.FR.03-05: every base is served
        return call_result.SetMonitoringBase(status="Accepted")  # N03.FR.01

    @on(Action.set_monitoring_level)
    def on_set_monitoring_level(self, severity: int, **_: Any) -> Any:
        return call_result.SetMonitoringLevel(status="Accepted" if self.monitors.set_level(severity) else "Rejected")

    @on(Action.get_monitoring_report)
    def on_get_monitoring_report(self, request_id: int, monitoring_criteria: list[str] | None = None,
                                 component_variable: list[dict[str, Any]] | None = None, call_unique_id: str = "",
                                 **_: Any) -> Any:
        found = self.monitors.report(monitoring_criteria, component_variable)
        if not found:
            return call_result.GetMonitoringReport(status="EmptyResultSet")  # N02.FR.10
        self._reports[call_unique_id] = (request_id, found)
        return call_result.GetMonitoringReport(status="Accepted")  # N02.FR.01

    @after(Action.get_monitoring_report)
    async def after_get_monitoring_report(self, call_unique_id: str = "", **_: Any) -> None:
        accepted = self._reports.pop(call_unique_id, None)
        if accepted is None:
            return
        request_id, found = accepted
        generated_at = self.adapter.services.clock.iso()
        pages = [found[i:i + REPORT_PAGE] for i in range(0, len(found), REPORT_PAGE)]
        for seq_no, page in enumerate(pages):  # N02.FR.03/04/09
            try:
                await self.adapter.call(call.NotifyMonitoringReport(
                    request_id=request_id, seq_no=seq_no, generated_at=generated_at, monitor=page,
                    tbc=seq_no < len(pages) - 1))
            except (TimeoutError, OCPPError, LinkDown) as exc:
                log.warning("NotifyMonitoringReport %d page %d: %r", request_id, seq_no, exc)
                return
