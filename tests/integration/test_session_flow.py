"""Card → charge → card, remote start/stop, a rejected card, against ocpp-csms."""

from __future__ import annotations

import pytest
from tests.integration.conftest import Recorder
from ocpp_csms import (
    AuthorizationStatus,
    BootEvent,
    CentralSystem,
    MeterValuesEvent,
    StatusEvent,
    TransactionStartedEvent,
    TransactionStoppedEvent,
)

CARD = "04A1B2C3D4E5F6"


def evse(state, evse_id=1):
    return next(e for e in state["evses"] if e["id"] == evse_id)


async def booted(csms) -> None:
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), timeout=20)
    await csms.recorder.wait_for(
        lambda e: isinstance(e, StatusEvent) and e.connector.connector_id == 1 and e.connector.status == "Available"
    )


def status_reached(csms, status, connector_id=1):
    return lambda e: isinstance(e, StatusEvent) and e.connector.connector_id == connector_id and e.connector.status == status


@pytest.mark.pcsc
async def test_card_session_meter_stop_equals_the_meter(sim, csms, make_agent):
    await make_agent(csms.port)
    await booted(csms)
    boot = csms.recorder.of(BootEvent)[0]
    assert boot.info.vendor == "evse-agent" and boot.info.model == "Test wallbox"

    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    sim.tap_card(CARD)
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == CARD and started.transaction.connector_id == 1
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 0, timeout=10)
    await csms.recorder.wait_for(status_reached(csms, "Charging"))

    # Meter values flow while charging (MeterValueSampleInterval = 1 s in the test config).
    sampled = await csms.recorder.wait_for(
        lambda e: isinstance(e, MeterValuesEvent) and e.transaction_id == started.transaction.transaction_id
    )
    assert any(r.measurand == "Energy.Active.Import.Register" for r in sampled.readings)

    await sim.wait_for(lambda s: evse(s)["energy_wh"] >= started.transaction.meter_start + 50, timeout=20)
    await sim.wait_for(lambda s: s["card"] is None, timeout=10)  # the first tap is over
    sim.tap_card(CARD)
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent), timeout=20)
    state = await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    assert stopped.transaction.stop_reason == "Local"
    assert stopped.transaction.meter_stop > started.transaction.meter_start
    assert abs(stopped.transaction.meter_stop - evse(state)["energy_wh"]) <= 1
    await csms.recorder.wait_for(status_reached(csms, "Finishing"))
    sim.unplug(1)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=len(csms.recorder.events) - 1)


async def test_remote_start_and_stop(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction("REMOTE-TAG", connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    # A second remote start on the busy connector is refused.
    assert await cp.async_remote_start_transaction("OTHER", connector_id=1) == "Rejected"
    assert await cp.async_remote_stop_transaction(started.transaction.transaction_id) == "Accepted"
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Remote"
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    assert await cp.async_remote_stop_transaction(999999) == "Rejected"


async def test_unplug_ends_the_session_with_ev_disconnected(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_remote_start_transaction("TAG1", connector_id=1) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    sim.plug(1)
    await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    sim.unplug(1)
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "EVDisconnected"


@pytest.mark.pcsc
async def test_rejected_card_starts_nothing_then_a_good_card_does(sim, make_agent):
    asked: list[str] = []

    async def authorize(charge_point, id_tag):
        asked.append(id_tag)
        return AuthorizationStatus.INVALID if id_tag == "DEADBEEF" else AuthorizationStatus.ACCEPTED

    async with CentralSystem(host="127.0.0.1", port=0, authorize=authorize) as central:
        central.recorder = Recorder()
        central.add_listener(central.recorder)
        await make_agent(central.port)
        await booted(central)
        sim.plug(1)
        await central.recorder.wait_for(status_reached(central, "Preparing"))
        await sim.tap_card("DEADBEEF")  # returns when the card has been taken away again
        sim.tap_card(CARD)
        started = await central.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
        # The rejected card was asked about, and the only transaction is the good card's.
        assert asked[:1] == ["DEADBEEF"]
        assert started.transaction.id_tag == CARD
        assert [e.transaction.id_tag for e in central.recorder.of(TransactionStartedEvent)] == [CARD]
