"""Register bytes <-> values for the Heidelberg, Bender, ABB and OpenEVSE drivers (no I/O)."""

from __future__ import annotations

import pytest

from drivers.meters import abb_b23

from drivers.boards import bender

from drivers.boards import heidelberg

from drivers.boards import openevse
from drivers.interfaces import BoardFault, DeviceError, PilotState
from drivers.bus.modbus import DATATYPE, decode_values


# ---- Heidelberg (docs/hardware/heidelberg.md#input-registers) -----------------------------


def heidelberg_regs(state=7, energy=(0x0001, 0x0002), temp=253) -> list[int]:
    # 5 state, 6-8 I (0.1 A), 9 temp, 10-12 V, 13 lock, 14 VA, 15-16, 17-18 energy
    return [state, 160, 158, 0, temp, 230, 231, 0, 1, 7300, 0, 0, *energy]


@pytest.mark.parametrize(
    "code, pilot, relay, offered, fault",
    [
        (2, PilotState.A, False, 0.0, None),
        (3, PilotState.A, False, 16.0, None),
        (4, PilotState.B, False, 0.0, None),
        (5, PilotState.B, False, 16.0, None),
        (6, PilotState.C, False, 0.0, None),
        (7, PilotState.C, True, 16.0, None),
        (8, PilotState.C, True, 16.0, None),  # derating still charges
        (9, PilotState.E, False, 0.0, BoardFault.PILOT),
        (10, PilotState.F, False, 0.0, None),
        (11, PilotState.F, False, 0.0, BoardFault.OTHER),
    ],
)
def test_heidelberg_states(code, pilot, relay, offered, fault):
    st = heidelberg.decode_status(heidelberg_regs(state=code), 160)
    assert (st.pilot, st.relay_closed, st.offered_current_a, st.fault) == (pilot, relay, offered, fault)


def test_heidelberg_bad_state_and_short_block():
    with pytest.raises(DeviceError, match="state 12"):
        heidelberg.decode_status(heidelberg_regs(state=12), 160)
    with pytest.raises(DeviceError):
        heidelberg.decode_status([7, 0], 160)


def test_heidelberg_meter_and_both_energy_word_orders():
    regs = heidelberg_regs(energy=(0x0001, 0x0002))
    big = heidelberg.decode_reading(regs, "big")
    assert big.energy_wh == 0x0001_0002
    assert big.current_a == (16.0, 15.8, 0.0) and big.voltage_v == (230.0, 231.0, 0.0)
    assert big.power_w == 7300.0
    assert heidelberg.decode_reading(regs, "little").energy_wh == 0x0002_0001
    assert heidelberg.decode_temperature(heidelberg_regs(temp=0xFFF6)) == -1.0  # s16


def test_heidelberg_current_encoding():
    assert heidelberg.encode_current(0) == 0
    assert heidelberg.encode_current(6) == 60
    assert heidelberg.encode_current(13.77) == 137  # never more than asked
    assert heidelberg.encode_current(32) == 160  # the box's maximum
    for bad in (3, -1, float("nan")):
        with pytest.raises(ValueError):
            heidelberg.encode_current(bad)


def test_heidelberg_board_refuses_bad_settings():
    with pytest.raises(ValueError):
        heidelberg.HeidelbergBoard(None, watchdog_ms=70000)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        heidelberg.HeidelbergBoard(None, failsafe_current_a=3)  # type: ignore[arg-type]


# ---- Bender (docs/hardware/bender.md#registers) ----------------------------------------------


def u32(*values: int) -> list[int]:
    out: list[int] = []
    for v in values:
        out += [v >> 16, v & 0xFFFF]
    return out


def test_bender_status():
    st = bender.decode_status(3, 1, 16)
    assert (st.pilot, st.relay_closed, st.offered_current_a) == (PilotState.C, True, 16.0)
    assert bender.decode_status(2, 0, 10).relay_closed is False
    assert bender.decode_status(3, 5, 10).relay_closed is True  # one-phase
    assert bender.decode_status(1, 0, 16).offered_current_a == 0.0
    with pytest.raises(DeviceError, match="CP state 5"):
        bender.decode_status(5, 0, 16)


