"""Pure register decode/encode (no I/O): docs/hardware/evse-din.md#registers,
docs/hardware/eastron-sdm.md#registers, docs/hardware/pcsc-vpcd.md#uid-apdu."""

from __future__ import annotations

import math

import pytest
from pymodbus.client.mixin import ModbusClientMixin

from drivers.boards.evse_din import centiamps_enabled, decode_current, decode_status, encode_current
from drivers.interfaces import BoardFault, DeviceError, PilotState
from drivers.bus.modbus import decode_float32, encode_float32
from drivers.readers.pcsc import format_uid, parse_uid_response
from drivers.meters.eastron import decode_reading


def regs(*, cfg=16, pwm=16, vehicle=2, cable=32, fw=18, evse=2, bits=0):
    """1000..1007 in register order."""
    return [cfg, pwm, vehicle, cable, 0, fw, evse, bits]


# ---- EVSE-DIN status -------------------------------------------------------
@pytest.mark.parametrize(
    "vehicle, pilot", [(1, PilotState.A), (2, PilotState.B), (3, PilotState.C), (4, PilotState.D)]
)
def test_vehicle_states(vehicle, pilot):
    st = decode_status(regs(vehicle=vehicle))
    assert st.pilot is pilot and st.fault is None


def test_relay_current_cable():
    st = decode_status(regs(vehicle=3, pwm=20, cable=32, bits=0b1))
    assert st.relay_closed is True
    assert st.offered_current_a == 20.0
    assert st.cable_limit_a == 32.0
    st = decode_status(regs(cable=0, bits=0))
    assert st.relay_closed is False and st.cable_limit_a is None


def test_centiamp_scaling_of_1001():
    assert decode_status(regs(pwm=1650), centiamps=True).offered_current_a == 16.5
    # a whole-amp value in 0.01 A mode is still taken as amps (< 0.8 A makes no sense)
    assert decode_status(regs(pwm=16), centiamps=True).offered_current_a == 16.0
    assert decode_current(0, True) == 0.0


def test_failure_diode():
    st = decode_status(regs(vehicle=5, bits=0b10))
    assert st.pilot is PilotState.E and st.fault is BoardFault.DIODE


def test_failure_rcd_syssi_layout():
    # syssi: bit4 = RCD test in progress (no fault), bit5 = RCD check error
    assert decode_status(regs(vehicle=2, bits=1 << 4), rcd_bits="syssi").fault is None
    st = decode_status(regs(vehicle=5, bits=1 << 5), rcd_bits="syssi")
    assert st.fault is BoardFault.RCD and st.pilot is PilotState.E


def test_failure_rcd_pdf_layout():
    assert decode_status(regs(vehicle=5, bits=1 << 4), rcd_bits="pdf").fault is BoardFault.RCD
    assert decode_status(regs(vehicle=5, bits=1 << 5), rcd_bits="pdf").fault is BoardFault.OTHER


def test_rcd_wins_over_diode_and_is_reported_outside_state_5():
    assert decode_status(regs(vehicle=5, bits=(1 << 5) | 0b10)).fault is BoardFault.RCD
    assert decode_status(regs(vehicle=2, bits=1 << 5)).fault is BoardFault.RCD


def test_failure_without_bits():
    assert decode_status(regs(vehicle=5, bits=0)).fault is BoardFault.OTHER
    assert decode_status(regs(vehicle=5, bits=1 << 3)).fault is BoardFault.PILOT
    assert decode_status(regs(vehicle=5, bits=1 << 2)).fault is BoardFault.VENTILATION


@pytest.mark.parametrize("vehicle", [0, 6, 0xFFFF])
def test_invalid_vehicle_state(vehicle):
    with pytest.raises(DeviceError):
        decode_status(regs(vehicle=vehicle))


def test_short_status_block():
    with pytest.raises(DeviceError):
        decode_status([1, 2, 3])


# ---- EVSE-DIN current encode -----------------------------------------------
@pytest.mark.parametrize(
    "amps, centi, raw",
    [(0, False, 0), (0, True, 0), (6, False, 6), (6, True, 600), (16.7, False, 16),
     (16.7, True, 1670), (32, True, 3200), (80, False, 80), (100, False, 80), (100, True, 8000)],
)
def test_encode_current(amps, centi, raw):
    assert encode_current(amps, centi) == raw


@pytest.mark.parametrize("amps", [0.1, 3, 5.99, -1, math.nan, math.inf])
def test_encode_current_refuses(amps):
    with pytest.raises(ValueError):
        encode_current(amps, False)


def test_centiamps_enabled_rule():
    assert centiamps_enabled(18, 1 << 7)
    assert centiamps_enabled(17, (1 << 7) | 1)
    assert not centiamps_enabled(16, 1 << 7)  # old FW: bit7 = PWM debug
    assert not centiamps_enabled(18, 0)


# ---- float32 / SDM630 --------------------------------------------------------
def test_float32_word_order_is_high_word_first():
    assert encode_float32([230.0]) == [0x4366, 0x0000]
    assert decode_float32([0x4366, 0x0000]) == [230.0]
    # same as pymodbus's own conversion with the big word order
    regs_ = ModbusClientMixin.convert_to_registers(1.5, ModbusClientMixin.DATATYPE.FLOAT32)
    assert decode_float32(regs_) == [1.5]
    assert decode_float32(encode_float32([1.0, -2.0])) == [1.0, -2.0]


def sdm_blocks(v=(230.0, 231.0, 229.0), i=(16.0, 15.0, 14.0), p=11000.0, e=1234.5):
    phase = encode_float32([*v, *i])
    total = [0] * 22
    total[0:2] = encode_float32([p])
    total[0x48 - 0x34 : 0x48 - 0x34 + 2] = encode_float32([e])
    return phase, total


def test_decode_reading():
    r = decode_reading(*sdm_blocks())
    assert r.voltage_v == (230.0, 231.0, 229.0)
    assert r.current_a == (16.0, 15.0, 14.0)
    assert r.power_w == 11000.0
    assert r.energy_wh == 1234500.0


def test_decode_reading_single_phase():
    r = decode_reading(*sdm_blocks(), phases=1)
    assert r.voltage_v == (230.0,) and r.current_a == (16.0,)


@pytest.mark.parametrize(
    "kw", [dict(e=math.nan), dict(e=math.inf), dict(e=-1.0), dict(p=math.nan),
           dict(v=(math.nan, 0.0, 0.0)), dict(i=(0.0, math.inf, 0.0))]
)
def test_decode_reading_bad_values(kw):
    with pytest.raises(DeviceError):
        decode_reading(*sdm_blocks(**kw))


# ---- UID -------------------------------------------------------------------------
def test_uid_formatting():
    assert format_uid(bytes.fromhex("26defae7")) == "26DEFAE7"
    assert format_uid(bytes.fromhex("26defae7"), "reversed") == "E7FADE26"


def test_uid_response():
    assert parse_uid_response([0x04, 0xA1, 0xB2, 0xC3, 0x90, 0x00]) == bytes.fromhex("04A1B2C3")
    assert parse_uid_response(bytes.fromhex("0011223344556690 00".replace(" ", ""))) is not None
    assert parse_uid_response([0x63, 0x00]) is None
    assert parse_uid_response([0x6A, 0x81]) is None
    assert parse_uid_response([0x90, 0x00]) is None  # empty UID
