"""The strict 2.0.1 backend works end to end without the agent: a tiny station from the ``ocpp``
library (tests/ocpp201/tiny_station.py) is served, validated in both directions, and a message
against the schemas is caught, so a test of the agent that passes had nothing to catch."""

from __future__ import annotations

import asyncio
import json

import pytest
from ocpp.v201 import call
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.conformance.strict_csms import CallErrorReply, Error
from tests.ocpp201.tiny_station import now_iso, tiny_station

CARD = {"id_token": "04A1B2C3D4E5F6", "type": "ISO14443"}  # a card the conftest's backend knows


async def test_a_201_station_is_served_in_both_directions(csms):
    async with tiny_station(csms.url(), "CS-SMOKE-1") as station:
        boot = await station.boot()
        assert boot.status == "Accepted" and boot.interval == 300
        assert await station.call(call.StatusNotification(
            timestamp=now_iso(), connector_status="Available", evse_id=1, connector_id=1)) is not None
        started = await station.call(call.TransactionEvent(
            event_type="Started", timestamp=now_iso(), trigger_reason="Authorized", seq_no=0,
            transaction_info={"transaction_id": "tx-1", "charging_state": "EVConnected"}, id_token=CARD,
            evse={"id": 1, "connector_id": 1}))
        assert started.id_token_info == {"status": "Accepted"}
        unknown = await station.call(call.Authorize(id_token={"id_token": "NOBODY", "type": "ISO14443"}))
        assert unknown.id_token_info == {"status": "Unknown"}

        # The backend sends requests and waits for the answers.
        result = await csms.call("GetVariables", {"getVariableData": [
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"}}]})
        assert result["getVariableResult"][0]["attributeValue"] == "Tiny"
        await csms.barrier()  # TriggerMessage Heartbeat, then the Heartbeat

    connected = csms.events_of("connected")[0]
    assert connected["protocol"] == "ocpp2.0.1" and connected["identity"] == "CS-SMOKE-1"
    assert connected["offered"] == ["ocpp2.0.1"]
    assert [c.action for c in csms.calls] == [
        "BootNotification", "StatusNotification", "TransactionEvent", "Authorize", "Heartbeat"]
    assert {c.protocol for c in csms.calls} == {"ocpp2.0.1"}
    assert csms.started_transaction_id() == "tx-1"
    assert csms.connector_statuses() == ["Available"]
    assert [name for name, _ in station.requests] == ["GetVariables", "TriggerMessage"]
    assert csms.violations == []


async def test_answers_by_action_with_a_payload_a_function_or_an_error(csms):
    csms.answers["Authorize"] = {"idTokenInfo": {"status": "Blocked"}}
    csms.answers["BootNotification"] = lambda p: {"status": "Pending", "currentTime": now_iso(), "interval": 5}
    csms.answers["DataTransfer"] = Error("NotImplemented", "no vendor here")
    async with tiny_station(csms.url(), "CS-SMOKE-2") as station:
        assert (await station.boot()).status == "Pending"
        blocked = await station.call(call.Authorize(id_token=CARD))
        assert blocked.id_token_info == {"status": "Blocked"}
        assert await station.call(call.DataTransfer(vendor_id="acme")) is None  # a CALLERROR (suppressed)
    answered = [f["text"] for f in csms.frames if f["direction"] == "to_cp" and f["text"].startswith("[4,")]
    assert len(answered) == 1 and json.loads(answered[0])[2] == "NotImplemented"


async def test_a_message_against_the_schemas_is_caught_in_either_direction(csms):
    async with tiny_station(csms.url(), "CS-SMOKE-3") as station:
        # A CALL missing a required property (chargingStation.vendorName).
        assert await station.call(call.BootNotification(charging_station={"model": "Tiny"}, reason="PowerUp"),
                                  skip_schema_validation=True) is None  # answered with a CALLERROR
        # Date-times without a time zone, or with microseconds: the library does not check formats,
        # ocpp-rpc's ajv-formats takes a missing time zone; the strict backend catches both.
        await station.call(call.StatusNotification(timestamp="2026-01-01T00:00:00", connector_status="Available",
                                                   evse_id=1, connector_id=1))
        await station.call(call.Heartbeat())
        csms.answers["Heartbeat"] = {"currentTime": "2026-01-01T00:00:00.123456Z"}  # the backend's own, too
        await station.call(call.Heartbeat())
        # A CALLRESULT against the schema (the tiny station's GetBaseReport answer, on purpose).
        with pytest.raises(CallErrorReply):
            await csms.call("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"})

    caught = [(v["by"], v.get("method"), v["message"]) for v in csms.violations]
    assert caught == [("charge_point", "BootNotification", "CALL"),
                      ("charge_point", None, "date-time"),
                      ("backend", None, "date-time"),
                      ("charge_point", "GetBaseReport", "CALLRESULT")]
    assert "vendorName" in csms.violations[0]["error"]
    assert csms.violations[1]["error"].startswith('StatusNotification request: /timestamp "2026-01-01T00:00:00"')
    assert csms.violations[2]["error"].startswith("Heartbeat response: /currentTime")
    csms.violations.clear()  # proven caught; the fixture's teardown would fail the test on them


async def test_ocpp_j_201_rules_the_schemas_cannot_express_are_checked(csms):
    async with connect(f"{csms.url()}/CS-RAW", subprotocols=[Subprotocol("ocpp2.0.1")]) as ws:
        # A CALLERROR with the 1.6 spelling of a code (OCPP-J 2.0.1 §4.3 has FormatViolation).
        asked = asyncio.create_task(csms.call("GetVariables", {"getVariableData": [
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"}}]}))
        request = json.loads(await ws.recv())
        await ws.send(json.dumps([4, request[1], "FormationViolation", "", {}]))
        with pytest.raises(CallErrorReply) as error:
            await asked
        assert error.value.code == "FormationViolation"
        # A message id longer than 36 characters (§4.1.4).
        await ws.send(json.dumps([2, "x" * 37, "Heartbeat", {}]))
        assert json.loads(await ws.recv())[0] == 3

    assert [v["error"] for v in csms.violations] == [
        'CALLERROR code "FormationViolation" is not an OCPP-J 2.0.1 error code (§4.3)',
        "message id of 37 characters, more than 36 (OCPP-J 2.0.1 §4.1.4)"]
    csms.violations.clear()


async def test_a_backend_offering_both_versions_agrees_on_its_first_the_station_offers(csms):
    await csms.listen(version=("2.0.1", "1.6"))
    url = f"{csms.url()}/CS-BOTH"
    async with connect(url, subprotocols=[Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
        await ws.send(json.dumps([2, "a1", "Authorize", {"idToken": {"idToken": "NOBODY", "type": "Central"}}]))
        assert json.loads(await ws.recv()) == [3, "a1", {"idTokenInfo": {"status": "Unknown"}}]
    async with connect(url, subprotocols=[Subprotocol("ocpp1.6")]) as ws:
        assert ws.subprotocol == "ocpp1.6"
        # The answers and the schemas follow the connection's version.
        await ws.send(json.dumps([2, "a2", "Authorize", {"idTag": "NOBODY"}]))
        assert json.loads(await ws.recv()) == [3, "a2", {"idTagInfo": {"status": "Invalid"}}]
    async with connect(url, subprotocols=[Subprotocol("ocpp2.1")]) as ws:
        assert ws.subprotocol is None  # OCPP-J: the handshake completes without one, then the backend closes
        await ws.wait_closed()
    assert ws.close_code == 1002

    connected = csms.events_of("connected")
    assert [(e["protocol"], e["offered"]) for e in connected] == [
        ("ocpp2.0.1", ["ocpp1.6", "ocpp2.0.1"]), ("ocpp1.6", ["ocpp1.6"])]
    assert [c.protocol for c in csms.calls] == ["ocpp2.0.1", "ocpp1.6"]
    refused = await csms.wait_event("refused")
    assert refused["reason"] == "no common subprotocol" and refused["offered"] == ["ocpp2.1"]


async def test_passwords_refusals_and_drops_on_a_201_endpoint(csms):
    await csms.listen(version="2.0.1", passwords=[b"0123456789abcdef"])
    with pytest.raises(Exception):
        async with tiny_station(csms.url(), "CS-AUTH", password="wrong-password-1"):
            pass
    async with tiny_station(csms.url(), "CS-AUTH", password="0123456789abcdef") as station:
        await station.boot()
        mark = len(csms.events)
        await csms.drop_connection()
        await csms.wait_event("disconnected", after=mark)
    await csms.refuse_connections(True)
    with pytest.raises(Exception):
        async with tiny_station(csms.url(), "CS-AUTH", password="0123456789abcdef"):
            pass
    refusals = [(e["code"], e["reason"]) for e in csms.events_of("refused")]
    assert (401, "wrong password") in refusals and (503, "offline") in refusals
    assert csms.events_of("connected")[0]["password"] == b"0123456789abcdef".hex()
