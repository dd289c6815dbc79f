"""OCTT 2.0.1 block H (Reservation): ReserveNow for a specific EVSE, an unspecified EVSE or a
connector type, CancelReservation, and the station ending a reservation itself
(ReservationStatusUpdate), with the strict backend checking every message both ways.

The station has one EVSE (connector type sType2): a reservation of an unspecified EVSE leaves as
many EVSEs free as there are reservations, so the EVSE shows Reserved at once (H01.FR.07)."""

from __future__ import annotations

import datetime as dt

from tests.conformance.conftest import GROUP_1, GROUP_2, PARENT, VALID, VALID_2
from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)


def reserve(reservation_id: int = 1, id_token: str = VALID, *, evse: int | None = 1, seconds: float = 600,
            connector_type: str | None = None, group: str | None = None, token_type: str = "ISO14443") -> dict:
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    request: dict = {"id": reservation_id, "idToken": {"idToken": id_token, "type": token_type},
                     "expiryDateTime": expiry.isoformat(timespec="seconds").replace("+00:00", "Z")}
    if evse is not None:
        request["evseId"] = evse
    if connector_type is not None:
        request["connectorType"] = connector_type
    if group is not None:
        request["groupIdToken"] = {"idToken": group, "type": "Central"}
    return request


async def reserved(csms, request: dict) -> int:
    """ReserveNow Accepted and the connector reported Reserved; the mark before it."""
    mark = csms.mark()
    assert await csms.call("ReserveNow", request) == {"status": "Accepted"}
    await csms.wait_connector_status("Reserved", after=mark)
    return mark


async def started(csms, *, after: int) -> dict:
    return await csms.wait_transaction_event("Started", after=after)


async def test_TC_H_01_reserve_specific_evse_valid_id_token(station, csms):
    """H01.FR.03: Reserved; H03.FR.09: the reserved idToken uses it and the transaction names the
    reservation (TransactionEvent reservationId)."""
    await station.boot()
    mark = await reserved(csms, reserve(11, VALID))
    await station.tap(VALID)
    station.plug()
    event = await started(csms, after=mark)
    assert event["reservationId"] == 11 and event["idToken"]["idToken"] == VALID
    await station.energy_flows()
    await csms.barrier()
    assert not csms.calls_of("ReservationStatusUpdate", after=mark)  # used: nothing to report


async def test_TC_H_02_reserve_specific_evse_different_id_token(station, csms):
    """H03: another idToken (no group) may not use the reserved EVSE: no transaction, no energy,
    the connector stays Reserved (G01.FR.09)."""
    await station.boot()
    mark = await reserved(csms, reserve(12, VALID))
    await station.tap(VALID_2)
    station.plug()
    await csms.barrier()
    assert not csms.transaction_events(after=mark)
    assert csms.connector_statuses(after=mark) == ["Reserved"]
    assert not station.evse()["contactor_closed"]


async def test_TC_H_03_reserve_specific_evse_occupied_by_reservation(station, csms):
    """H01.FR.11: an EVSE reserved under another id answers Occupied."""
    await station.boot()
    await reserved(csms, reserve(13, VALID))
    assert await csms.call("ReserveNow", reserve(14, VALID_2)) == {"status": "Occupied"}


