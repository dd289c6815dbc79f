"""OCTT 2.0.1 block O (Display Message): SetDisplayMessage (O01, O02 for a transaction, O06
replacing), GetDisplayMessages / NotifyDisplayMessages (O03 all, O04 by id, priority, state),
ClearDisplayMessage (O05), with the strict backend checking every message both ways.

Here the station has its OLED (an SSD1306 on the simulated I²C bus): what a case says the
driver sees is read from the panel, pixel for pixel, as the simulator page shows it. A display
shows one backend message at a time: the newest AlwaysFront, else the InFront ones in turn,
else the NormalCycle ones in turn. A message that must not be shown is checked with a second
message of a lower priority: the panel shows that one only while the first is not shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from tests.conformance.conftest import VALID
from tests.integration.test_oled_build import shows

DISPLAY = """
[[displays]]
address = 0x3C
connector = 1
refresh_s = 0.2
"""


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async for simulator in simulator_with_oled():
        yield simulator


async def simulator_with_oled() -> AsyncIterator[Simulator]:
    """The conformance suite's one-connector simulator, with an SSD1306 OLED for EVSE 1 (0x3C)."""
    data = default_toml()
    data["evse"] = [{**data["evse"][0], "display_address": 0x3C}]
    data["i2c"] = {**data["i2c"], "nfc": "pn532", "temperature_sensor": "none"}
    config = parse_config(data)
    config = dataclasses.replace(config, vpcd=dataclasses.replace(config.vpcd, port=0, hold_s=0.6))
    simulator = Simulator(config, http=False, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


def utc(seconds_from_now: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message(message_id: int, text: str, priority: str = "NormalCycle", *, state: str | None = None,
            start: dt.datetime | None = None, end: dt.datetime | None = None, transaction_id: str | None = None,
            fmt: str = "ASCII") -> dict:
    """A SetDisplayMessageRequest."""
    info: dict = {"id": message_id, "priority": priority, "message": {"format": fmt, "language": "en", "content": text}}
    if state is not None:
        info["state"] = state
    if start is not None:
        info["startDateTime"] = iso(start)
    if end is not None:
        info["endDateTime"] = iso(end)
    if transaction_id is not None:
        info["transactionId"] = transaction_id
    return {"message": info}


async def boot(station) -> None:
    await station.boot(extra=DISPLAY)
    await station.sim.wait_for(lambda s: s["i2c"]["displays"]["1"]["on"], timeout=10)


async def accepted(csms, request: dict) -> None:
    assert await csms.call("SetDisplayMessage", request) == {"status": "Accepted"}


async def on_panel(station, text: str, timeout: float = 15.0) -> dt.datetime:
    """Wait until the OLED shows ``text``; when the test saw it."""
    await station.sim.wait_for(lambda s: shows(station.sim.display(1), text), timeout=timeout)
    return dt.datetime.now(dt.UTC)


async def off_panel(station, text: str, timeout: float = 15.0) -> dt.datetime:
    await station.sim.wait_for(lambda s: not shows(station.sim.display(1), text), timeout=timeout)
    return dt.datetime.now(dt.UTC)


async def reported(csms, request: dict, *, after: int) -> list[dict]:
    """GetDisplayMessages Accepted, and the messageInfo of every NotifyDisplayMessages page of its
    requestId (tbc on every page but the last)."""
    assert await csms.call("GetDisplayMessages", request) == {"status": "Accepted"}
    request_id = request["requestId"]
    pages: list[dict] = []

    def complete() -> bool:
        pages[:] = [p for p in csms.calls_of("NotifyDisplayMessages", after=after) if p["requestId"] == request_id]
        return bool(pages) and not pages[-1].get("tbc", False)

    await csms.wait_for(complete)
    assert all(p.get("tbc") for p in pages[:-1])
    return [info for p in pages for info in p.get("messageInfo", [])]


async def unknown(csms, request: dict) -> None:
    """GetDisplayMessages Unknown, and no NotifyDisplayMessages for it."""
    mark = csms.mark()
    assert await csms.call("GetDisplayMessages", request) == {"status": "Unknown"}
    await csms.barrier()
    assert not csms.calls_of("NotifyDisplayMessages", after=mark)


async def charging(station, csms) -> str:
    """EnergyTransferStarted: a card, the EV, energy; the transaction's id."""
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    return csms.started_transaction_id(after=mark)


async def test_TC_O_01_set_display_message_success(station, csms):
    """O01: Accepted, and the driver reads it on the display."""
    await boot(station)
    await accepted(csms, message(1, "Welcome to O01"))
    await on_panel(station, "Welcome to O01")


async def test_TC_O_02_get_all_display_messages_success(station, csms):
    """O03: no criteria: Accepted, every message in NotifyDisplayMessages with the requestId,
    paged (tbc) when there are more than one page holds."""
    await boot(station)
    for n in range(1, 7):
        await accepted(csms, message(n, f"Message {n}", "NormalCycle" if n % 2 else "InFront"))
    mark = csms.mark()
    infos = await reported(csms, {"requestId": 21}, after=mark)
    assert sorted(i["id"] for i in infos) == [1, 2, 3, 4, 5, 6]
    assert len(csms.calls_of("NotifyDisplayMessages", after=mark)) > 1
    second = next(i for i in infos if i["id"] == 2)
    assert second["priority"] == "InFront" and second["message"] == {"format": "ASCII", "language": "en",
                                                                     "content": "Message 2"}


async def test_TC_O_03_get_all_display_messages_none_configured(station, csms):
    """O03: nothing configured: Unknown, no NotifyDisplayMessages."""
    await boot(station)
    await unknown(csms, {"requestId": 3})


async def test_TC_O_04_clear_display_message_success(station, csms):
    """O05: Accepted; the message leaves the display and is no longer configured."""
    await boot(station)
    await accepted(csms, message(4, "Clear me O04"))
    await on_panel(station, "Clear me O04")
    assert await csms.call("ClearDisplayMessage", {"id": 4}) == {"status": "Accepted"}
    await off_panel(station, "Clear me O04")
    await unknown(csms, {"requestId": 4, "id": [4]})


async def test_TC_O_05_clear_display_message_unknown_key(station, csms):
    """O05: no message with that id: Unknown; the one configured stays."""
    await boot(station)
    await accepted(csms, message(5, "Stays O05"))
    assert await csms.call("ClearDisplayMessage", {"id": 55}) == {"status": "Unknown"}
    mark = csms.mark()
    assert [i["id"] for i in await reported(csms, {"requestId": 5}, after=mark)] == [5]


async def test_TC_O_06_set_display_message_specific_transaction_success(station, csms):
    """O02: a message for the running transaction: Accepted, shown during it, removed once it
    has ended (EV disconnected)."""
    await boot(station)
    transaction_id = await charging(station, csms)
    await accepted(csms, message(6, "Your tx O06", "InFront", transaction_id=transaction_id))
    await on_panel(station, "Your tx O06")
    mark = csms.mark()
    station.unplug()
    await csms.wait_transaction_event("Ended", after=mark)
    await off_panel(station, "Your tx O06")
    await unknown(csms, {"requestId": 6})


async def test_TC_O_07_get_specific_display_message_id(station, csms):
    """O04: by id: Accepted, exactly that message."""
    await boot(station)
    await accepted(csms, message(71, "First O07"))
    await accepted(csms, message(72, "Second O07", "InFront"))
    mark = csms.mark()
    infos = await reported(csms, {"requestId": 7, "id": [72]}, after=mark)
    assert [(i["id"], i["message"]["content"]) for i in infos] == [(72, "Second O07")]


async def test_TC_O_08_get_specific_display_message_priority(station, csms):
    """O04: by priority: only the messages of that priority."""
    await boot(station)
    await accepted(csms, message(81, "Normal O08", "NormalCycle"))
    await accepted(csms, message(82, "Front O08", "InFront"))
    await accepted(csms, message(83, "Always O08", "AlwaysFront"))
    mark = csms.mark()
    infos = await reported(csms, {"requestId": 8, "priority": "InFront"}, after=mark)
    assert [(i["id"], i["priority"]) for i in infos] == [(82, "InFront")]


async def test_TC_O_09_get_specific_display_message_state(station, csms):
    """O04: by state: only the messages for that state."""
    await boot(station)
    await accepted(csms, message(91, "Idle O09", state="Idle"))
    await accepted(csms, message(92, "Charging O09", state="Charging"))
    await accepted(csms, message(93, "Any O09"))
    mark = csms.mark()
    infos = await reported(csms, {"requestId": 9, "state": "Charging"}, after=mark)
    assert [(i["id"], i["state"]) for i in infos] == [(92, "Charging")]


async def test_TC_O_10_set_display_message_specific_transaction_unknown_transaction(station, csms):
    """O02: a transactionId the station does not have running: UnknownTransaction, nothing kept."""
    await boot(station)
    await charging(station, csms)
    answer = await csms.call("SetDisplayMessage", message(10, "Nobody O10", transaction_id="no-such-transaction"))
    assert answer == {"status": "UnknownTransaction"}
    await unknown(csms, {"requestId": 10})


async def test_TC_O_11_get_specific_display_message_unknown_parameters(station, csms):
    """O04: an id no message has: Unknown."""
    await boot(station)
    await accepted(csms, message(11, "Known O11"))
    await unknown(csms, {"requestId": 11, "id": [12]})


async def test_TC_O_12_set_display_message_replace(station, csms):
    """O06: the same id replaces the message: one message, the new text, on the display too."""
    await boot(station)
    await accepted(csms, message(12, "Old text O12"))
    await on_panel(station, "Old text O12")
    await accepted(csms, message(12, "New text O12", "InFront"))
    await on_panel(station, "New text O12")
    assert not shows(station.sim.display(1), "Old text O12")
    mark = csms.mark()
    infos = await reported(csms, {"requestId": 12}, after=mark)
    assert [(i["id"], i["priority"], i["message"]["content"]) for i in infos] == [(12, "InFront", "New text O12")]


async def test_TC_O_13_set_display_message_display_at_start_time(station, csms):
    """O01: a startDateTime: configured at once, shown from that time on (not before)."""
    await boot(station)
    start = utc(4)
    await accepted(csms, message(13, "Later O13", "InFront", start=start))
    mark = csms.mark()
    assert [i["id"] for i in await reported(csms, {"requestId": 13}, after=mark)] == [13]
    seen = await on_panel(station, "Later O13")
    assert seen >= start - dt.timedelta(seconds=0.5)


async def test_TC_O_14_set_display_message_remove_after_end_time(station, csms):
    """O01: an endDateTime: shown until then, then removed (no longer configured)."""
    await boot(station)
    end = utc(4)
    await accepted(csms, message(14, "Until O14", "InFront", end=end))
    await on_panel(station, "Until O14")
    gone = await off_panel(station, "Until O14")
    assert gone >= end - dt.timedelta(seconds=0.5)
    await unknown(csms, {"requestId": 14})


async def test_TC_O_19_set_display_message_not_supported_message_format(station, csms):
    """O01: DisplayMessageCtrlr.SupportedFormats says ASCII and UTF8 (the OLED draws text): an
    HTML or URI message answers NotSupportedMessageFormat and is not kept; UTF8 is Accepted."""
    await boot(station)
    result = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "DisplayMessageCtrlr"}, "variable": {"name": "SupportedFormats"}}]})
    assert result["getVariableResult"][0]["attributeValue"] == "ASCII,UTF8"
    for fmt in ("HTML", "URI"):
        answer = await csms.call("SetDisplayMessage", message(19, "<b>x</b>", fmt=fmt))
        assert answer == {"status": "NotSupportedMessageFormat"}
    await unknown(csms, {"requestId": 19})
    await accepted(csms, message(19, "UTF8 ok O19", fmt="UTF8"))
    await on_panel(station, "UTF8 ok O19")


