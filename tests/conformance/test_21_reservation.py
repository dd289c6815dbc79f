"""OCTT module 21, Reservation (OCPP 1.6 §3.12, §5.13 ReserveNow, §5.1 CancelReservation, §9.5.1)."""

from __future__ import annotations

import datetime as dt

from tests.conformance.cases import not_applicable
from tests.conformance.conftest import GROUP_1, GROUP_2, PARENT, VALID, VALID_2
from tests.conformance.steps import charging


def reserve(connector_id: int, id_tag: str = VALID, reservation_id: int = 1, *, minutes: float = 10,
            parent: str | None = None) -> dict:
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    request = {"connectorId": connector_id, "expiryDate": expiry.isoformat(timespec="seconds").replace("+00:00", "Z"),
               "idTag": id_tag, "reservationId": reservation_id}
    if parent:
        request["parentIdTag"] = parent
    return request


async def reserved(station, csms, request: dict) -> int:
    mark = csms.mark()
    assert await csms.call("ReserveNow", request) == {"status": "Accepted"}
    await csms.wait_status("Reserved", after=mark)
    return mark


async def test_TC_046_1_reserve_a_connector_local_start_transaction(station, csms):
    await station.boot()
    mark = await reserved(station, csms, reserve(1, VALID, 11))
    await station.tap(VALID_2)  # someone else's card: the connector stays reserved
    await station.tap(VALID)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID and start["reservationId"] == 11
    await csms.wait_status("Charging", after=mark)
    assert not [p for p in csms.calls_of("StartTransaction", after=mark) if p["idTag"] == VALID_2]


async def test_TC_046_2_reserve_a_connector_remote_start_transaction(station, csms):
    await station.boot()
    mark = await reserved(station, csms, reserve(1, VALID, 12))
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID_2}) == {"status": "Rejected"}
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID and start["reservationId"] == 12
    await csms.wait_status("Charging", after=mark)


async def test_TC_047_reserve_a_connector_expire(station, csms):
    await station.boot()
    mark = await reserved(station, csms, reserve(1, VALID, 13, minutes=3 / 60))
    await csms.wait_status("Available", after=mark, timeout=10)  # expired, not used


async def test_TC_048_1_reserve_a_connector_faulted(station, csms):
    await station.boot()
    mark = csms.mark()
    station.sim.inject_fault(1, "rcd")
    await csms.wait_status("Faulted", after=mark, error_code="GroundFailure")
    assert await csms.call("ReserveNow", reserve(1)) == {"status": "Faulted"}


async def test_TC_048_2_reserve_a_connector_occupied(station, csms):
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    assert await csms.call("ReserveNow", reserve(1)) == {"status": "Occupied"}


async def test_TC_048_3_reserve_a_connector_unavailable(station, csms):
    await station.boot()
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {"status": "Accepted"}
    await csms.wait_status("Unavailable", after=mark)
    assert await csms.call("ReserveNow", reserve(1)) == {"status": "Unavailable"}


async def test_TC_048_4_reserve_a_connector_rejected(station, csms):
    await station.boot()
    assert await csms.call("ReserveNow", reserve(2)) == {"status": "Rejected"}  # no connector 2 here


async def test_TC_049_reserve_a_charge_point_transaction(station, csms):
    await station.boot()
    config = await csms.call("GetConfiguration", {"key": ["ReserveConnectorZeroSupported"]})
    assert config["configurationKey"][0]["value"] == "true"
    mark = await reserved(station, csms, reserve(0, VALID, 14))  # its only connector is kept for VALID
    await station.tap(VALID_2)
    await station.tap(VALID)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID and start["reservationId"] == 14
    await csms.wait_status("Charging", after=mark)


async def test_TC_050_1_reserve_a_charge_point_faulted(station, csms):
    await station.boot()
    mark = csms.mark()
    station.sim.inject_fault(1, "rcd")
    await csms.wait_status("Faulted", after=mark, error_code="GroundFailure")
    assert await csms.call("ReserveNow", reserve(0)) == {"status": "Faulted"}


async def test_TC_050_2_reserve_a_charge_point_occupied(station, csms):
    await station.boot()
    await charging(station, csms)
    assert await csms.call("ReserveNow", reserve(0)) == {"status": "Occupied"}


async def test_TC_050_3_reserve_a_charge_point_unavailable(station, csms):
    await station.boot()
    mark = csms.mark()
    assert await csms.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {"status": "Accepted"}
    await csms.wait_status("Unavailable", after=mark)
    assert await csms.call("ReserveNow", reserve(0)) == {"status": "Unavailable"}


def test_TC_050_4_reserve_a_charge_point_rejected():
    not_applicable("TC_050_4")


async def test_TC_051_cancel_reservation(station, csms):
    await station.boot()
    mark = await reserved(station, csms, reserve(1, VALID, 15))
    assert await csms.call("CancelReservation", {"reservationId": 15}) == {"status": "Accepted"}
    await csms.wait_status("Available", after=mark)


async def test_TC_052_cancel_reservation_rejected(station, csms):
    await station.boot()
    assert await csms.call("CancelReservation", {"reservationId": 999}) == {"status": "Rejected"}


async def test_TC_053_1_use_a_reserved_connector_with_parent_id_tag_local(station, csms):
    await station.boot()
    mark = await reserved(station, csms, reserve(1, GROUP_1, 16, parent=PARENT))
    await station.tap(GROUP_2)  # another card of the reservation's group
    authorize = await csms.wait_call("Authorize", after=mark)  # the backend tells its parentIdTag
    assert authorize == {"idTag": GROUP_2}
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == GROUP_2 and start["reservationId"] == 16
    await csms.wait_status("Charging", after=mark)


async def test_TC_053_2_use_a_reserved_connector_with_parent_id_tag_remote(station, csms):
    await station.boot(keys={"AuthorizeRemoteTxRequests": True})
    mark = await reserved(station, csms, reserve(1, GROUP_1, 17, parent=PARENT))
    station.plug()
    reply = await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": GROUP_2})
    assert reply == {"status": "Accepted"}
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == GROUP_2 and start["reservationId"] == 17
    await csms.wait_status("Charging", after=mark)
