"""GPIO safety I/O end to end: the agent (a process) drives the simulator's GPIO through
gpiozero's real PiGPIOFactory over the pigpio daemon's socket protocol (simulator.wire.pigpio),
and ocpp-csms sees what follows. Each test shows the main contactor opening and the OCPP
status and stop reason after a welded contactor, an RCD trip, a failed RCM self-test, an
emergency stop, the stop button and the cable lock."""

from __future__ import annotations

import time

from ocpp.v16 import call
from ocpp_csms import TransactionStartedEvent, TransactionStoppedEvent

from simulator.twins.gpio import agent_toml
from tests.integration.test_hardware_faults import faulted
from tests.integration.test_outages import start_charging
from tests.integration.test_session_flow import booted, evse, status_reached

CONTACTOR = ["contactor", "contactor_feedback"]
LOCK = ["lock_direction", "lock_motor", "lock_feedback"]
LEDS = ["led_green", "led_blue", "led_red"]


def gpio_config(sim, names: list[str], **settings) -> str:
    return (f'\n[gpio]\nfactory = "pigpio"\nhost = "127.0.0.1"\nport = {sim.gpio_port}\n'
            + agent_toml(1, names, **settings))


def gpio(state, evse_id=1):
    return state["gpio"][evse_id]


def stopped_event(e):
    return isinstance(e, TransactionStoppedEvent)


async def charging_through_the_contactor(sim, csms):
    tx = await start_charging(sim, csms)
    state = await sim.wait_for(lambda s: gpio(s)["contacts_closed"] and evse(s)["power_w"] > 0, timeout=10)
    assert gpio(state)["coil"]
    return tx


async def test_the_contactor_closes_only_while_charging_and_opens_when_the_ev_pauses(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR))
    await booted(csms)
    state = await sim.wait_for(lambda s: gpio(s)["contactor_wired"], timeout=10)
    assert not gpio(state)["coil"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert not gpio(sim.state())["coil"]  # plugged, no session: open
    await charging_through_the_contactor(sim, csms)
    sim.set_ev_state(1, "B")  # the EV pauses (C -> B): open at once, IEC 61851-1 Table A.6
    await sim.wait_for(lambda s: not gpio(s)["coil"], timeout=5)
    await csms.recorder.wait_for(status_reached(csms, "SuspendedEV"))
    sim.set_ev_state(1, "C")
    await sim.wait_for(lambda s: gpio(s)["coil"] and evse(s)["power_w"] > 0, timeout=10)


async def test_welded_contactor_ends_the_session_with_power_switch_failure(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR))
    await booted(csms)
    await charging_through_the_contactor(sim, csms)
    sim.gpio.set(1, "welded", True)
    sim.set_ev_state(1, "B")  # the agent opens the contactor; its auxiliary contact stays closed
    await sim.wait_for(lambda s: not gpio(s)["coil"] and gpio(s)["contacts_closed"], timeout=5)
    await csms.recorder.wait_for(faulted("PowerSwitchFailure", "E-WELDED"))
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "Other"
    # The board's own relay is the second switch: its PWM stops and it opens.
    await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 0 and not evse(s)["contactor_closed"], timeout=10)
    # Charging stays blocked: a new remote start is refused while the fault holds.
    cp = csms.charge_points["CP-TEST-1"]
    assert await cp.async_remote_start_transaction("TAG-2", connector_id=1) == "Rejected"
    mark = len(csms.recorder.events)
    sim.gpio.set(1, "welded", False)  # repaired: the auxiliary contact reads open
    await csms.recorder.wait_for(status_reached(csms, "Finishing"), after=mark)


async def test_contactor_that_does_not_close_faults_the_connector(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR))
    await booted(csms)
    sim.gpio.set(1, "stuck_open", True)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
    await csms.recorder.wait_for(faulted("PowerSwitchFailure", "E-CONTACTOR"))
    await sim.wait_for(lambda s: not gpio(s)["coil"], timeout=5)
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "Other"
    mark = len(csms.recorder.events)
    sim.gpio.set(1, "stuck_open", False)
    sim.unplug(1)  # a new EV, a new chance
    await csms.recorder.wait_for(status_reached(csms, "Available"), after=mark)


