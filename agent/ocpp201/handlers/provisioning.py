"""Functional block B (Provisioning) beyond the boot: GetVariables (B06), SetVariables (B05),
GetBaseReport (B07) and GetReport (B08) over the device model, NotifyReport paged with seqNo /
tbc after the answer (from ``@after``), Reset (B11, B12) and SetNetworkProfile (B09)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.services import NetworkProfile, ProfileRefused, StorageError
from agent.core.session import ConnectorStatus, StopReason
from agent.ocpp201 import reports
from agent.ocpp201.connection import LinkDown

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

RESET_DRAIN_S = 10.0  # how long a Reset waits for the Ended events to reach the backend
IDLE_CHECK_S = 0.5  # how often a Reset OnIdle looks whether the station became idle


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
        if type == "OnIdle" and not self._idle(evse_id):
            return call_result.Reset(status="Scheduled")  # B11.FR.04, B12.FR.01/05: once idle
        return call_result.Reset(status="Accepted")  # B11.FR.01, B12.FR.02/06

    @after(Action.reset)
    async def after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        station, services = self.adapter.station, self.adapter.services
        if evse_id is not None and evse_id not in station.evses():
            return
        if type == "OnIdle":
            await self._wait_idle(evse_id)
        if evse_id is not None:
            # B12.FR.08: the EVSE's transaction ends (ResetCommand, ImmediateReset); the EVSE has
            # nothing else to restart (its board keeps running).
            try:
                await station.stop_all(StopReason.HARD_RESET, evse_id)
            except TimeoutError:
                log.warning("Reset of EVSE %d: its transaction's end is not stored yet", evse_id)
            return
        try:
            await station.stop_all(StopReason.HARD_RESET)  # B12.FR.04: ResetCommand, ImmediateReset (mapping.py)
            await services.outbox.drain(RESET_DRAIN_S)
        except TimeoutError:
            log.warning("Reset: restarting with messages still queued (they are sent after the restart)")
        services.lifecycle.request_restart(f"Reset {type}", "RemoteReset")  # B11.FR.03: reason RemoteReset

    def _idle(self, evse_id: int | None) -> bool:
        """Errata 2.14 (B11 OnIdle): no transaction, no reservation waiting (on the EVSE, or
        anywhere), and for the station no firmware update under way."""
        station = self.adapter.station
        for ref, (status, _) in station.statuses().items():
            if evse_id in (None, ref.evse_id) and status is ConnectorStatus.RESERVED:
                return False
        if any(station.transaction_on(e) is not None for e in station.evses() if evse_id in (None, e)):
            return False
        firmware = self.adapter.services.firmware
        return evse_id is not None or firmware is None or not firmware.pending()

    async def _wait_idle(self, evse_id: int | None) -> None:
        """OnIdle: once idle (the transactions ended, the reservations used or over)."""
        while not self._idle(evse_id):
            await asyncio.sleep(IDLE_CHECK_S)

    # B09 SetNetworkProfile: a connection profile into a slot; used after a reboot once
    # NetworkConfigurationPriority names it first (B10, agent/backend/network_profiles.py).
    @on(Action.set_network_profile)
    def on_set_network_profile(self, configuration_slot: int, connection_data: dict[str, Any], **_: Any) -> Any:
        network = self.adapter.services.network
        if network is None:
            return call_result.SetNetworkProfile(status="Rejected", status_info={"reason_code": "UnsupportedRequest"})
        if connection_data.get("apn") is not None or connection_data.get("vpn") is not None:
            return call_result.SetNetworkProfile(  # B09.FR.02: no modem, no VPN client here
                status="Rejected", status_info={"reason_code": "InvalidNetworkConf",
                                                "additional_info": "neither APN nor VPN settings are supported"})
        profile = NetworkProfile(
            url=connection_data["ocpp_csms_url"], security_profile=connection_data["security_profile"],
            message_timeout_s=connection_data["message_timeout"], ocpp_version=connection_data["ocpp_version"],
            ocpp_transport=connection_data["ocpp_transport"], ocpp_interface=connection_data["ocpp_interface"])
        try:
            network.set_profile(configuration_slot, profile)
        except ProfileRefused as refused:
            log.info("SetNetworkProfile slot %d refused: %s", configuration_slot, refused)
            return call_result.SetNetworkProfile(status="Rejected", status_info={
                "reason_code": refused.reason_code, "additional_info": str(refused)[:512]})
        except StorageError as exc:
            log.error("SetNetworkProfile slot %d not stored: %s", configuration_slot, exc)
            return call_result.SetNetworkProfile(status="Failed")  # B09.FR.03
        return call_result.SetNetworkProfile(status="Accepted")  # B09.FR.01
