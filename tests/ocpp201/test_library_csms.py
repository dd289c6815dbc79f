"""The ``ocpp`` library's 2.0.1 central-system side as a test backend (tests/ocpp201/csms.py),
driven by a tiny station from the same library: it answers, records and sends."""

from __future__ import annotations

import pytest
from ocpp import exceptions
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from tests.conformance.strict_csms import Error
from tests.ocpp201.tiny_station import now_iso, tiny_station


async def test_it_answers_what_a_station_sends_and_records_every_frame(library_csms):
    library_csms.knows.id_tokens["CARD-1"] = {"status": "Accepted"}
    async with tiny_station(library_csms.url(), "CS-LIB-1") as station:
        boot = await station.boot()
        assert boot.status == "Accepted" and boot.interval == 300
        await station.call(call.StatusNotification(timestamp=now_iso(), connector_status="Available",
                                                   evse_id=1, connector_id=1))
        known = await station.call(call.Authorize(id_token={"id_token": "CARD-1", "type": "ISO14443"}))
        unknown = await station.call(call.Authorize(id_token={"id_token": "CARD-2", "type": "ISO14443"}))
        started = await station.call(call.TransactionEvent(
            event_type="Started", timestamp=now_iso(), trigger_reason="Authorized", seq_no=0,
            transaction_info={"transaction_id": "tx-1"}, id_token={"id_token": "CARD-1", "type": "ISO14443"},
            evse={"id": 1, "connector_id": 1}))
    assert known.id_token_info["status"] == "Accepted"
    assert unknown.id_token_info["status"] == "Unknown"
    assert started.id_token_info["status"] == "Accepted"
    assert [c.action for c in library_csms.calls] == [
        "BootNotification", "StatusNotification", "Authorize", "Authorize", "TransactionEvent"]
    assert library_csms.calls[4].payload["transactionInfo"] == {"transactionId": "tx-1"}  # camelCase, as sent
    assert library_csms.subprotocols["CS-LIB-1"] == "ocpp2.0.1"
    results = [f.message for f in library_csms.frames if f.direction == "to_station"]
    assert [m[0] for m in results] == [3] * 5
    assert results[0][2]["status"] == "Accepted" and "currentTime" in results[0][2]


async def test_it_sends_any_request_and_answers_by_action_as_a_test_says(library_csms):
    library_csms.answers["Authorize"] = {"idTokenInfo": {"status": "Blocked"}}
    library_csms.answers["DataTransfer"] = Error("NotImplemented", "no vendor")
    async with tiny_station(library_csms.url(), "CS-LIB-2") as station:
        await station.boot()
        blocked = await station.call(call.Authorize(id_token={"id_token": "X", "type": "Central"}))
        assert blocked.id_token_info["status"] == "Blocked"
        with pytest.raises(exceptions.NotImplementedError):
            await station.call(call.DataTransfer(vendor_id="acme"), suppress=False)

        result = await library_csms.call(call.GetVariables(get_variable_data=[
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"}}]))
        assert result.get_variable_result[0]["attribute_value"] == "Tiny"
        raw = await library_csms.request("GetVariables", {"getVariableData": [
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Nonsense"}}]})
        assert raw["getVariableResult"][0]["attributeStatus"] == "UnknownVariable"  # as the station sent it
        assert (await library_csms.request("RequestStartTransaction", {
            "idToken": {"idToken": "X", "type": "Central"}, "remoteStartId": 7}))["status"] == "Rejected"
    assert [name for name, _ in station.requests] == ["GetVariables", "GetVariables", "RequestStartTransaction"]


@pytest.mark.parametrize("offered", [["ocpp1.6"], []])
async def test_a_station_that_does_not_offer_ocpp201_gets_no_ocpp_link(library_csms, offered):
    # websockets refuses the handshake (HTTP 400) when no offered subprotocol is ocpp2.0.1.
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{library_csms.url()}/CS-16", subprotocols=[Subprotocol(p) for p in offered]):
            pass
    assert refused.value.response.status_code == 400
    assert library_csms.stations == {}
