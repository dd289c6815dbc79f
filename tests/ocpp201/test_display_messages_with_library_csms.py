"""Block O of the real agent (``evse-agent run`` on the simulator's hardware) against the ``ocpp``
library's CSMS side (tests/ocpp201/csms.py): what tests/conformance201/test_o_display_message.py
proves against the strict ocpp-rpc backend, through another implementation's schemas and routing."""

from __future__ import annotations

import pytest
from ocpp import exceptions

from tests.conformance.conftest import sim  # noqa: F401  (the simulator fixture)
from tests.conformance201.conftest import Station201
from tests.conformance201.test_o_display_message import DISPLAY, simulator_with_oled
from tests.integration.test_oled_build import shows


@pytest.fixture
async def oled_sim():
    async for simulator in simulator_with_oled():
        yield simulator


async def test_display_messages_set_got_and_cleared_with_the_library_csms(oled_sim, library_csms, tmp_path):
    station = Station201(oled_sim, library_csms, tmp_path)
    try:
        await station.start(csms_url=library_csms.url(), extra=DISPLAY)
        await library_csms.wait_call("BootNotification", timeout=30)
        await library_csms.wait_call("StatusNotification", lambda p: p["connectorStatus"] == "Available")

        # O01 / O06: Accepted, the same id replaces; HTML cannot be drawn on the OLED.
        for text in ("Closed at 22:00", "Closed at 23:00"):
            answer = await library_csms.request("SetDisplayMessage", {"message": {
                "id": 7, "priority": "InFront", "state": "Idle",
                "message": {"format": "UTF8", "language": "en", "content": text}}})
            assert answer == {"status": "Accepted"}
        answer = await library_csms.request("SetDisplayMessage", {"message": {
            "id": 8, "priority": "NormalCycle", "message": {"format": "HTML", "content": "<p>x</p>"}}})
        assert answer == {"status": "NotSupportedMessageFormat"}

        # O04: by id, the one message in NotifyDisplayMessages.
        mark = library_csms.mark()
        assert await library_csms.request("GetDisplayMessages", {"requestId": 4, "id": [7]}) == {"status": "Accepted"}
        notify = await library_csms.wait_call("NotifyDisplayMessages", after=mark)
        assert notify["requestId"] == 4 and not notify.get("tbc", False)
        assert notify["messageInfo"] == [{"id": 7, "priority": "InFront", "state": "Idle", "message": {
            "format": "UTF8", "language": "en", "content": "Closed at 23:00"}}]

        # O05: Accepted once, then Unknown; nothing left to get.
        assert await library_csms.request("ClearDisplayMessage", {"id": 7}) == {"status": "Accepted"}
        assert await library_csms.request("ClearDisplayMessage", {"id": 7}) == {"status": "Unknown"}
        assert await library_csms.request("GetDisplayMessages", {"requestId": 5}) == {"status": "Unknown"}
    finally:
        await station.stop()
        print(station.log()[-6000:])


async def test_a_station_without_a_display_says_so_and_rejects_messages(sim, library_csms, tmp_path):  # noqa: F811
    """§2.12.2 DisplayMessageCtrlr.Available false where no EVSE has a display: nothing to show a
    message on, so SetDisplayMessage is Rejected (NoDisplay) and nothing is kept."""
    station = Station201(sim, library_csms, tmp_path)
    try:
        await station.start(csms_url=library_csms.url())
        await library_csms.wait_call("BootNotification", timeout=30)
        result = await library_csms.request("GetVariables", {"getVariableData": [
            {"component": {"name": "DisplayMessageCtrlr"}, "variable": {"name": "Available"}}]})
        assert result["getVariableResult"][0]["attributeValue"] == "false"
        answer = await library_csms.request("SetDisplayMessage", {"message": {
            "id": 1, "priority": "NormalCycle", "message": {"format": "ASCII", "content": "Hello"}}})
        assert answer == {"status": "Rejected", "statusInfo": {"reasonCode": "NoDisplay"}}
        assert await library_csms.request("GetDisplayMessages", {"requestId": 1}) == {"status": "Unknown"}
    finally:
        await station.stop()
        print(station.log()[-6000:])


