"""The same drivers over Modbus RTU: a socat pty pair, and RTU framing over TCP (socket://)."""

from __future__ import annotations

import time

import pytest
from tests.drivers.modbus_servers import EVSE_UNIT, METER_UNIT, start_tcp_server
from tests.ports import free_port
from pymodbus.framer import FramerType

from drivers.boards.evse_din import EvseDinBoard
from drivers.interfaces import DeviceError, DeviceUnavailable, PilotState
from drivers.bus.modbus import ModbusBus
from drivers.meters.eastron import Sdm630Meter


@pytest.mark.rtu
async def test_rtu_on_pty_pair(rtu_server):
    sim, tty = rtu_server
    bus = ModbusBus.rtu(tty, baudrate=9600, parity="N", stopbits=1, timeout=0.3, retries=0)
    try:
        board = EvseDinBoard(bus.device(EVSE_UNIT, min_interval_s=0.1))
        meter = Sdm630Meter(bus.device(METER_UNIT))
        st = await board.read_status()
        assert st.pilot is PilotState.B and st.offered_current_a == 16.0
        t0 = time.monotonic()
        await board.set_current_limit(20)
        assert time.monotonic() - t0 >= 0.1  # paced after read_status
        assert sim.evse[1000] == 2000
        r = await meter.read()
        assert r.energy_wh == pytest.approx(1234500.0, rel=1e-6)
        with pytest.raises(DeviceError):
            await bus.read_holding(EVSE_UNIT, 3000, 1)
        # an absent unit on RS-485: silence, then lost
        for _ in range(3):
            with pytest.raises(DeviceUnavailable):
                await bus.read_holding(9, 1000, 1)
        assert bus.is_lost(9)
        # the line still works for the others after the timeouts
        assert (await board.read_status()).pilot is PilotState.B
    finally:
        await bus.close()


@pytest.mark.rtu
async def test_rtu_missing_serial_device_is_unavailable(tmp_path):
    bus = ModbusBus.rtu(str(tmp_path / "ttyNONE"), timeout=0.2, retries=0)
    with pytest.raises(DeviceUnavailable):
        await bus.read_holding(EVSE_UNIT, 1000, 1)
    await bus.close()


async def test_rtu_framing_over_tcp_socket_url(sim):
    port = free_port()
    server = await start_tcp_server(sim, port, framer=FramerType.RTU)
    bus = ModbusBus.rtu(f"socket://127.0.0.1:{port}", timeout=0.3, retries=0)
    try:
        st = await EvseDinBoard(bus.device(EVSE_UNIT)).read_status()
        assert st.pilot is PilotState.B
        r = await Sdm630Meter(bus.device(METER_UNIT)).read()
        assert r.power_w == 11040.0
    finally:
        await bus.close()
        await server.shutdown()
