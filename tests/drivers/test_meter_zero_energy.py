"""The SDM meters' energy boundary: a new meter reads 0 kWh, a valid reading (a negative
import is refused, 0 is not). docs/hardware/eastron-sdm.md#registers."""

from __future__ import annotations

import pytest

from drivers.bus.modbus import encode_float32
from drivers.interfaces import DeviceError
from drivers.meters.eastron import REG_CURRENT, REG_IMPORT, REG_POWER, REG_POWER_L1, REG_VOLTAGE, Sdm72V1Meter, Sdm120Meter, decode_reading
from tests.drivers.test_decode import sdm_blocks


@pytest.mark.parametrize("kwh", [0.0, -0.0, 2.0**-20])  # 2**-20: exact in float32
def test_a_new_sdm630_reading_zero_kwh_is_a_reading(kwh):
    r = decode_reading(*sdm_blocks(e=kwh))
    assert r.energy_wh == kwh * 1000.0 and r.energy_wh >= 0


@pytest.mark.parametrize("kwh", [-(2.0**-20), -0.001])
def test_the_smallest_negative_import_is_refused(kwh):
    with pytest.raises(DeviceError):
        decode_reading(*sdm_blocks(e=kwh))


class Registers:
    """Our ModbusDevice interface over fixed float32 input registers (no bus)."""

    def __init__(self, values: dict[int, float]) -> None:
        self.values = values

    async def read_input_float32(self, address: int, n: int = 1) -> list[float]:
        return [self.values[address + 2 * k] for k in range(n)]

    async def read_input(self, address: int, count: int) -> list[int]:
        regs: list[int] = []
        for a in range(address, address + count, 2):
            regs += encode_float32([self.values.get(a, 0.0)])
        return regs[:count]


SDM120 = {REG_VOLTAGE: 230.0, REG_CURRENT: 0.0, REG_POWER_L1: 0.0}
SDM72_V1 = {REG_POWER: 0.0}


@pytest.mark.parametrize("meter, registers", [(Sdm120Meter, SDM120), (Sdm72V1Meter, SDM72_V1)])
async def test_a_new_single_value_sdm_reading_zero_kwh_is_a_reading(meter, registers):
    reading = await meter(Registers({**registers, REG_IMPORT: 0.0})).read()
    assert reading.energy_wh == 0.0


@pytest.mark.parametrize("meter, registers", [(Sdm120Meter, SDM120), (Sdm72V1Meter, SDM72_V1)])
async def test_a_single_value_sdm_refuses_a_negative_import(meter, registers):
    with pytest.raises(DeviceError):
        await meter(Registers({**registers, REG_IMPORT: -0.001})).read()