async def test_TC_O_20_set_display_message_persistent_over_reboot(station, csms):
    """O01: a message is kept across a restart of the station (even a power cut): still
    configured, still shown."""
    await boot(station)
    await accepted(csms, message(20, "Kept O20", "InFront", state="Idle"))
    await on_panel(station, "Kept O20")
    mark = csms.mark()
    await station.restart(kill=True)
    await station.booted(after=mark)
    await on_panel(station, "Kept O20")
    mark = csms.mark()
    infos = await reported(csms, {"requestId": 20}, after=mark)
    assert [(i["id"], i["priority"], i["state"], i["message"]["content"]) for i in infos] == [
        (20, "InFront", "Idle", "Kept O20")]


async def test_TC_O_22_set_display_message_multiple_in_front(station, csms):
    """§3.55 InFront: several InFront messages are cycled: each comes up in turn, in front of
    a NormalCycle one."""
    await boot(station)
    await accepted(csms, message(220, "Normal O22", "NormalCycle"))
    await on_panel(station, "Normal O22")
    await accepted(csms, message(221, "Front A O22", "InFront"))
    await accepted(csms, message(222, "Front B O22", "InFront"))
    for _ in range(2):
        await on_panel(station, "Front A O22")
        await on_panel(station, "Front B O22")
    assert not shows(station.sim.display(1), "Normal O22")


