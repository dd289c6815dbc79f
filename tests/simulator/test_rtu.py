"""Modbus RTU over the socat pty pair."""

from __future__ import annotations

import shutil

import pytest
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerType

from simulator.app import Simulator

pytestmark = [pytest.mark.rtu,
              pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")]


def rtu_client(path):
    return AsyncModbusSerialClient(path, framer=FramerType.RTU, baudrate=9600, timeout=0.3,
                                   retries=0)


async def test_rtu_bus_reads_writes_and_silence(tmp_path):
    link = str(tmp_path / "ttyAgent")
    async with Simulator(http=False, modbus_port=0, rtu_link=link) as sim:
        assert sim.rtu_link == link
        c = rtu_client(link)
        assert await c.connect()
        r = await c.read_holding_registers(1000, count=3, device_id=3)
        assert r.registers == [16, 16, 1]
        r = await c.write_register(1000, 8, device_id=3)
        assert not r.isError()
        assert sim.evse_state(2)["current_limit_a"] == 8
        r = await c.write_register(1000, 5, device_id=3)
        assert r.isError() and r.exception_code == 3
        with pytest.raises(ModbusIOException):
            await c.read_holding_registers(1000, count=1, device_id=42)
        r = await c.read_input_registers(0x00, count=2, device_id=4)
        assert c.convert_from_registers(r.registers, c.DATATYPE.FLOAT32) == pytest.approx(230.0)
        c.close()
        # the agent may close and reopen its port: the pty pair must survive that
        c = rtu_client(link)
        assert await c.connect()
        r = await c.read_holding_registers(1000, count=1, device_id=1)
        assert r.registers == [16]
        c.close()
