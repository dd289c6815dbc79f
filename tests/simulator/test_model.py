"""Pure model tests: no event loop, time passed in explicitly."""

from __future__ import annotations

import pytest

from simulator.config import EvseConfig
from simulator.twins.boards.evse_din import Refusal, Reg
from simulator.model import Fault, SimModel
from simulator.pilot import Pilot

THREE_PHASE = EvseConfig(id=1, board_unit=1, meter_unit=2, phases=3, voltage=230.0,
                         default_current_a=16, battery_kwh=60.0, soc_start=0.3, max_current_a=16.0)
ONE_PHASE = EvseConfig(id=2, board_unit=3, meter_unit=4, phases=1, voltage=230.0,
                       default_current_a=0, battery_kwh=10.0, soc_start=0.5, max_current_a=32.0)


@pytest.fixture
def model():
    return SimModel([THREE_PHASE, ONE_PHASE])


def reg(model, unit, address):
    return model.board_read(unit, address, 1)[0]


def test_power_up_loads_default_current_into_1000(model):
    assert reg(model, 1, Reg.CURRENT) == 16 and reg(model, 1, Reg.DEFAULT_CURRENT) == 16
    assert reg(model, 3, Reg.CURRENT) == 0
    assert reg(model, 1, Reg.FIRMWARE) == 18
    assert reg(model, 1, Reg.VEHICLE_STATE) == 1  # A: no EV


def test_energy_integrates_power_of_the_ev(model):
    model.plug(1)
    p = model.evse(1)
    assert p.board.relay and p.pilot is Pilot.C
    assert p.power_w == pytest.approx(16 * 230 * 3)
    model.advance(3600)
    assert p.meter.import_kwh == pytest.approx(11.04)
    assert p.ev.soc == pytest.approx(0.3 + 11.04 / 60)
    # meter current per phase and total power
    assert p.meter.currents == [16.0, 16.0, 16.0]
    assert p.meter.total_power == pytest.approx(11040)


def test_current_is_min_of_board_limit_and_ev_acceptance(model):
    model.plug(2)
    assert model.board_write(3, Reg.CURRENT, [20]) is None
    p = model.evse(2)
    assert p.ev_current_a == 20  # EV accepts 32 A
    assert p.meter.currents == [20.0, 0.0, 0.0]  # one phase
    model.board_write(1, Reg.CURRENT, [32])
    model.plug(1)
    assert model.evse(1).ev_current_a == 16  # EV accepts 16 A only


def test_relay_rules(model):
    p = model.evse(1)
    assert not p.board.relay  # no EV
    model.plug(1)
    assert p.board.relay and reg(model, 1, Reg.STATUS) & 1
    model.set_ev_state(1, "B")  # C -> B opens
    assert not p.board.relay and reg(model, 1, Reg.VEHICLE_STATE) == 2
    model.set_ev_state(1, "C")
    assert p.board.relay and reg(model, 1, Reg.VEHICLE_STATE) == 3
    model.board_write(1, Reg.CURRENT, [0])  # 0 = off
    assert not p.board.relay and reg(model, 1, Reg.EVSE_STATE) == 3
    assert p.power_w == 0
    model.board_write(1, Reg.CURRENT, [6])
    assert p.board.relay and reg(model, 1, Reg.EVSE_STATE) == 2
    model.unplug(1)
    assert not p.board.relay and reg(model, 1, Reg.VEHICLE_STATE) == 1
    kinds = [(e.kind, e.value) for e in model.events if e.kind == "relay"]
    assert kinds == [("relay", True), ("relay", False), ("relay", True), ("relay", False),
                     ("relay", True), ("relay", False)]


def test_refused_writes(model):
    assert model.board_write(1, Reg.CURRENT, [3]) is Refusal.ILLEGAL_VALUE
    assert model.board_write(1, Reg.CURRENT, [81]) is Refusal.ILLEGAL_VALUE
    assert model.board_write(1, Reg.VEHICLE_STATE, [1]) is Refusal.ILLEGAL_ADDRESS
    assert model.board_write(1, 1500, [1]) is Refusal.ILLEGAL_ADDRESS
    # all or nothing: 1000 ok, 1001 read-only -> nothing applied
    assert model.board_write(1, Reg.CURRENT, [10, 10]) is Refusal.ILLEGAL_ADDRESS
    assert reg(model, 1, Reg.CURRENT) == 16


def test_full_battery_goes_to_b_and_stops_drawing(model):
    model.plug(2)
    model.board_write(3, Reg.CURRENT, [16])
    p = model.evse(2)
    model.advance(10 * 3600)  # far more than needed: 5 kWh at 3.68 kW
    assert p.ev.soc == 1.0
    assert p.pilot is Pilot.B and not p.board.relay and p.power_w == 0
    assert p.meter.import_kwh == pytest.approx(5.0)  # exactly what the battery took
    model.advance(60)
    assert p.meter.import_kwh == pytest.approx(5.0)