def test_bender_meter_and_not_available():
    regs = u32(16000, 15500, 0, 123456, 7300, 230, 229, 0)
    r = bender.decode_reading(regs)
    assert r.current_a == (16.0, 15.5, 0.0) and r.energy_wh == 123456.0 and r.power_w == 7300.0
    assert r.voltage_v == (230.0, 229.0, 0.0)
    na = bender.NOT_AVAILABLE
    with pytest.raises(DeviceError, match="not available"):
        bender.decode_reading(u32(na, na, na, na, na, na, na, na))
    assert bender.encode_current(16.9) == 16 and bender.encode_current(0) == 0
    with pytest.raises(ValueError):
        bender.encode_current(5)


# ---- ABB B23 (docs/hardware/abb-b23.md#registers) ----------------------------------------------


def abb_instant(volts=(2301, 2302, 2303), amps=(1600, 1550, 1575), power=1104000) -> list[int]:
    regs = [0xFFFF] * abb_b23.INSTANT_BLOCK[1]
    regs[0:6] = u32(*volts)
    regs[0x0C:0x12] = u32(*amps)
    regs[0x14:0x16] = u32(power & 0xFFFFFFFF)
    return regs


def test_abb_reading_scales_and_u64_energy():
    energy = [0, 0, 0x0001, 0x0000]  # 65536 x 0.01 kWh
    r = abb_b23.decode_reading(abb_instant(), energy)
    assert r.voltage_v == pytest.approx((230.1, 230.2, 230.3))
    assert r.current_a == pytest.approx((16.0, 15.5, 15.75))
    assert r.power_w == pytest.approx(11040.0)
    assert r.energy_wh == 655360.0
    assert abb_b23.decode_reading(abb_instant(power=-500), energy).power_w == -5.0  # s32


def test_abb_not_available_patterns():
    nan_u32 = abb_b23.NAN_U32
    single_phase = abb_b23.decode_reading(abb_instant(volts=(2300, nan_u32, nan_u32), amps=(800, nan_u32, nan_u32)), [0] * 4)
    assert single_phase.voltage_v == (230.0,) and single_phase.current_a == (8.0,)
    with pytest.raises(DeviceError, match="power"):
        abb_b23.decode_reading(abb_instant(power=0x7FFFFFFF), [0] * 4)
    with pytest.raises(DeviceError, match="energy"):
        abb_b23.decode_reading(abb_instant(), [0xFFFF] * 4)


def test_decode_values_uses_pymodbus_conversions():
    assert decode_values([0, 1, 0xFFFF, 0xFFFF], DATATYPE.UINT32) == [1, 0xFFFFFFFF]
    assert decode_values([1, 0], DATATYPE.UINT32, "little") == [1]
    with pytest.raises(ValueError):
        decode_values([1, 2, 3], DATATYPE.UINT32)


# ---- OpenEVSE RAPI (docs/hardware/openevse-rapi.md#frames) -----------------------------------


def test_rapi_frames_and_checksums():
    assert openevse.encode_frame("GS") == b"$GS^30\r"  # '$'^'G'^'S' = 0x30
    assert openevse.encode_frame("SC", 16, "V", seq=3).startswith(b"$SC 16 V :03^")
    f = openevse.decode_frame(b"$OK 03 120 03 0140 :03^" + openevse.xor_checksum("$OK 03 120 03 0140 :03").encode())
    assert (f.kind, f.tokens, f.seq) == ("OK", ("03", "120", "03", "0140"), 3)
    assert openevse.decode_frame("$FE*AF").kind == "FE"  # legacy additive checksum
    assert openevse.decode_frame("\n$NK").kind == "NK"  # no checksum, noise before '$'
    with pytest.raises(DeviceError, match="checksum"):
        openevse.decode_frame("$OK^00")
    with pytest.raises(DeviceError):
        openevse.decode_frame("garbage")
    with pytest.raises(ValueError):
        openevse.encode_frame("GSX")


