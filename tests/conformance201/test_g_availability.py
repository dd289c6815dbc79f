"""OCTT 2.0.1 block G (Availability): connector status (G01), ChangeAvailability of the station,
an EVSE or a connector (G03/G04) in every direction, with a transaction running, across a
reboot, and a cable lock that fails (G05), with the strict backend checking every message.

The station has one EVSE with one connector: the EVSE's and the connector's state are the same."""

from __future__ import annotations

from tests.conformance.conftest import VALID

INOPERATIVE, OPERATIVE = "Inoperative", "Operative"
EVSE = {"id": 1}
CONNECTOR = {"id": 1, "connectorId": 1}


def change(status: str, evse: dict | None = None) -> dict:
    request: dict = {"operationalStatus": status}
    if evse is not None:
        request["evse"] = evse
    return request


async def made(station, csms, status: str, evse: dict | None, expect: str) -> int:
    """ChangeAvailability Accepted and the connector reported ``expect``; the mark before it."""
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", change(status, evse)) == {"status": "Accepted"}
    await csms.wait_connector_status(expect, after=mark)
    return mark


async def charging(station, csms) -> str:
    """Reusable state EnergyTransferStarted: the valid idToken, the EV plugged in, energy flowing."""
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    return started["transactionInfo"]["transactionId"]


async def same_state(station, csms, evse: dict | None, status: str) -> None:
    """G03.FR.05 / G04.FR.05: the state asked for is the state it is in: Accepted, nothing sent."""
    if status == INOPERATIVE:
        await made(station, csms, INOPERATIVE, evse, "Unavailable")
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", change(status, evse)) == {"status": "Accepted"}
    await csms.barrier()
    assert csms.connector_statuses(after=mark) == []


async def with_transaction(station, csms, evse: dict | None) -> None:
    """G03.FR.06 / G04.FR.06: Scheduled; the transaction goes on (energy flows), and when it ends
    the connector becomes Unavailable."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", change(INOPERATIVE, evse)) == {"status": "Scheduled"}
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"]
    await station.tap(VALID)  # the EV driver ends it
    ended = await csms.wait_transaction_event("Ended", after=mark)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    await csms.wait_connector_status("Unavailable", after=mark)
    await station.no_energy()


async def persists(station, csms, evse: dict | None) -> None:
    """The Inoperative state outlives a reboot: after it the connector is reported Unavailable
    and no transaction can start there."""
    await station.boot()
    await made(station, csms, INOPERATIVE, evse, "Unavailable")
    mark = csms.mark()
    await station.restart()
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    await csms.wait_connector_status("Unavailable", after=mark)
    assert "Available" not in csms.connector_statuses(after=mark)
    assert await csms.call("RequestStartTransaction", {"idToken": {"idToken": VALID, "type": "ISO14443"},
                                                       "remoteStartId": 7, "evseId": 1}) == {"status": "Rejected"}


async def test_TC_G_01_connector_status_available_to_occupied(station, csms):
    """G01.FR.01: plugging the EV in: StatusNotification Occupied."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    status = await csms.wait_connector_status("Occupied", after=mark)
    assert (status["evseId"], status["connectorId"]) == (1, 1)


