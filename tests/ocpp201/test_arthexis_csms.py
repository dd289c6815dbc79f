"""Arthexis, a real open-source OCPP 2.0.1 backend (tests/ocpp201/arthexis_csms.py), started by
the test itself: a tiny 2.0.1 station registers, starts a transaction, and answers a request
Arthexis sends it."""

from __future__ import annotations

import pytest
from ocpp.v201 import call

from tests.ocpp201.arthexis_csms import ArthexisCsms, unavailable
from tests.ocpp201.tiny_station import now_iso, tiny_station

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=f"Arthexis: {unavailable()}")


async def test_arthexis_serves_a_201_station_and_sends_it_requests(tmp_path):
    async with ArthexisCsms.running(tmp_path / "arthexis") as csms:
        async with tiny_station(csms.url(), "CS-ARTH-1", password=csms.enrollment_token) as station:
            boot = await station.boot()
            assert boot.status == "Accepted"
            await station.call(call.StatusNotification(timestamp=now_iso(), connector_status="Available",
                                                       evse_id=1, connector_id=1))
            card = {"id_token": "04A1B2C3D4E5F6", "type": "ISO14443"}
            assert (await station.call(call.Authorize(id_token=card))).id_token_info["status"] == "Accepted"
            started = await station.call(call.TransactionEvent(
                event_type="Started", timestamp=now_iso(), trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": "tx-1"}, id_token=card, evse={"id": 1, "connector_id": 1}))
            assert started.id_token_info["status"] == "Accepted"

            result = await csms.request("CS-ARTH-1", "GetVariables", {"getVariableData": [
                {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"}}]})
        assert result["getVariableResult"][0]["attributeValue"] == "Tiny"
        assert [name for name, _ in station.requests] == ["GetVariables"]