async def test_TC_H_04_reserve_specific_evse_occupied(station, csms):
    """H01.FR.11: an EVSE with an EV plugged in answers Occupied."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    assert await csms.call("ReserveNow", reserve(15)) == {"status": "Occupied"}


async def test_TC_H_06_reserve_specific_evse_unavailable(station, csms):
    """H01.FR.13: an Unavailable EVSE answers Unavailable."""
    await station.boot()
    mark = csms.mark()
    assert (await csms.call("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}))["status"] == "Accepted"
    await csms.wait_connector_status("Unavailable", after=mark)
    assert await csms.call("ReserveNow", reserve(16)) == {"status": "Unavailable"}


async def test_TC_H_07_reservation_ended_not_used(station, csms):
    """H04.FR.01/02: at expiryDateTime the reservation ends: ReservationStatusUpdate Expired and
    the connector Available again."""
    await station.boot()
    mark = await reserved(csms, reserve(17, seconds=3))
    update = await csms.wait_call("ReservationStatusUpdate", after=mark, timeout=10)
    assert update == {"reservationId": 17, "reservationUpdateStatus": "Expired"}
    await csms.wait_connector_status("Available", after=mark)


async def test_TC_H_08_reserve_unspecified_evse_accepted(station, csms):
    """H01.FR.04/07: no evseId: Accepted, the one free EVSE is kept (Reserved); the idToken's
    transaction takes the reservation up (reservationId in Started)."""
    await station.boot()
    mark = await reserved(csms, reserve(18, VALID, evse=None))
    await station.tap(VALID)
    station.plug()
    event = await started(csms, after=mark)
    assert event["reservationId"] == 18 and event["evse"]["id"] == 1
    await station.energy_flows()


async def test_TC_H_09_reserve_unspecified_evse_occupied_by_reservation(station, csms):
    """H01.FR.11: every EVSE reserved: a reservation of an unspecified EVSE answers Occupied."""
    await station.boot()
    await reserved(csms, reserve(19, VALID, evse=1))
    assert await csms.call("ReserveNow", reserve(20, VALID_2, evse=None)) == {"status": "Occupied"}


async def test_TC_H_10_reserve_unspecified_evse_occupied(station, csms):
    """H01.FR.11: every EVSE occupied: Occupied."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    assert await csms.call("ReserveNow", reserve(21, evse=None)) == {"status": "Occupied"}


async def test_TC_H_12_reserve_unspecified_evse_unavailable(station, csms):
    """H01.FR.13: every EVSE Unavailable: Unavailable."""
    await station.boot()
    mark = csms.mark()
    assert (await csms.call("ChangeAvailability", {"operationalStatus": "Inoperative"}))["status"] == "Accepted"
    await csms.wait_connector_status("Unavailable", after=mark)
    assert await csms.call("ReserveNow", reserve(22, evse=None)) == {"status": "Unavailable"}


