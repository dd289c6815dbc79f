"""A tiny OCPP 2.0.1 charging station for testing the test backends themselves (not the agent):
the ``ocpp`` library's v201 ChargePoint on a websockets client, answering a few CSMS requests.

    async with tiny_station(url, "CS-1") as station:
        await station.call(call.BootNotification(...))
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TinyStation(ChargePoint):
    """Answers GetVariables (one variable: ChargingStation.Model), TriggerMessage (Heartbeat),
    RequestStartTransaction (Rejected) and GetBaseReport (with an invalid status, on purpose);
    everything it was asked is in ``requests``."""

    def __init__(self, identity: str, connection, **kwargs) -> None:
        super().__init__(identity, connection, **kwargs)
        self.requests: list[tuple[str, dict]] = []

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict], **_: object) -> call_result.GetVariables:
        self.requests.append(("GetVariables", {"get_variable_data": get_variable_data}))
        results = []
        for item in get_variable_data:
            known = item["component"]["name"] == "ChargingStation" and item["variable"]["name"] == "Model"
            result = {"attribute_status": "Accepted" if known else "UnknownVariable",
                      "component": item["component"], "variable": item["variable"]}
            if known:
                result["attribute_value"] = "Tiny"
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **_: object) -> call_result.TriggerMessage:
        self.requests.append(("TriggerMessage", {"requested_message": requested_message}))
        return call_result.TriggerMessage(status="Accepted" if requested_message == "Heartbeat" else "NotImplemented")

    @after("TriggerMessage")
    async def after_trigger_message(self, requested_message: str, **_: object) -> None:
        if requested_message == "Heartbeat":
            await self.call(call.Heartbeat())

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict, remote_start_id: int, **_: object) -> call_result.RequestStartTransaction:
        self.requests.append(("RequestStartTransaction", {"id_token": id_token, "remote_start_id": remote_start_id}))
        return call_result.RequestStartTransaction(status="Rejected")

    @on("GetBaseReport", skip_schema_validation=True)
    def on_get_base_report(self, request_id: int, report_base: str, **_: object) -> call_result.GetBaseReport:
        # Deliberately against the schema (GenericDeviceModelStatusEnumType has no "Maybe"): for
        # proving that a backend catches a station's invalid CALLRESULT.
        self.requests.append(("GetBaseReport", {"request_id": request_id, "report_base": report_base}))
        return call_result.GetBaseReport(status="Maybe")

    async def boot(self) -> call_result.BootNotification:
        return await self.call(call.BootNotification(
            charging_station={"model": "Tiny", "vendor_name": "evse-agent tests"}, reason="PowerUp"))


@contextlib.asynccontextmanager
async def tiny_station(url: str, identity: str, *, subprotocols: tuple[str, ...] = ("ocpp2.0.1",),
                       password: str | None = None) -> AsyncIterator[TinyStation]:
    """Connected to ``url``/``identity`` (HTTP Basic auth with ``password``), its receive loop running."""
    target = f"{url}/{identity}"
    if password is not None:
        scheme, rest = target.split("://", 1)
        target = f"{scheme}://{identity}:{password}@{rest}"
    async with connect(target, subprotocols=[Subprotocol(p) for p in subprotocols], open_timeout=5) as ws:
        station = TinyStation(identity, ws, response_timeout=10)
        loop = asyncio.create_task(station.start(), name=f"tiny-station-{identity}")
        try:
            yield station
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