@pytest.mark.parametrize(
    "state, pilot_state, vflags, pilot, relay, offered, fault",
    [
        (0x01, 0x01, 0x0000, PilotState.A, False, 16.0, None),
        (0x02, 0x02, 0x0100, PilotState.B, False, 16.0, None),
        (0x03, 0x03, 0x0140, PilotState.C, True, 16.0, None),
        (0x04, 0x04, 0x0140, PilotState.D, True, 16.0, None),
        (0x05, 0x03, 0x0100, PilotState.E, False, 0.0, BoardFault.DIODE),
        (0x06, 0x03, 0x0100, PilotState.C, False, 0.0, BoardFault.RCD),
        (0x07, 0x02, 0x0100, PilotState.B, False, 0.0, BoardFault.OTHER),
        (0x08, 0x02, 0x0140, PilotState.B, True, 0.0, BoardFault.OTHER),
        (0x0A, 0x03, 0x0100, PilotState.C, False, 0.0, BoardFault.OTHER),
        (0x0B, 0x03, 0x0100, PilotState.C, False, 0.0, BoardFault.OVERCURRENT),
        (0xFE, 0x02, 0x0100, PilotState.B, False, 0.0, None),  # sleeping: EV still seen
        (0xFF, 0x02, 0x0100, PilotState.F, False, 0.0, None),  # disabled
    ],
)
def test_rapi_states(state, pilot_state, vflags, pilot, relay, offered, fault):
    st = openevse.decode_status(openevse.EvseState(state, pilot_state, vflags), 16)
    assert (st.pilot, st.relay_closed, st.offered_current_a, st.fault) == (pilot, relay, offered, fault)


def test_rapi_gs_at_gg_decoding():
    assert openevse.decode_gs(("03", "125", "03", "0140")) == openevse.EvseState(3, 3, 0x140)
    state, amps = openevse.decode_at(("fe", "02", "16", "0100"))
    assert state.evse_state == 0xFE and amps == 16 and state.ev_connected
    assert openevse.decode_gg(("16000", "230000")) == (16.0, 230.0)
    with pytest.raises(DeviceError):
        openevse.decode_gs(("zz",))
    with pytest.raises(DeviceError, match="unknown EVSE state"):
        openevse.decode_status(openevse.EvseState(0x42, 1, 0), 16)


def test_rapi_energy_register_folds_the_session_once():
    e = openevse.EnergyRegister()
    assert e.update(0, 1000, ev_connected=True) == 1000  # session starts
    assert e.update(36000, 1000, ev_connected=True) == 1010  # 10 Wh in the session
    assert e.update(37800, 1000, ev_connected=True) == 1010.5
    # EV unplugged: the firmware adds the whole Wh (10) to the total; the Ws stay
    assert e.update(37800, 1010, ev_connected=False) == 1010.5  # never backwards
    assert e.update(0, 1010, ev_connected=True) == 1010.5  # next session, Ws restart
    assert e.update(7200, 1010, ev_connected=True) == 1012
    first = openevse.EnergyRegister()  # agent starts with no EV: last session already in the total
    assert first.update(36000, 1010, ev_connected=False) == 1010
    # ...then an EV arrives: its session counts from the plug-in, although the Ws read
    # between polls never went down (the firmware reset them to 0 at the plug-in)
    assert first.update(3600, 1010, ev_connected=True) == 1011
    assert first.update(36000, 1010, ev_connected=True) == 1020


def test_rapi_current_encoding():
    assert openevse.encode_current(16.7) == 16 and openevse.encode_current(0) == 0
    with pytest.raises(ValueError):
        openevse.encode_current(4)