async def test_as_many_messages_as_display_messages_max_limit_says_and_enabled(oled_sim, library_csms, tmp_path):
    """DisplayMessageCtrlr.DisplayMessages counts the messages kept, up to its maxLimit: one more
    is Rejected, one replacing a kept message is not; Enabled false: Rejected."""
    station = Station201(oled_sim, library_csms, tmp_path)

    def message(message_id: int) -> dict:
        return {"message": {"id": message_id, "priority": "NormalCycle",
                            "message": {"format": "ASCII", "content": f"Message {message_id}"}}}

    async def controller(variable: str, attribute: str = "Actual") -> str:
        result = await library_csms.request("GetVariables", {"getVariableData": [{
            "component": {"name": "DisplayMessageCtrlr"}, "variable": {"name": variable}, "attributeType": attribute}]})
        return result["getVariableResult"][0].get("attributeValue")

    try:
        await station.start(csms_url=library_csms.url(), extra=DISPLAY)
        await library_csms.wait_call("BootNotification", timeout=30)
        mark = library_csms.mark()
        answer = await library_csms.request("GetReport", {"requestId": 1, "componentVariable": [{
            "component": {"name": "DisplayMessageCtrlr"}, "variable": {"name": "DisplayMessages"}}]})
        assert answer["status"] == "Accepted"
        report = await library_csms.wait_call("NotifyReport", after=mark)
        limit = int(report["reportData"][0]["variableCharacteristics"]["maxLimit"])
        assert await controller("DisplayMessages") == "0"
        for n in range(1, limit + 1):
            assert await library_csms.request("SetDisplayMessage", message(n)) == {"status": "Accepted"}
        assert await controller("DisplayMessages") == str(limit)
        assert await library_csms.request("SetDisplayMessage", message(limit + 1)) == {
            "status": "Rejected", "statusInfo": {"reasonCode": "TooManyMessages"}}
        assert await library_csms.request("SetDisplayMessage", message(limit)) == {"status": "Accepted"}  # replaces
        assert await library_csms.request("ClearDisplayMessage", {"id": 1}) == {"status": "Accepted"}
        assert await controller("DisplayMessages") == str(limit - 1)

        result = await library_csms.request("SetVariables", {"setVariableData": [{
            "component": {"name": "DisplayMessageCtrlr"}, "variable": {"name": "Enabled"}, "attributeValue": "false"}]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
        assert await library_csms.request("SetDisplayMessage", message(1)) == {
            "status": "Rejected", "statusInfo": {"reasonCode": "Disabled"}}
    finally:
        await station.stop()
        print(station.log()[-6000:])


async def test_a_message_for_the_display_of_an_evse(oled_sim, library_csms, tmp_path):
    """MessageInfoType.display: the Display component of EVSE 1 is there; of EVSE 2 it is not (Rejected)."""
    station = Station201(oled_sim, library_csms, tmp_path)

    def message(message_id: int, evse_id: int) -> dict:
        return {"message": {"id": message_id, "priority": "NormalCycle", "display": {"name": "Display", "evse": {"id": evse_id}},
                            "message": {"format": "ASCII", "content": f"On EVSE {evse_id}"}}}

    try:
        await station.start(csms_url=library_csms.url(), extra=DISPLAY)
        await library_csms.wait_call("BootNotification", timeout=30)
        assert await library_csms.request("SetDisplayMessage", message(1, 1)) == {"status": "Accepted"}
        assert await library_csms.request("SetDisplayMessage", message(2, 2)) == {
            "status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        mark = library_csms.mark()
        assert await library_csms.request("GetDisplayMessages", {"requestId": 1}) == {"status": "Accepted"}
        notify = await library_csms.wait_call("NotifyDisplayMessages", after=mark)
        assert [(i["id"], i["display"]) for i in notify["messageInfo"]] == [(1, {"name": "Display", "evse": {"id": 1}})]
        await oled_sim.wait_for(lambda s: shows(oled_sim.display(1), "On EVSE 1"), timeout=15)
    finally:
        await station.stop()
        print(station.log()[-6000:])


async def test_a_start_time_that_is_no_date_time_is_a_format_violation(oled_sim, library_csms, tmp_path):
    """Bad input: CALLERROR FormatViolation, nothing kept, and the link goes on."""
    station = Station201(oled_sim, library_csms, tmp_path)
    try:
        await station.start(csms_url=library_csms.url(), extra=DISPLAY)
        await library_csms.wait_call("BootNotification", timeout=30)
        bad = {"message": {"id": 1, "priority": "NormalCycle", "startDateTime": "next tuesday",
                           "message": {"format": "ASCII", "content": "Soon"}}}
        with pytest.raises(exceptions.FormatViolationError):
            await library_csms.request("SetDisplayMessage", bad)
        assert await library_csms.request("GetDisplayMessages", {"requestId": 1}) == {"status": "Unknown"}
    finally:
        await station.stop()
        print(station.log()[-6000:])
