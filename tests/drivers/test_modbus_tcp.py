"""ModbusBus + EVSE-DIN + SDM630 against a real pymodbus server over Modbus TCP."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.drivers.modbus_servers import EVSE_UNIT, METER_UNIT, start_tcp_server
from tests.ports import free_port
from drivers.boards.evse_din import EvseDinBoard
from drivers.interfaces import (
    BoardFault, DeviceError, DeviceUnavailable, EvseBoard, PilotState, PowerMeter,
)
from drivers.bus.modbus import ModbusBus
from drivers.meters.eastron import Sdm120Meter, Sdm630Meter


@pytest.fixture
async def bus(tcp_server):
    _sim, port = tcp_server
    b = ModbusBus.tcp("127.0.0.1", port, timeout=0.3, retries=0)
    yield b
    await b.close()


async def test_raw_reads_and_writes(bus, sim):
    assert await bus.read_holding(EVSE_UNIT, 1002, 1) == [2]
    await bus.write_register(EVSE_UNIT, 1000, 1000)
    await bus.write_registers(EVSE_UNIT, 2010, [6, 10])
    assert sim.evse[1000] == 1000 and (sim.evse[2010], sim.evse[2011]) == (6, 10)
    assert await bus.read_holding(EVSE_UNIT, 2010, 2) == [6, 10]
    assert [fc for fc, _a, _v in sim.writes] == [6, 16]
    dev = bus.device(METER_UNIT)
    assert (await dev.read_input_float32(0x00, 2)) == pytest.approx([230.1, 231.2], rel=1e-6)


async def test_evse_din_status_and_current_centiamps(bus, sim):
    board = EvseDinBoard(bus.device(EVSE_UNIT, min_interval_s=0.0))
    assert isinstance(board, EvseBoard)
    sim.evse.update({1001: 1600, 1002: 3, 1007: 0b1})
    st = await board.read_status()
    assert (st.pilot, st.relay_closed, st.offered_current_a, st.cable_limit_a, st.fault) == (
        PilotState.C, True, 16.0, 32.0, None)
    assert await board.centiamps() is True  # FW 18 + 2005 bit7
    await board.set_current_limit(13.5)
    assert sim.evse[1000] == 1350
    await board.set_current_limit(0)
    assert sim.evse[1000] == 0
    with pytest.raises(ValueError):
        await board.set_current_limit(4)


async def test_evse_din_whole_amps_and_rcd_fault(bus, sim):
    sim.evse.update({2005: 1 << 3, 1002: 5, 1007: 1 << 4})
    board = EvseDinBoard(bus.device(EVSE_UNIT), rcd_bits="pdf")
    st = await board.read_status()
    assert st.pilot is PilotState.E and st.fault is BoardFault.RCD
    await board.set_current_limit(16.9)
    assert sim.evse[1000] == 16


async def test_evse_din_on_mode_sets_bit7_read_modify_write(bus, sim):
    sim.evse[2005] = (1 << 0) | (1 << 9)
    board = EvseDinBoard(bus.device(EVSE_UNIT), centiamp_mode="on")
    await board.set_current_limit(10)
    assert sim.evse[2005] == (1 << 0) | (1 << 9) | (1 << 7)  # other bits kept
    assert sim.evse[1000] == 1000


async def test_evse_din_off_mode_does_not_touch_config(bus, sim):
    board = EvseDinBoard(bus.device(EVSE_UNIT), centiamp_mode="off")
    await board.set_current_limit(10)
    assert sim.evse[1000] == 10
    assert all(addr != 2005 for _fc, addr, _v in sim.writes)


async def test_sdm630(bus, sim):
    meter = Sdm630Meter(bus.device(METER_UNIT))
    assert isinstance(meter, PowerMeter)
    before = sim.requests
    r = await meter.read()
    assert sim.requests - before == 2  # two block reads
    assert r.voltage_v == pytest.approx((230.1, 231.2, 229.3), rel=1e-6)
    assert r.current_a == pytest.approx((16.0, 15.5, 15.75))
    assert r.power_w == 11040.0
    assert r.energy_wh == pytest.approx(1234500.0, rel=1e-6)
    sim.meter[0x48] = float("nan")
    with pytest.raises(DeviceError):
        await meter.read()
    sim.meter[0x48] = -3.0
    with pytest.raises(DeviceError):
        await meter.read()


async def test_exception_response_is_device_error(bus):
    with pytest.raises(DeviceError, match="code 2"):  # ILLEGAL_ADDRESS
        await bus.read_holding(EVSE_UNIT, 3000, 1)
    assert not bus.is_lost(EVSE_UNIT)


async def test_silent_unit_unavailable_then_lost(bus, sim):
    dev = bus.device(7)
    for n in range(1, 4):
        assert dev.is_lost is False
        with pytest.raises(DeviceUnavailable):
            await dev.read_holding(1000, 1)
        assert dev.failures == n
    assert dev.is_lost is True
    # the other units on the bus are unaffected
    assert await bus.read_holding(EVSE_UNIT, 1002, 1) == [2]
    assert not bus.is_lost(EVSE_UNIT)


async def test_unit_recovers_from_lost(bus, sim):
    sim.silent.add(METER_UNIT)
    meter = Sdm630Meter(bus.device(METER_UNIT))
    for _ in range(3):
        with pytest.raises(DeviceUnavailable):
            await meter.read()
    assert bus.is_lost(METER_UNIT)
    sim.silent.clear()
    await meter.read()
    assert not bus.is_lost(METER_UNIT) and bus.failures(METER_UNIT) == 0


async def test_pacing_per_unit(bus):
    dev = bus.device(EVSE_UNIT, min_interval_s=0.15)
    await dev.read_holding(1002, 1)
    t_end_first = time.monotonic()
    await dev.read_holding(1002, 1)
    assert time.monotonic() - t_end_first >= 0.15  # a lower bound: a slow machine only adds


async def test_a_paced_unit_does_not_hold_back_another(bus):
    """The EVSE's next read waits out its interval (60 s); the meter on the same bus is
    read meanwhile: an order of events, not a time bound."""
    slow = bus.device(EVSE_UNIT, min_interval_s=60.0)
    other = bus.device(METER_UNIT)
    await slow.read_holding(1002, 1)
    waiting = asyncio.create_task(slow.read_holding(1002, 1))
    await asyncio.sleep(0)  # one loop pass: the task runs into its wait
    try:
        async with asyncio.timeout(30):  # held back, it would wait the EVSE's 60 s
            assert len(await other.read_input(0, 2)) == 2
        assert not waiting.done()  # the meter's answer came while the EVSE's read waited
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)


async def test_concurrent_requests_are_serialised(bus, sim):
    board = EvseDinBoard(bus.device(EVSE_UNIT))
    meter = Sdm630Meter(bus.device(METER_UNIT))
    results = await asyncio.gather(*[board.read_status() for _ in range(10)],
                                   *[meter.read() for _ in range(10)])
    assert len(results) == 20


async def test_link_down_and_lazy_reconnect(sim):
    port = free_port()
    bus = ModbusBus.tcp("127.0.0.1", port, timeout=0.3, retries=0)
    try:
        with pytest.raises(DeviceUnavailable):  # nobody listening
            await bus.read_holding(EVSE_UNIT, 1002, 1)
        server = await start_tcp_server(sim, port)
        assert await bus.read_holding(EVSE_UNIT, 1002, 1) == [2]
        await server.shutdown()
        with pytest.raises(DeviceUnavailable):
            for _ in range(5):  # the close is noticed by the next request(s)
                await bus.read_holding(EVSE_UNIT, 1002, 1)
        server = await start_tcp_server(sim, port)
        assert await bus.read_holding(EVSE_UNIT, 1002, 1) == [2]
        await server.shutdown()
    finally:
        await bus.close()


def test_rtu_parameters_validated():
    with pytest.raises(ValueError):
        ModbusBus.rtu("/dev/null", parity="X")
    with pytest.raises(ValueError):
        ModbusBus.rtu("/dev/null", stopbits=3)


async def test_sdm120_single_phase(bus, sim):
    sim.meter[0x0C] = 3680.0  # P L1
    r = await Sdm120Meter(bus.device(METER_UNIT)).read()
    assert r.voltage_v == pytest.approx((230.1,), rel=1e-6)
    assert r.current_a == (16.0,)
    assert r.power_w == 3680.0
    assert r.energy_wh == pytest.approx(1234500.0, rel=1e-6)
