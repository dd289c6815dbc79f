"""Devices that fail: the contactor opens, the backend is told with a fitting error code,
the session stops or waits as fits, and everything recovers when the device is back."""

from __future__ import annotations

import datetime as dt

import aiohttp
from ocpp_csms import StatusEvent, TransactionStartedEvent, TransactionStoppedEvent

from simulator.app import Simulator
from simulator.config import default_toml, parse_config
from tests.integration.conftest import AgentProcess
from tests.integration.test_heidelberg_flow import heidelberg_agent_config
from tests.integration.test_oled_build import CP_ID as OLED_CP_ID
from tests.integration.test_oled_build import agent_config as oled_agent_config
from tests.integration.test_oled_build import oled_sim  # noqa: F401 (a fixture)
from tests.integration.test_outages import start_charging
from tests.integration.test_smart_charging import now, profile, set_profile
from tests.integration.test_session_flow import booted, evse, status_reached


TMP102 = 0x48  # simulator/builds/heidelberg-oled.toml


def faulted(code: str, vendor: str):
    return lambda e: (isinstance(e, StatusEvent) and e.connector.connector_id == 1 and e.connector.status == "Faulted"
                      and e.connector.error_code == code and e.connector.vendor_error_code == vendor)


async def test_rcd_trip_stops_the_session_and_reports_ground_failure(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    sim.inject_fault(1, "rcd")
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"])
    await csms.recorder.wait_for(faulted("GroundFailure", "E-RCD"))
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Other"
    await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 0)
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Finishing"), after=csms.recorder.events.index(stopped))


async def test_overcurrent_stops_the_session(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    sim.inject_fault(1, "overcurrent")
    await csms.recorder.wait_for(faulted("OverCurrentFailure", "E-OVERCURRENT"), timeout=20)
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0)
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Other"
    sim.clear_fault(1)
    sim.unplug(1)  # a new EV gets a new chance
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=csms.recorder.events.index(stopped))


async def test_silent_board_faults_the_connector_and_the_session_resumes(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    sim.inject_fault(1, "comm")
    await csms.recorder.wait_for(faulted("InternalError", "E-BOARD-COMM"), timeout=20)
    mark = len(csms.recorder.events)
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=20)
    assert not csms.recorder.of(TransactionStoppedEvent)
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    assert await csms.charge_points["CP-TEST-1"].async_remote_stop_transaction(tx.transaction_id) == "Accepted"


async def test_silent_meter_suspends_the_session_until_it_answers(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    sim.inject_fault(1, "meter_comm")
    await csms.recorder.wait_for(faulted("PowerMeterFailure", "E-METER-COMM"), timeout=20)
    # No energy may flow that cannot be measured.
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0, timeout=10)
    mark = len(csms.recorder.events)
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=20)
    assert not csms.recorder.of(TransactionStoppedEvent)


async def test_a_rebooted_board_is_switched_off_again(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 0)
    sim.plug(1)
    sim.reboot_board(1)  # back to its power-up current (16 A): an unbilled session would start
    state = await sim.wait_for(lambda s: evse(s)["current_limit_a"] > 0)
    assert evse(state)["current_limit_a"] == 16
    await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 0 and not evse(s)["contactor_closed"], timeout=10)


async def test_a_board_rebooted_mid_session_is_told_the_limit_in_force_again(sim, csms, make_agent):
    """A brown-out of the EVSE-DIN under a 10 A limit: it comes back offering its power-up
    16 A (1000 := 2000), and the agent tells it 10 A again. The reboot is the simulator's
    POST /api/evses/1/reboot, what a person does from the page."""
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    hour_ago = now() - dt.timedelta(hours=1)
    assert await set_profile(cp, 0, profile(1, "TxDefaultProfile", [(0, 10.0)], start=hour_ago)) == "Accepted"
    await start_charging(sim, csms)
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 10, timeout=10)
    mark = len(sim.register_writes)
    async with aiohttp.ClientSession() as http, http.post(f"{sim.http_url}api/evses/1/reboot") as r:
        assert r.status == 200 and (await r.json())["current_limit_a"] == 16  # below its default: a real test
    state = await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 10, timeout=10)
    assert evse(state)["contactor_closed"] and evse(state)["configured_current_raw"] == 10
    assert [(w.address, w.values) for w in sim.register_writes[mark:] if w.unit == 1] == [(1000, (10,))]
    assert not csms.recorder.of(TransactionStoppedEvent)


async def test_a_board_answering_garbage_faults_the_connector_until_it_makes_sense(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    tx = await start_charging(sim, csms)
    sim.inject_fault(1, "garbage")
    await csms.recorder.wait_for(faulted("InternalError", "E-BOARD-COMM"), timeout=20)
    mark = len(csms.recorder.events)
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=20)
    assert not csms.recorder.of(TransactionStoppedEvent)
    assert await csms.charge_points["CP-TEST-1"].async_remote_stop_transaction(tx.transaction_id) == "Accepted"