async def test_TC_O_24_set_display_message_second_always_front(station, csms):
    """§3.55 AlwaysFront: a newer AlwaysFront message takes the place of the one shown, and is
    not cycled with it."""
    await boot(station)
    await accepted(csms, message(241, "Always A O24", "AlwaysFront"))
    await on_panel(station, "Always A O24")
    await accepted(csms, message(242, "Always B O24", "AlwaysFront"))
    await on_panel(station, "Always B O24")
    assert not shows(station.sim.display(1), "Always A O24")


async def test_TC_O_27_set_display_message_transaction_start_time(station, csms):
    """O02 with a startDateTime: shown from then on during the transaction, removed when it ends."""
    await boot(station)
    transaction_id = await charging(station, csms)
    start = utc(4)
    await accepted(csms, message(27, "Tx later O27", "InFront", start=start, transaction_id=transaction_id))
    seen = await on_panel(station, "Tx later O27")
    assert seen >= start - dt.timedelta(seconds=0.5)
    mark = csms.mark()
    station.unplug()
    await csms.wait_transaction_event("Ended", after=mark)
    await off_panel(station, "Tx later O27")
    await unknown(csms, {"requestId": 27})


async def test_TC_O_28_set_display_message_transaction_end_time(station, csms):
    """O02 with an endDateTime: shown during the transaction until then, then removed while the
    transaction goes on."""
    await boot(station)
    transaction_id = await charging(station, csms)
    end = utc(4)
    await accepted(csms, message(28, "Tx until O28", "InFront", end=end, transaction_id=transaction_id))
    await on_panel(station, "Tx until O28")
    gone = await off_panel(station, "Tx until O28")
    assert gone >= end - dt.timedelta(seconds=0.5)
    await unknown(csms, {"requestId": 28})
    assert station.evse()["contactor_closed"]  # the transaction goes on


