"""Modbus TCP against the running simulator with a real pymodbus client."""

from __future__ import annotations

import time

import pytest
from pymodbus.exceptions import ModbusIOException


def f32(client, regs):
    return client.convert_from_registers(regs, client.DATATYPE.FLOAT32, word_order="big")


async def test_board_registers_read_fc03(client, sim):
    r = await client.read_holding_registers(1000, count=10, device_id=1)
    assert not r.isError()
    assert r.registers[0] == 16 and r.registers[2] == 1 and r.registers[5] == 18
    r = await client.read_holding_registers(2000, count=18, device_id=3)
    assert r.registers[0] == 16 and r.registers[1] == 3  # default current, own address


async def test_write_fc06_and_fc16_change_the_model(client, sim):
    r = await client.write_register(1000, 10, device_id=1)
    assert not r.isError() and r.registers == [10]
    assert sim.evse_state(1)["current_limit_a"] == 10
    r = await client.write_registers(1000, [0], device_id=3)
    assert not r.isError()
    assert sim.evse_state(2)["current_limit_a"] == 0
    assert [(w.unit, w.function_code, w.address, w.values) for w in sim.register_writes] == [
        (1, 6, 1000, (10,)), (3, 16, 1000, (0,))]


async def test_refused_write_gets_exception_3(client, sim):
    r = await client.write_register(1000, 3, device_id=1)
    assert r.isError() and r.exception_code == 3
    assert sim.evse_state(1)["current_limit_a"] == 16
    assert sim.register_writes[-1].refused == 3
    r = await client.write_register(1002, 1, device_id=1)  # read-only vehicle state
    assert r.isError() and r.exception_code == 2


async def test_wrong_function_codes(client):
    r = await client.read_input_registers(1000, count=1, device_id=1)  # board: FC03 only
    assert r.isError() and r.exception_code == 1
    r = await client.read_holding_registers(0x48, count=2, device_id=2)  # meter: FC04 only
    assert r.isError() and r.exception_code == 1
    r = await client.read_holding_registers(1500, count=1, device_id=1)  # gap in the map
    assert r.isError() and r.exception_code == 2


async def test_meter_float32_values_follow_the_charging(client, sim):
    r = await client.read_input_registers(0x00, count=0x4C, device_id=2)
    regs = r.registers
    assert f32(client, regs[0:2]) == pytest.approx(230.0)
    assert f32(client, regs[0x46:0x48]) == pytest.approx(50.0)
    assert f32(client, regs[0x34:0x36]) == 0.0
    sim.plug(1)
    state = await sim.wait_for(lambda s: s["evses"][0]["energy_wh"] > 0.5, timeout=3)
    r = await client.read_input_registers(0x00, count=0x4C, device_id=2)
    regs = r.registers
    assert f32(client, regs[0x06:0x08]) == pytest.approx(16.0)  # I L1
    assert f32(client, regs[0x0C:0x0E]) == pytest.approx(3680.0)  # P L1
    assert f32(client, regs[0x34:0x36]) == pytest.approx(11040.0)  # total P
    kwh = f32(client, regs[0x48:0x4A])
    assert kwh * 1000 >= state["evses"][0]["energy_wh"] - 1e-3
    r = await client.read_input_registers(0x156, count=2, device_id=2)
    assert f32(client, r.registers) == pytest.approx(kwh, abs=0.01)


async def test_unit_without_device_is_silent(client):
    t0 = time.monotonic()
    with pytest.raises(ModbusIOException):
        await client.read_holding_registers(1000, count=1, device_id=9)
    assert time.monotonic() - t0 >= 0.25  # a timeout, not an exception response
    r = await client.read_holding_registers(1000, count=1, device_id=1)  # bus still fine
    assert r.registers == [16]


async def test_comm_fault_silences_board_until_cleared(client, sim):
    sim.plug(1)
    sim.inject_fault(1, "comm")
    with pytest.raises(ModbusIOException):
        await client.read_holding_registers(1000, count=1, device_id=1)
    with pytest.raises(ModbusIOException):
        await client.write_register(1000, 0, device_id=1)
    assert sim.register_writes == []  # a silent board does not act on writes
    assert sim.evse_state(1)["contactor_closed"]  # it keeps doing what it did
    r = await client.read_input_registers(0x34, count=2, device_id=2)  # meter answers
    assert not r.isError()
    sim.clear_fault(1)
    r = await client.read_holding_registers(1000, count=1, device_id=1)
    assert r.registers == [16]


async def test_meter_comm_fault(client, sim):
    sim.inject_fault(2, "meter_comm")
    with pytest.raises(ModbusIOException):
        await client.read_input_registers(0x48, count=2, device_id=4)
    r = await client.read_holding_registers(1000, count=1, device_id=3)
    assert not r.isError()
    sim.clear_fault(2)
    r = await client.read_input_registers(0x48, count=2, device_id=4)
    assert not r.isError()


async def test_relay_opens_when_agent_writes_zero(client, sim):
    sim.plug(1)
    await sim.wait_for(lambda s: s["evses"][0]["contactor_closed"], timeout=10)
    await client.write_register(1000, 0, device_id=1)
    state = await sim.wait_for(lambda s: not s["evses"][0]["contactor_closed"], timeout=10)
    assert state["evses"][0]["power_w"] == 0
    r = await client.read_holding_registers(1006, count=2, device_id=1)
    assert r.registers == [3, 0]  # EVSE off, relay bit clear
