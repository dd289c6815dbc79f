"""Functional block B (Provisioning) beyond the boot: GetVariables (B06), SetVariables (B05),
GetBaseReport (B07) and GetReport (B08) over the device model, NotifyReport paged with seqNo /
tbc after the answer (from ``@after``), and Reset (B11, B12)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.core.session import StopReason
from agent.ocpp201 import reports
from agent.ocpp201.connection import LinkDown

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

RESET_DRAIN_S = 10.0  # how long a Reset waits for the Ended events to reach the backend


class ProvisioningHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.model = adapter.device_model
        self._reports: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # accepted, by message id

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return call_result.GetVariables(**reports.get_variables(self.model, {"get_variable_data": get_variable_data}))

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        result = reports.set_variables(self.model, {"set_variable_data": set_variable_data})
        for item in result["set_variable_result"]:
            log.info("SetVariables %s.%s: %s", item["component"].get("name"), item["variable"].get("name"),
                     item["attribute_status"])
        return call_result.SetVariables(**result)

    @after(Action.set_variables)
    def after_set_variables(self, **_: Any) -> None:
        self.adapter.services.security.reconnect_if_due()  # a new BasicAuthPassword is used at once

    @on(Action.get_base_report)
    def on_get_base_report(self, request_id: int, report_base: str, call_unique_id: str = "", **_: Any) -> Any:
        answer, data = reports.get_base_report(self.model, {"request_id": request_id, "report_base": report_base})
        if data is not None:
            self._reports[call_unique_id] = (request_id, data)
        return call_result.GetBaseReport(**answer)

    @on(Action.get_report)
    def on_get_report(self, request_id: int, component_variable: list[dict[str, Any]] | None = None,
                      component_criteria: list[str] | None = None, call_unique_id: str = "", **_: Any) -> Any:
        payload: dict[str, Any] = {"request_id": request_id}
        if component_variable is not None:
            payload["component_variable"] = component_variable
        if component_criteria is not None:
            payload["component_criteria"] = component_criteria
        answer, data = reports.get_report(self.model, payload)
        if data is not None:
            self._reports[call_unique_id] = (request_id, data)
        return call_result.GetReport(**answer)

    @after(Action.get_base_report)
    async def after_get_base_report(self, call_unique_id: str = "", **_: Any) -> None:
        await self._notify_report(call_unique_id)

    @after(Action.get_report)
    async def after_get_report(self, call_unique_id: str = "", **_: Any) -> None:
        await self._notify_report(call_unique_id)

    async def _notify_report(self, call_unique_id: str) -> None:
        accepted = self._reports.pop(call_unique_id, None)
        if accepted is None:
            return
        request_id, data = accepted
        generated_at = self.adapter.services.clock.iso()
        for page in reports.report_pages(self.model, data, request_id, generated_at):
            try:
                await self.adapter.call(call.NotifyReport(**page))
            except (OCPPError, LinkDown, asyncio.TimeoutError) as exc:
                log.warning("NotifyReport %d page %d: %r", request_id, page["seq_no"], exc)
                return

    # B11 / B12 Reset: the whole station (the agent restarts) or one EVSE (its transaction ends).
    @on(Action.reset)
    def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:
        if evse_id is not None and evse_id not in self.adapter.station.evses():
            return call_result.Reset(status="Rejected", status_info={"reason_code": "UnknownEvse"})
        running = [e for e in self.adapter.station.evses() if self.adapter.station.transaction_on(e) is not None]
        if type == "OnIdle" and (running if evse_id is None else evse_id in running):
            return call_result.Reset(status="Scheduled")  # B11.FR.?: after the transactions end
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    async def after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        station, services = self.adapter.station, self.adapter.services
        if type == "OnIdle":
            await self._wait_idle(evse_id)
        if evse_id is not None:
            transaction = station.transaction_on(evse_id)
            if transaction is not None:
                station.remote_stop(transaction.transaction_id)
            return
        try:
            await station.stop_all(StopReason.HARD_RESET)  # rendered ImmediateReset (mapping.py)
            await services.outbox.drain(RESET_DRAIN_S)
        except TimeoutError:
            log.warning("Reset: restarting with messages still queued (they are sent after the restart)")
        services.lifecycle.request_restart(f"Reset {type}", "RemoteReset")

    async def _wait_idle(self, evse_id: int | None) -> None:
        """OnIdle: once no transaction runs (on the EVSE, or anywhere)."""
        station = self.adapter.station
        while any(station.transaction_on(e) is not None for e in station.evses() if evse_id in (None, e)):
            await asyncio.sleep(1.0)