async def test_TC_O_30_set_display_message_transaction_multiple_in_front(station, csms):
    """O02 + §3.55: two InFront messages of the transaction are cycled during it."""
    await boot(station)
    transaction_id = await charging(station, csms)
    await accepted(csms, message(301, "Tx A O30", "InFront", transaction_id=transaction_id))
    await accepted(csms, message(302, "Tx B O30", "InFront", transaction_id=transaction_id))
    for _ in range(2):
        await on_panel(station, "Tx A O30")
        await on_panel(station, "Tx B O30")


async def test_TC_O_32_set_display_message_transaction_second_always_front(station, csms):
    """O02 + §3.55: a newer AlwaysFront message of the transaction takes the place of the first."""
    await boot(station)
    transaction_id = await charging(station, csms)
    await accepted(csms, message(321, "Tx first O32", "AlwaysFront", transaction_id=transaction_id))
    await on_panel(station, "Tx first O32")
    await accepted(csms, message(322, "Tx second O32", "AlwaysFront", transaction_id=transaction_id))
    await on_panel(station, "Tx second O32")
    assert not shows(station.sim.display(1), "Tx first O32")


async def test_TC_O_33_get_specific_display_message_no_messages_configured(station, csms):
    """O04: asking for an id, a priority or a state with nothing configured: Unknown."""
    await boot(station)
    await unknown(csms, {"requestId": 33, "id": [1]})
    await unknown(csms, {"requestId": 34, "priority": "InFront"})
    await unknown(csms, {"requestId": 35, "state": "Idle"})