def test_centi_amp_mode(model):
    # 2005 bit7 (FW >= 17): 1000 in 0.01 A; the current is kept when the scale flips
    bits = reg(model, 1, Reg.CONFIG_BITS)
    assert model.board_write(1, Reg.CONFIG_BITS, [bits | 0x80]) is None
    assert reg(model, 1, Reg.CURRENT) == 1600
    assert model.board_write(1, Reg.CURRENT, [16]) is Refusal.ILLEGAL_VALUE  # 0.16 A
    assert model.board_write(1, Reg.CURRENT, [1050]) is None
    model.plug(1)
    assert model.evse(1).ev_current_a == pytest.approx(10.5)
    assert reg(model, 1, Reg.PWM_CURRENT) == 1050
    model.board_write(1, Reg.CONFIG_BITS, [bits])
    assert reg(model, 1, Reg.CURRENT) == 10


@pytest.mark.parametrize("layout,bit", [("syssi", 1 << 5), ("pdf", 1 << 4)])
def test_rcd_fault_latches_until_1004_bit2(layout, bit):
    from dataclasses import replace

    m = SimModel([replace(THREE_PHASE, rcd_layout=layout)])
    m.plug(1)
    m.inject_fault(1, Fault.RCD)
    p = m.evse(1)
    assert not p.board.relay and p.pilot is Pilot.F
    assert reg(m, 1, Reg.VEHICLE_STATE) == 5
    assert reg(m, 1, Reg.STATUS) == bit
    m.advance(60)
    assert p.fault is Fault.RCD and not p.board.relay  # latched
    assert m.board_write(1, Reg.COMMAND, [1 << 2]) is None
    assert p.fault is None and p.board.relay and reg(m, 1, Reg.STATUS) == 1
    assert reg(m, 1, Reg.COMMAND) == 0  # command bits self-clear


def test_pilot_fault_and_clear(model):
    model.plug(1)
    model.inject_fault(1, "pilot")
    p = model.evse(1)
    assert p.pilot is Pilot.E and not p.board.relay
    assert reg(model, 1, Reg.VEHICLE_STATE) == 5 and reg(model, 1, Reg.STATUS) == 0b10
    model.board_write(1, Reg.COMMAND, [1 << 2])  # clears only RCD errors
    assert p.fault is Fault.PILOT
    model.clear_fault(1)
    assert p.pilot is Pilot.C and p.board.relay


def test_overcurrent_draws_30_percent_more(model):
    model.plug(1)
    model.board_write(1, Reg.CURRENT, [10])
    model.inject_fault(1, "overcurrent")
    assert model.evse(1).ev_current_a == pytest.approx(13.0)
    model.clear_fault(1)
    assert model.evse(1).ev_current_a == pytest.approx(10.0)


def test_comm_faults_make_units_silent(model):
    assert not model.unit_silent(1) and not model.unit_silent(2)
    assert model.unit_silent(9)  # nobody at 9
    model.inject_fault(1, "comm")
    assert model.unit_silent(1) and not model.unit_silent(2)
    model.inject_fault(1, "meter_comm")  # replaces the previous fault
    assert not model.unit_silent(1) and model.unit_silent(2)
    model.clear_fault(1)
    assert not model.unit_silent(2)


def test_command_bit0_turns_off(model):
    model.plug(1)
    model.board_write(1, Reg.COMMAND, [1])
    assert reg(model, 1, Reg.CURRENT) == 0 and not model.evse(1).board.relay


def test_set_ev_state_needs_a_plugged_ev(model):
    with pytest.raises(ValueError):
        model.set_ev_state(1, "C")
    with pytest.raises(KeyError):
        model.plug(7)


def test_unplugged_at_the_ev_the_cable_stays_in_the_socket_and_its_pp_is_seen(model):
    model.plug(1)
    assert reg(model, 1, Reg.CABLE_LIMIT) == 32 and reg(model, 1, Reg.VEHICLE_STATE) == 3
    model.unplug_ev(1)  # out of the EV, still in the charge point
    assert reg(model, 1, Reg.VEHICLE_STATE) == 1 and reg(model, 1, Reg.CABLE_LIMIT) == 32
    assert model.evse(1).state()["cable_in_socket"] is True
    model.unplug(1)  # and out of the charge point
    assert reg(model, 1, Reg.CABLE_LIMIT) == 0 and model.evse(1).state()["cable_in_socket"] is False