async def test_TC_H_13_reserve_unspecified_evse_rejected(station, csms):
    """H01.FR.19: ReservationCtrlr.NonEvseSpecific false: a reservation without evseId is Rejected."""
    await station.boot()
    result = await csms.call("SetVariables", {"setVariableData": [{
        "component": {"name": "ReservationCtrlr"}, "variable": {"name": "NonEvseSpecific"}, "attributeValue": "false"}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    mark = csms.mark()
    answer = await csms.call("ReserveNow", reserve(23, evse=None))
    assert answer["status"] == "Rejected"
    await csms.barrier()
    assert "Reserved" not in csms.connector_statuses(after=mark)


async def test_TC_H_14_reserve_unspecified_evse_reservations_equal_free_evses(station, csms):
    """H01.FR.07: as many reservations as free EVSEs: every free EVSE shows Reserved, another
    idToken cannot start there, the reservation's own can."""
    await station.boot()
    mark = await reserved(csms, reserve(24, VALID, evse=None))
    assert await csms.call("ReserveNow", reserve(25, VALID_2, evse=None)) == {"status": "Occupied"}
    assert await csms.call("RequestStartTransaction", {"idToken": {"idToken": VALID_2, "type": "ISO14443"},
                                                       "remoteStartId": 1}) == {"status": "Rejected"}
    await station.tap(VALID)
    station.plug()
    event = await started(csms, after=mark)
    assert event["reservationId"] == 24


async def test_TC_H_15_reserve_connector_type_success(station, csms):
    """H01.FR.06: a reservation of a connector type the station has (sType2) is Accepted."""
    await station.boot()
    mark = await reserved(csms, reserve(26, VALID, evse=None, connector_type="sType2"))
    assert await csms.call("ReserveNow", reserve(27, VALID, evse=None, connector_type="cCCS2")) == {
        "status": "Rejected", "statusInfo": {"reasonCode": "UnknownConnectorType"}}
    await station.tap(VALID)
    station.plug()
    assert (await started(csms, after=mark))["reservationId"] == 26


async def test_TC_H_16_reserve_connector_type_reservations_equal_free_connectors(station, csms):
    """H01.FR.06/07: the connectors of that type all reserved: the next one answers Occupied."""
    await station.boot()
    await reserved(csms, reserve(28, VALID, evse=None, connector_type="sType2"))
    assert await csms.call("ReserveNow", reserve(29, VALID_2, evse=None, connector_type="sType2")) == {"status": "Occupied"}


async def test_TC_H_17_cancel_reservation_success(station, csms):
    """H02.FR.01/03/04: Accepted, the EVSE Available again, nothing else reported."""
    await station.boot()
    await reserved(csms, reserve(30))
    mark = csms.mark()
    assert await csms.call("CancelReservation", {"reservationId": 30}) == {"status": "Accepted"}
    await csms.wait_connector_status("Available", after=mark)
    await csms.barrier()
    assert not csms.calls_of("ReservationStatusUpdate", after=mark)


async def test_TC_H_18_cancel_reservation_rejected(station, csms):
    """H02.FR.02: no reservation with that id: Rejected, the one there stays."""
    await station.boot()
    mark = await reserved(csms, reserve(31))
    assert await csms.call("CancelReservation", {"reservationId": 32}) == {"status": "Rejected"}
    await csms.barrier()
    assert csms.connector_statuses(after=mark) == ["Reserved"]


async def test_TC_H_19_reserved_evse_used_with_group_id(station, csms):
    """H03 S2: a reservation with a groupIdToken: another idToken of that group (the backend's
    Authorize answer names it) uses the EVSE."""
    await station.boot()
    mark = await reserved(csms, reserve(33, GROUP_1, group=PARENT))
    await station.tap(GROUP_2)
    station.plug()
    event = await started(csms, after=mark)
    assert event["reservationId"] == 33 and event["idToken"]["idToken"] == GROUP_2
    await station.energy_flows()


async def test_TC_H_21_station_cancels_reservation_when_unavailable(station, csms):
    """H01.FR.20: the reserved EVSE made Inoperative: ReservationStatusUpdate Removed, Unavailable."""
    await station.boot()
    mark = await reserved(csms, reserve(34))
    answer = await csms.call("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}})
    assert answer["status"] == "Accepted"
    update = await csms.wait_call("ReservationStatusUpdate", after=mark)
    assert update == {"reservationId": 34, "reservationUpdateStatus": "Removed"}
    await csms.wait_connector_status("Unavailable", after=mark)


async def test_TC_H_22_reserve_specific_evse_configured_to_reject(station, csms):
    """H01.FR.01: ReservationCtrlr.Enabled false: Rejected, nothing reserved."""
    await station.boot()
    result = await csms.call("SetVariables", {"setVariableData": [{
        "component": {"name": "ReservationCtrlr"}, "variable": {"name": "Enabled"}, "attributeValue": "false"}]})
    assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"
    mark = csms.mark()
    assert (await csms.call("ReserveNow", reserve(35)))["status"] == "Rejected"
    await csms.barrier()
    assert "Reserved" not in csms.connector_statuses(after=mark)


async def test_TC_H_23_replace_reservation(station, csms):
    """H01.FR.02: the same id replaces the reservation (here: for another idToken), Accepted,
    still Reserved; the new idToken uses it, the old one no longer can."""
    await station.boot()
    mark = await reserved(csms, reserve(36, VALID))
    assert await csms.call("ReserveNow", reserve(36, VALID_2)) == {"status": "Accepted"}
    assert await csms.call("RequestStartTransaction", {"idToken": {"idToken": VALID, "type": "ISO14443"},
                                                       "remoteStartId": 2, "evseId": 1}) == {"status": "Rejected"}
    await station.tap(VALID_2)
    station.plug()
    event = await started(csms, after=mark)
    assert event["reservationId"] == 36 and event["idToken"]["idToken"] == VALID_2


async def test_TC_H_24_reserve_unspecified_evse_group_id_token(station, csms):
    """H01.FR.04 with a groupIdToken, H03 S2: another idToken of the group takes it up."""
    await station.boot()
    mark = await reserved(csms, reserve(37, GROUP_1, evse=None, group=PARENT))
    await station.tap(GROUP_2)
    station.plug()
    event = await started(csms, after=mark)
    assert event["reservationId"] == 37 and event["idToken"]["idToken"] == GROUP_2