async def test_TC_O_34_get_specific_display_message_known_id_not_matching_state(station, csms):
    """O04: every criterion must match: a known id with another state is Unknown."""
    await boot(station)
    await accepted(csms, message(34, "Charging O34", state="Charging"))
    await unknown(csms, {"requestId": 34, "id": [34], "state": "Idle"})
    mark = csms.mark()
    assert [i["id"] for i in await reported(csms, {"requestId": 340, "id": [34], "state": "Charging"}, after=mark)] == [34]


async def test_TC_O_35_get_specific_display_message_known_id_not_matching_priority(station, csms):
    """O04: a known id with another priority is Unknown."""
    await boot(station)
    await accepted(csms, message(35, "Front O35", "InFront"))
    await unknown(csms, {"requestId": 35, "id": [35], "priority": "NormalCycle"})
    mark = csms.mark()
    assert [i["id"] for i in await reported(csms, {"requestId": 350, "id": [35], "priority": "InFront"}, after=mark)] == [35]


async def test_TC_O_36_set_display_message_state_charging(station, csms):
    """O01 state Charging: not shown while the EVSE is idle (the NormalCycle one is), shown while
    it charges, hidden again once the session is over, and still configured."""
    await boot(station)
    await accepted(csms, message(361, "Charging O36", "InFront", state="Charging"))
    await accepted(csms, message(362, "Other O36", "NormalCycle"))
    await on_panel(station, "Other O36")
    assert not shows(station.sim.display(1), "Charging O36")
    await charging(station, csms)
    await on_panel(station, "Charging O36")
    mark = csms.mark()
    station.unplug()
    await csms.wait_transaction_event("Ended", after=mark)
    await on_panel(station, "Other O36")
    mark = csms.mark()
    assert [i["state"] for i in await reported(csms, {"requestId": 36, "id": [361]}, after=mark)] == ["Charging"]


async def test_TC_O_37_set_display_message_state_idle(station, csms):
    """O01 state Idle: shown while idle, not while charging (the NormalCycle one is then), and
    again once the session is over."""
    await boot(station)
    await accepted(csms, message(371, "Idle O37", "InFront", state="Idle"))
    await accepted(csms, message(372, "Other O37", "NormalCycle"))
    await on_panel(station, "Idle O37")
    await charging(station, csms)
    await on_panel(station, "Other O37")
    assert not shows(station.sim.display(1), "Idle O37")
    mark = csms.mark()
    station.unplug()
    await csms.wait_transaction_event("Ended", after=mark)
    await on_panel(station, "Idle O37")


async def test_TC_O_38_set_display_message_state_unavailable(station, csms):
    """O01 state Unavailable: shown while the EVSE is Inoperative, not before, not after."""
    await boot(station)
    await accepted(csms, message(381, "Closed O38", "InFront", state="Unavailable"))
    await accepted(csms, message(382, "Other O38", "NormalCycle"))
    await on_panel(station, "Other O38")
    assert not shows(station.sim.display(1), "Closed O38")
    mark = csms.mark()
    answer = await csms.call("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}})
    assert answer["status"] == "Accepted"
    await csms.wait_connector_status("Unavailable", after=mark)
    await on_panel(station, "Closed O38")
    mark = csms.mark()
    answer = await csms.call("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 1}})
    assert answer["status"] == "Accepted"
    await csms.wait_connector_status("Available", after=mark)
    await on_panel(station, "Other O38")


async def test_TC_O_39_set_display_message_state_faulted(station, csms):
    """O01 state Faulted: shown while the EVSE is Faulted (its RCD tripped), not before, not after."""
    await boot(station)
    await accepted(csms, message(391, "Sorry O39", "InFront", state="Faulted"))
    await accepted(csms, message(392, "Other O39", "NormalCycle"))
    await on_panel(station, "Other O39")
    assert not shows(station.sim.display(1), "Sorry O39")
    mark = csms.mark()
    station.sim.inject_fault(1, "rcd")
    await csms.wait_connector_status("Faulted", after=mark)
    await on_panel(station, "Sorry O39")
    assert not shows(station.sim.display(1), "Other O39")
    mark = csms.mark()
    station.sim.clear_fault(1)
    await csms.wait_connector_status("Available", after=mark)
    await on_panel(station, "Other O39")