async def test_rcd_trip_opens_the_contactor_at_once_and_reports_ground_failure(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR + ["rcd", "rcm_test"]))
    await booted(csms)
    await charging_through_the_contactor(sim, csms)  # the RCM self-test passed first
    tripped_at = time.perf_counter()
    sim.gpio.set(1, "rcd_tripped", True)
    await sim.wait_for(lambda s: not gpio(s)["coil"], timeout=5)
    latency_ms = (time.perf_counter() - tripped_at) * 1000
    print(f"\nRCD input -> contactor coil off (pigpio socket, agent process, and back): {latency_ms:.1f} ms")
    await sim.wait_for(lambda s: evse(s)["power_w"] == 0)
    await csms.recorder.wait_for(faulted("GroundFailure", "E-RCD"))
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "Other"
    mark = len(csms.recorder.events)
    sim.gpio.set(1, "rcd_tripped", False)  # reset by hand
    await csms.recorder.wait_for(status_reached(csms, "Finishing"), after=mark)


async def test_failed_rcm_self_test_never_closes_the_contactor(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False,
                     gpio=gpio_config(sim, CONTACTOR + ["rcd", "rcm_test"], rcm_test_timeout_s=0.5))
    await booted(csms)
    sim.gpio.set(1, "rcm_broken", True)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    await csms.recorder.wait_for(faulted("GroundFailure", "E-RCM-TEST"))
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "Other"
    assert stopped.transaction.meter_stop == started.transaction.meter_start  # no energy delivered
    state = sim.state()
    assert not gpio(state)["coil"] and evse(state)["current_limit_a"] == 0


async def test_emergency_stop_stops_with_reason_emergency_stop_until_released(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR + ["emergency_stop"] + LEDS))
    await booted(csms)
    await sim.wait_for(lambda s: gpio(s)["leds"] == {"led_green": True, "led_blue": False, "led_red": False})
    await charging_through_the_contactor(sim, csms)
    await sim.wait_for(lambda s: gpio(s)["leds"]["led_blue"] and not gpio(s)["leds"]["led_green"])
    sim.gpio.set(1, "estop_pressed", True)
    await sim.wait_for(lambda s: not gpio(s)["coil"], timeout=5)
    await csms.recorder.wait_for(faulted("OtherError", "E-ESTOP"))
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "EmergencyStop"
    toggles = gpio(sim.state())["led_toggles"]["led_red"]
    await sim.wait_for(lambda s: gpio(s)["led_toggles"]["led_red"] >= toggles + 2, timeout=5)  # red blinks
    mark = len(csms.recorder.events)
    sim.gpio.set(1, "estop_pressed", False)
    await csms.recorder.wait_for(status_reached(csms, "Finishing"), after=mark)


async def test_stop_button_stops_the_session_with_reason_local(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR + ["stop_button"]))
    await booted(csms)
    await charging_through_the_contactor(sim, csms)
    sim.gpio.set(1, "button_pressed", True)
    await sim.wait_for(lambda s: not gpio(s)["coil"], timeout=5)
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "Local"
    sim.gpio.set(1, "button_pressed", False)


async def test_lock_before_power_and_unlock_connector_after_the_contactor_opened(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False, gpio=gpio_config(sim, CONTACTOR + LOCK, lock_pulse_s=0.2))
    await booted(csms)
    await charging_through_the_contactor(sim, csms)
    state = sim.state()
    assert gpio(state)["lock_locked"] and gpio(state)["lock_moves"] == 1
    cp = csms.charge_points["CP-TEST-1"]
    result = await cp.async_call(call.UnlockConnector(connector_id=1))
    assert result.status == "Unlocked"
    state = sim.state()
    assert not gpio(state)["coil"] and not gpio(state)["lock_locked"]
    stopped = await csms.recorder.wait_for(stopped_event)
    assert stopped.transaction.stop_reason == "UnlockCommand"


async def test_jammed_lock_keeps_the_power_off_and_reports_connector_lock_failure(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False,
                     gpio=gpio_config(sim, CONTACTOR + LOCK, lock_pulse_s=0.2, lock_retry_s=0.2, lock_attempts=2))
    await booted(csms)
    sim.gpio.set(1, "lock_jammed", True)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction("TAG-1", connector_id=1) == "Accepted"
    await csms.recorder.wait_for(faulted("ConnectorLockFailure", "E-LOCK"), timeout=10)
    state = sim.state()
    assert not gpio(state)["coil"] and evse(state)["power_w"] == 0 and gpio(state)["lock_moves"] >= 2
    mark = len(csms.recorder.events)
    sim.gpio.set(1, "lock_jammed", False)  # the next retry locks; the session goes on
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=15)
    await sim.wait_for(lambda s: gpio(s)["lock_locked"] and gpio(s)["coil"] and evse(s)["power_w"] > 0, timeout=10)
    assert not csms.recorder.of(TransactionStoppedEvent)