async def test_pilot_fault_ends_the_session_and_reports_ev_communication_error(sim, csms, make_agent):
    """README, error codes: E-PILOT, control pilot shorted or the EV's diode missing (the
    EVSE-DIN reports vehicle state 5 with 1007 bit1): the transaction ends."""
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    await start_charging(sim, csms)
    sim.inject_fault(1, "pilot")
    await csms.recorder.wait_for(faulted("EVCommunicationError", "E-PILOT"))
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0, timeout=10)
    stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert stopped.transaction.stop_reason == "Other"
    sim.clear_fault(1)  # the board no longer reports it; the EV is still plugged
    await csms.recorder.wait_for(status_reached(csms, "Finishing"), after=csms.recorder.events.index(stopped))


async def test_a_fault_drops_a_remote_start_waiting_for_the_plug(sim, csms, make_agent):
    """A RemoteStartTransaction authorizes the connector until an EV is plugged in; a pilot
    fault meanwhile drops that: after it clears the connector is Available, and the next EV
    starts only with its own authorization (TAG-2), never the one from before the fault."""
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    mark = len(csms.recorder.events)
    sim.inject_fault(1, "pilot")  # the pilot reads E with no EV: a shorted CP
    await csms.recorder.wait_for(faulted("EVCommunicationError", "E-PILOT"), after=mark)
    mark = len(csms.recorder.events)
    sim.clear_fault(1)
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=mark)
    assert await cp.async_remote_start_transaction("TAG-2", connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    assert started.transaction.id_tag == "TAG-2"
    assert [e.transaction.id_tag for e in csms.recorder.of(TransactionStartedEvent)] == ["TAG-2"]


async def test_a_heidelberg_box_in_its_error_state_ends_the_session_with_other_error(csms, tmp_path):
    """README, error codes: E-OTHER, a fault the board does not name. The Heidelberg box
    reports state 11 ("error inside the box", docs/hardware/heidelberg.md) for its own DC
    residual-current trip: session ended, cleared when the box stops reporting it."""
    data = default_toml()
    data["evse"] = [{"id": 1, "board": "heidelberg", "board_unit": 1, "meter": "none"}]
    sim = Simulator(parse_config(data), http=False, modbus_port=0, speed=5.0)
    await sim.start()
    config = tmp_path / "agent.toml"
    config.write_text(heidelberg_agent_config(sim.modbus_port, csms.port, tmp_path / "data"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await booted(csms)
        await start_charging(sim, csms)
        sim.inject_fault(1, "rcd")
        await csms.recorder.wait_for(faulted("OtherError", "E-OTHER"))
        await sim.wait_for(lambda s: not evse(s)["contactor_closed"], timeout=10)
        stopped = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
        assert stopped.transaction.stop_reason == "Other"
        sim.clear_fault(1)
        # State 11 hid the EV (pilot F): once the box is out of it the EV is seen again,
        # with no transaction: Preparing, a new session may start.
        await csms.recorder.wait_for(status_reached(csms, "Preparing"), after=csms.recorder.events.index(stopped))
    finally:
        await agent.stop()
        await sim.stop()
        print(agent.log()[-5000:])


async def test_a_silent_temperature_sensor_suspends_charging_until_it_answers(oled_sim, csms, tmp_path):
    """README, error codes: E-TEMP-SENSOR, the I²C temperature sensor does not answer:
    charging suspended (nothing guards the temperature), the transaction kept, and it
    resumes when the sensor answers again. The Heidelberg + TMP102 build."""
    sim = oled_sim
    config = tmp_path / "agent.toml"
    config.write_text(oled_agent_config(sim, csms.port, tmp_path / "data"))
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    rec = csms.recorder
    try:
        await booted(csms)
        cp = csms.charge_points[OLED_CP_ID]
        sim.plug(1)
        await rec.wait_for(status_reached(csms, "Preparing"))
        assert await cp.async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
        started = await rec.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
        await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
        mark = len(rec.events)
        sim.i2c.set_silent(TMP102, True)
        await rec.wait_for(faulted("InternalError", "E-TEMP-SENSOR"), after=mark)
        await sim.wait_for(lambda s: not evse(s)["contactor_closed"], timeout=10)
        mark = len(rec.events)
        sim.i2c.set_silent(TMP102, False)
        await rec.wait_for(status_reached(csms, "Charging"), after=mark, timeout=20)
        await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
        assert not rec.of(TransactionStoppedEvent)
        assert await cp.async_remote_stop_transaction(started.transaction.transaction_id) == "Accepted"
        stopped = await rec.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
        assert stopped.transaction.stop_reason == "Remote"
    finally:
        await agent.stop()
        print(agent.log()[-5000:])