async def test_TC_G_02_connector_status_occupied_to_available(station, csms):
    """G01.FR.02: unplugging (no transaction): StatusNotification Available."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    mark = csms.mark()
    station.unplug()
    await csms.wait_connector_status("Available", after=mark)


async def test_TC_G_03_change_availability_evse_operative_to_inoperative(station, csms):
    await station.boot()
    await made(station, csms, INOPERATIVE, EVSE, "Unavailable")
    assert await csms.call("RequestStartTransaction", {"idToken": {"idToken": VALID, "type": "ISO14443"},
                                                       "remoteStartId": 1, "evseId": 1}) == {"status": "Rejected"}


async def test_TC_G_04_change_availability_evse_inoperative_to_operative(station, csms):
    await station.boot()
    await made(station, csms, INOPERATIVE, EVSE, "Unavailable")
    await made(station, csms, OPERATIVE, EVSE, "Available")


async def test_TC_G_05_change_availability_station_operative_to_inoperative(station, csms):
    await station.boot()
    await made(station, csms, INOPERATIVE, None, "Unavailable")
    report = await csms.call("GetVariables", {"getVariableData": [
        {"component": {"name": "ChargingStation"}, "variable": {"name": "AvailabilityState"}}]})
    assert report["getVariableResult"][0]["attributeValue"] == "Unavailable"


async def test_TC_G_06_change_availability_station_inoperative_to_operative(station, csms):
    await station.boot()
    await made(station, csms, INOPERATIVE, None, "Unavailable")
    await made(station, csms, OPERATIVE, None, "Available")


async def test_TC_G_07_change_availability_connector_operative_to_inoperative(station, csms):
    await station.boot()
    await made(station, csms, INOPERATIVE, CONNECTOR, "Unavailable")


async def test_TC_G_08_change_availability_connector_inoperative_to_operative(station, csms):
    await station.boot()
    await made(station, csms, INOPERATIVE, CONNECTOR, "Unavailable")
    await made(station, csms, OPERATIVE, CONNECTOR, "Available")


async def test_TC_G_09_change_availability_evse_operative_to_operative(station, csms):
    await station.boot()
    await same_state(station, csms, EVSE, OPERATIVE)


async def test_TC_G_10_change_availability_evse_inoperative_to_inoperative(station, csms):
    await station.boot()
    await same_state(station, csms, EVSE, INOPERATIVE)


async def test_TC_G_11_change_availability_evse_with_ongoing_transaction(station, csms):
    await with_transaction(station, csms, EVSE)


async def test_TC_G_12_change_availability_station_operative_to_operative(station, csms):
    await station.boot()
    await same_state(station, csms, None, OPERATIVE)


async def test_TC_G_13_change_availability_station_inoperative_to_inoperative(station, csms):
    await station.boot()
    await same_state(station, csms, None, INOPERATIVE)


async def test_TC_G_14_change_availability_station_with_ongoing_transaction(station, csms):
    await with_transaction(station, csms, None)


async def test_TC_G_15_change_availability_connector_operative_to_operative(station, csms):
    await station.boot()
    await same_state(station, csms, CONNECTOR, OPERATIVE)


async def test_TC_G_16_change_availability_connector_inoperative_to_inoperative(station, csms):
    await station.boot()
    await same_state(station, csms, CONNECTOR, INOPERATIVE)


async def test_TC_G_17_change_availability_connector_with_ongoing_transaction(station, csms):
    await with_transaction(station, csms, CONNECTOR)


async def test_TC_G_18_change_availability_evse_persists_across_reboot(station, csms):
    await persists(station, csms, EVSE)


async def test_TC_G_19_change_availability_connector_persists_across_reboot(station, csms):
    await persists(station, csms, CONNECTOR)


async def test_TC_G_20_connector_status_lock_failure(station, csms):
    """G05: the cable lock does not engage: NotifyEvent ConnectorPlugRetentionLock.Problem true
    (G05.FR.02), the connector Faulted, no transaction and no energy (G05.FR.01)."""
    await station.boot(lock=True)
    station.sim.gpio.set(1, "lock_jammed", True)
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    event = await csms.wait_call("NotifyEvent", lambda p: p["eventData"][0]["component"]["name"] ==
                                 "ConnectorPlugRetentionLock", after=mark, timeout=10)  # (the EVSE's monitor reports too)
    data = event["eventData"][0]
    assert data["component"] == {"name": "ConnectorPlugRetentionLock", "evse": {"id": 1, "connectorId": 1}}
    assert (data["variable"], data["actualValue"], data["trigger"]) == ({"name": "Problem"}, "true", "Delta")
    await csms.wait_connector_status("Faulted", after=mark)
    await csms.barrier()
    assert not [e for e in csms.transaction_events(after=mark) if e["eventType"] == "Started"
                and e["transactionInfo"].get("chargingState") == "Charging"]
    assert not station.evse()["contactor_closed"] and station.evse()["power_w"] == 0


async def test_TC_G_21_change_availability_station_persists_across_reboot(station, csms):
    await persists(station, csms, None)
