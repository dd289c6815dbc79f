"""Each driver against its simulator twin, over a real transport.

Modbus TCP for every Modbus driver, Modbus RTU 19200 8E1 on a socat pty for the
Heidelberg, RAPI over TCP (``socket://``) and over a pty for the OpenEVSE. The
twins are the simulator's (written from docs/hardware/README.md, not from the drivers).
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from drivers.meters.abb_b23 import AbbB23Meter
from drivers.boards.bender import BenderBoard
from drivers.boards.evse_din import EvseDinBoard
from drivers.boards.heidelberg import HeidelbergBoard
from drivers.interfaces import BoardFault, DeviceError, DeviceUnavailable, EvseBoard, PilotState, PowerMeter
from drivers.bus.modbus import ModbusBus
from drivers.boards.openevse import OpenEvseBoard, RapiLink
from drivers.meters.eastron import Sdm72Meter, Sdm72V1Meter, Sdm120Meter
from simulator.app import Simulator
from simulator.config import default_toml, parse_config

EVSES = [
    {"id": 1, "board": "heidelberg", "board_unit": 1, "meter": "none", "max_current_a": 32.0},
    {"id": 2, "board": "bender", "board_unit": 255, "meter": "abb-b23", "meter_unit": 5},
    {"id": 3, "board": "openevse", "meter": "sdm120", "meter_unit": 6, "phases": 1},
    {"id": 4, "board": "evse-din", "board_unit": 7, "meter": "sdm72-v1", "meter_unit": 8},
    {"id": 5, "board": "heidelberg", "board_unit": 9, "meter": "sdm72", "meter_unit": 10,
     "energy_word_order": "little"},
]


def sim_config(evses=EVSES, **modbus):
    data = default_toml()
    data["evse"] = evses
    data["modbus"] = {**data["modbus"], **modbus}
    return parse_config(data)


def evse(state, evse_id):
    return next(e for e in state["evses"] if e["id"] == evse_id)


@pytest.fixture
async def sim():
    s = Simulator(sim_config(), http=False, modbus_port=0, speed=5.0)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def bus(sim):
    b = ModbusBus.tcp("127.0.0.1", sim.modbus_port, timeout=0.5, retries=0)
    yield b
    await b.close()


@pytest.fixture
async def rapi(sim):
    link = RapiLink(f"socket://127.0.0.1:{sim.rapi_ports[3]}", timeout_s=1.0)
    yield link
    await link.close()


async def charged_some(sim, evse_id, wh=5.0):
    return await sim.wait_for(lambda s: evse(s, evse_id)["energy_wh"] >= wh, timeout=10)


# ---- Heidelberg --------------------------------------------------------------------------


async def test_heidelberg_sets_up_and_charges_with_its_own_meter(sim, bus):
    board = HeidelbergBoard(bus.device(1), watchdog_ms=60000, failsafe_current_a=6)
    assert isinstance(board, EvseBoard) and isinstance(board.meter, PowerMeter)
    st = await board.read_status()
    assert st.pilot is PilotState.A and not st.relay_closed
    # set-up happened before the first read: standby off, fail-safe, watchdog
    writes = {(w.address, w.values) for w in sim.register_writes if w.unit == 1}
    assert {(258, (4,)), (262, (60,)), (257, (60000,))} <= writes
    sim.plug(1)
    await board.set_current_limit(13.5)
    st = await board.read_status()
    assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, True, 13.5)
    state = await charged_some(sim, 1)
    reading = await board.meter.read()
    assert reading.current_a == (13.5, 13.5, 13.5) and reading.voltage_v == (230.0, 230.0, 230.0)
    assert reading.energy_wh >= int(evse(state, 1)["energy_wh"])
    assert board.temperature_c == 25.0
    await board.set_current_limit(0)
    st = await board.read_status()
    assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, False, 0.0)  # C1
    final = sim.evse_state(1)["energy_wh"]
    assert (await board.meter.read()).energy_wh == int(final)


async def test_heidelberg_word_swapped_energy_and_separate_meter(sim, bus):
    sim.model.evse(5).meter.import_kwh_phase[:] = [70.0, 0.0, 0.0]  # 70000 Wh: both words used
    board = HeidelbergBoard(bus.device(9), watchdog_ms=0, energy_word_order="little")
    assert (await board.meter.read()).energy_wh == 70000
    wrong = HeidelbergBoard(bus.device(9), watchdog_ms=0, energy_word_order="big")
    assert (await wrong.meter.read()).energy_wh != 70000
    assert (await Sdm72Meter(bus.device(10)).read()).energy_wh == pytest.approx(70000, abs=0.01)


async def test_heidelberg_refusals_are_device_errors(sim, bus):
    dev = bus.device(1)
    with pytest.raises(DeviceError):
        await dev.write_register(261, 50)  # 5 A: below 60
    with pytest.raises(DeviceError):
        await dev.read_holding(5, 1)  # state is an input register
    with pytest.raises(DeviceError):
        await dev.read_input(257, 1)


async def test_heidelberg_watchdog_falls_back_to_the_failsafe_current(sim, bus):
    board = HeidelbergBoard(bus.device(1), watchdog_ms=2000, failsafe_current_a=6)
    sim.plug(1)
    await board.set_current_limit(16)
    # Polling keeps the box under control: 3 watchdog periods pass without a trip.
    start = sim.model.sim_time
    while sim.model.sim_time < start + 6.0:
        st = await board.read_status()
    assert st.offered_current_a == 16.0
    assert not [e for e in sim.events if e.kind == "watchdog"]
    # The agent goes silent: the box falls back to 262 on its own.
    state = await sim.wait_for(lambda s: evse(s, 1)["current_limit_a"] == 6.0, timeout=10)
    assert evse(state, 1)["contactor_closed"] and evse(state, 1)["current_a"] == 6.0
    tripped = [e for e in sim.events if e.kind == "watchdog" and e.evse_id == 1]
    assert len(tripped) == 1 and tripped[0].sim_time - start >= 6.0
    assert (await board.read_status()).offered_current_a == 6.0  # and says so


@pytest.mark.rtu
async def test_heidelberg_over_rtu_19200_on_a_pty(tmp_path):
    """The box's line is 19200 8E1. A pty does not emulate parity, and the ptys here even
    refuse PARENB without PARODD (tcsetattr EINVAL), so the pair runs 19200 8N1; 8E1 is
    a setting of the real serial port (bus parity = "E")."""
    if not shutil.which("socat"):
        pytest.skip("socat not installed")
    config = sim_config(evses=EVSES[:1], baudrate=19200, parity="N")
    async with Simulator(config, http=False, modbus_port=0, rtu_link=str(tmp_path / "ttyHeidelberg")) as s:
        line = ModbusBus.rtu(s.rtu_link, baudrate=19200, parity="N", stopbits=1, timeout=0.5, retries=0)
        try:
            board = HeidelbergBoard(line.device(1, min_interval_s=0.05), watchdog_ms=30000)
            s.plug(1)
            await board.set_current_limit(10)
            st = await board.read_status()
            assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, True, 10.0)
            assert (await board.meter.read()).current_a == (10.0, 10.0, 10.0)
            with pytest.raises(DeviceUnavailable):  # nobody at unit 42 on this line
                await line.read_input(42, 5, 1)
        finally:
            await line.close()


# ---- Bender + ABB --------------------------------------------------------------------------


async def test_bender_board_meter_and_abb_meter(sim, bus):
    board = BenderBoard(bus.device(255))
    assert (await board.read_status()).pilot is PilotState.A
    sim.plug(2)
    await board.set_current_limit(10.7)
    st = await board.read_status()
    assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, True, 10.0)
    state = await charged_some(sim, 2)
    own = await board.meter.read()
    assert own.current_a == (10.0, 10.0, 10.0) and own.power_w == 6900.0
    assert own.energy_wh >= int(evse(state, 2)["energy_wh"])
    abb = await AbbB23Meter(bus.device(5)).read()
    assert abb.current_a == (10.0, 10.0, 10.0) and abb.voltage_v == (230.0, 230.0, 230.0)
    assert abb.power_w == 6900.0
    assert abb.energy_wh == pytest.approx(own.energy_wh, abs=10 + 6900 * 2 / 3600)  # 0.01 kWh steps
    await board.set_current_limit(0)
    assert not (await board.read_status()).relay_closed


async def test_bender_fault_state_is_refused(sim, bus):
    board = BenderBoard(bus.device(255))
    sim.plug(2)
    sim.inject_fault(2, "pilot")
    with pytest.raises(DeviceError, match="CP state"):
        await board.read_status()


# ---- Eastron variants ------------------------------------------------------------------------


async def test_sdm120_and_sdm72_v1_twins_and_strict_maps(sim, bus):
    sim.plug(4)
    await bus.write_registers(7, 1000, [10])  # the EVSE-DIN at unit 7 offers 10 A
    await sim.wait_for(lambda s: evse(s, 4)["power_w"] > 0)
    v1 = await Sdm72V1Meter(bus.device(8)).read()
    assert v1.current_a == () and v1.voltage_v == () and v1.power_w == 6900.0
    with pytest.raises(DeviceError):  # the old SDM72 has no voltages
        await bus.read_input(8, 0x00, 2)
    sdm120 = await Sdm120Meter(bus.device(6)).read()
    assert sdm120.voltage_v == (230.0,)
    with pytest.raises(DeviceError):  # nor the SDM120 a total power at 0x34
        await bus.read_input(6, 0x34, 2)


# ---- OpenEVSE over RAPI ----------------------------------------------------------------------


async def test_openevse_over_rapi_tcp(sim, rapi):
    board = OpenEvseBoard(rapi)
    st = await board.read_status()
    assert st.pilot is PilotState.A and st.offered_current_a == 16.0
    sim.plug(3)
    await board.set_current_limit(12)
    st = await board.read_status()
    assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, True, 12.0)
    await charged_some(sim, 3)
    r = await board.meter.read()
    assert r.current_a == (12.0,) and r.voltage_v == (230.0,) and r.power_w == 2760.0
    assert r.energy_wh == pytest.approx(sim.evse_state(3)["energy_wh"], abs=2760 / 3600 * 5)
    # More than the controller can do: it clamps ($NK 32) and offers what it says.
    await board.set_current_limit(40)
    assert (await board.read_status()).offered_current_a == 32.0
    # 0 A sleeps: the EV stays visible, the relay opens; unplugging is still seen.
    await board.set_current_limit(0)
    st = await board.read_status()
    assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, False, 0.0)
    before = (await board.meter.read()).energy_wh
    sim.unplug(3)
    assert (await board.read_status()).pilot is PilotState.A
    after = (await board.meter.read()).energy_wh  # the session folded into the total
    assert before - 1 < after <= before + 0.01 and after == pytest.approx(before, abs=1)


async def test_openevse_async_state_messages_are_taken_between_replies(sim, rapi):
    board = OpenEvseBoard(rapi)
    await board.read_status()
    seen: list = []
    rapi.on_async.append(seen.append)
    sim.plug(3)  # the twin pushes $AT on its own
    await sim.wait_for(lambda s: evse(s, 3)["contactor_closed"], timeout=5)
    st = await board.read_status()  # the $AT waiting in the line is consumed, not taken as the reply
    assert st.pilot is PilotState.C
    assert any(f.kind == "AT" for f in seen)


async def test_openevse_faults_and_silence(sim, rapi):
    board = OpenEvseBoard(rapi)
    sim.plug(3)
    sim.inject_fault(3, "rcd")
    st = await board.read_status()
    assert st.fault is BoardFault.RCD and not st.relay_closed
    sim.clear_fault(3)
    sim.inject_fault(3, "comm")
    with pytest.raises(DeviceUnavailable):
        await board.read_status()
    sim.clear_fault(3)
    assert (await board.read_status()).fault is None  # the late replies were dropped by sequence id


async def test_openevse_disable_pause_command(sim, rapi):
    board = OpenEvseBoard(rapi, pause_command="disable")
    sim.plug(3)
    await board.set_current_limit(0)
    assert (await board.read_status()).pilot is PilotState.F
    await board.set_current_limit(16)
    assert (await board.read_status()).relay_closed


async def test_openevse_says_it_rebooted_and_gets_its_current_back(sim, rapi):
    board = OpenEvseBoard(rapi)
    seen: list = []
    rapi.on_async.append(seen.append)
    sim.plug(3)
    await board.set_current_limit(10)
    assert (await board.read_status()).offered_current_a == 10.0
    sim.reboot_board(3)  # enabled again at its EEPROM 16 A, and $AB
    assert sim.evse_state(3)["current_limit_a"] == 16
    async with asyncio.timeout(5):
        while not any(f.kind == "AB" for f in seen):
            await board.read_status()  # the $AB comes between replies
    assert (await board.read_status()).offered_current_a == 10.0  # restated on the read after $AB
    assert sim.evse_state(3)["current_limit_a"] == 10


# ---- a board that reboots, for every board ------------------------------------------------


@pytest.mark.parametrize("evse_id, make", [
    (1, lambda bus: HeidelbergBoard(bus.device(1), watchdog_ms=0)),
    (2, lambda bus: BenderBoard(bus.device(255))),
    (4, lambda bus: EvseDinBoard(bus.device(7))),
], ids=["heidelberg", "bender", "evse-din"])
async def test_a_rebooted_board_reports_its_power_up_current_in_amps(sim, bus, evse_id, make):
    """What a driver reads from its rebooted twin (power-up 16 A after being told 10 A), in A:
    what the station compares with the offer it wants (agent/station/device_poller.py)."""
    board = make(bus)
    sim.plug(evse_id)
    await board.set_current_limit(10)
    assert (await board.read_status()).offered_current_a == 10.0
    sim.reboot_board(evse_id)
    status = await board.read_status()
    assert status.offered_current_a == 16.0 and status.relay_closed


@pytest.mark.rtu
async def test_openevse_over_a_pty(tmp_path):
    if not shutil.which("socat"):
        pytest.skip("socat not installed")
    link_path = tmp_path / "ttyOpenEVSE"
    evses = [{"id": 1, "board": "openevse", "meter": "none", "rapi_link": str(link_path)}]
    async with Simulator(sim_config(evses=evses), http=False, modbus_port=0) as s:
        link = RapiLink(str(link_path), timeout_s=1.0)
        try:
            board = OpenEvseBoard(link)
            s.plug(1)
            await board.set_current_limit(10)
            st = await board.read_status()
            assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, True, 10.0)
        finally:
            await link.close()
            await asyncio.sleep(0)
