"""OCPP 1.6 Reservation profile (§3.12, §5.13 ReserveNow, §5.1 CancelReservation) through ocpp-csms."""

from __future__ import annotations

import datetime as dt

import pytest
from ocpp.v16 import call
from ocpp_csms import AvailabilityType, StatusEvent, TransactionStartedEvent

from tests.integration.test_session_flow import CARD, booted, status_reached

DRIVER, STRANGER = "DRIVER-1", "STRANGER-2"


def in_seconds(s: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=s)).isoformat()


async def reserve(cp, reservation_id: int, connector_id: int = 1, id_tag: str = DRIVER, expires_in: float = 600) -> str:
    result = await cp.async_call(
        call.ReserveNow(connector_id=connector_id, expiry_date=in_seconds(expires_in), id_tag=id_tag,
                        reservation_id=reservation_id)
    )
    return result.status


async def cancel(cp, reservation_id: int) -> str:
    return (await cp.async_call(call.CancelReservation(reservation_id=reservation_id))).status


async def test_reserved_connector_starts_only_for_its_idtag_and_the_start_names_the_reservation(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await reserve(cp, 42) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Reserved"), after=mark)
    assert await reserve(cp, 43, id_tag=STRANGER) == "Occupied"  # already reserved by another reservation
    assert await cp.async_remote_start_transaction(STRANGER, connector_id=1) == "Rejected"
    assert await cp.async_remote_start_transaction(STRANGER) == "Rejected"  # no other connector to go to
    assert await cp.async_remote_start_transaction(DRIVER, connector_id=1) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=mark)
    sim.plug(1)
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == DRIVER and started.transaction.reservation_id == 42
    assert await cancel(cp, 42) == "Rejected"  # used: it ended with the transaction


async def test_reservation_expires_back_to_available(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await reserve(cp, 7, expires_in=2) == "Accepted"
    reserved = await csms.recorder.wait_for(status_reached(csms, "Reserved"), after=mark)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=csms.recorder.events.index(reserved))
    assert await cancel(cp, 7) == "Rejected"
    assert await cp.async_remote_start_transaction(STRANGER, connector_id=1) == "Accepted"


async def test_cancel_reservation_then_unknown_id(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await reserve(cp, 5) == "Accepted"
    reserved = await csms.recorder.wait_for(status_reached(csms, "Reserved"), after=mark)
    # The same reservationId replaces the reservation (§5.13): now for the stranger.
    assert await reserve(cp, 5, id_tag=STRANGER) == "Accepted"
    assert await cp.async_remote_start_transaction(DRIVER, connector_id=1) == "Rejected"
    assert await cancel(cp, 5) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=csms.recorder.events.index(reserved))
    assert await cancel(cp, 5) == "Rejected"
    assert await cancel(cp, 999) == "Rejected"


async def test_occupied_faulted_unavailable_and_rejected_answers(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await reserve(cp, 1, connector_id=9) == "Rejected"  # no such connector

    mark = len(csms.recorder.events)
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=mark)
    assert await reserve(cp, 1) == "Occupied"
    sim.unplug(1)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)

    mark = len(csms.recorder.events)
    sim.inject_fault(1, "rcd")
    await csms.recorder.wait_for(status_reached(csms, "Faulted"), after=mark)
    assert await reserve(cp, 1) == "Faulted"
    assert await reserve(cp, 1, connector_id=0) == "Faulted"
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)

    mark = len(csms.recorder.events)
    assert await cp.async_change_availability(1, AvailabilityType.INOPERATIVE) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Unavailable"), after=mark)
    assert await reserve(cp, 1) == "Unavailable"


async def test_a_fault_ends_the_reservation(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await reserve(cp, 3) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Reserved"), after=mark)
    sim.inject_fault(1, "rcd")
    faulted = await csms.recorder.wait_for(status_reached(csms, "Faulted"), after=mark)
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=csms.recorder.events.index(faulted))
    assert await cancel(cp, 3) == "Rejected"


async def test_any_connector_reservation_keeps_the_last_connector_for_its_idtag(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await reserve(cp, 11, connector_id=0) == "Accepted"
    assert await reserve(cp, 12, connector_id=0, id_tag=STRANGER) == "Occupied"
    # One connector: taking it would leave none for the reservation.
    assert await cp.async_remote_start_transaction(STRANGER, connector_id=1) == "Rejected"
    assert await reserve(cp, 12, connector_id=1, id_tag=STRANGER) == "Occupied"
    assert await cp.async_remote_start_transaction(DRIVER) == "Accepted"
    sim.plug(1)
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == DRIVER and started.transaction.reservation_id == 11
    assert await cancel(cp, 11) == "Rejected"


async def test_reservation_survives_an_agent_restart(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    mark = len(csms.recorder.events)
    assert await reserve(cp, 21) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Reserved"), after=mark)
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(status_reached(csms, "Reserved"), after=mark, timeout=20)
    # Every status sent since the restart says Reserved: it never showed Available in between.
    since = [e for e in csms.recorder.events[mark:] if isinstance(e, StatusEvent) and e.connector.connector_id == 1]
    assert {e.connector.status for e in since} == {"Reserved"}
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_remote_start_transaction(STRANGER, connector_id=1) == "Rejected"
    assert await cancel(cp, 21) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)


@pytest.mark.pcsc
async def test_cards_at_a_reserved_connector(sim, csms, make_agent):
    await make_agent(csms.port)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await reserve(cp, 31, id_tag=CARD) == "Accepted"
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Reserved"))
    await sim.tap_card("DEADBEEF")  # authorized by the backend, but not the reservation's card
    assert csms.recorder.of(TransactionStartedEvent) == []
    sim.tap_card(CARD)  # the booked card starts at once
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == CARD and started.transaction.reservation_id == 31
    assert [e.transaction.id_tag for e in csms.recorder.of(TransactionStartedEvent)] == [CARD]
