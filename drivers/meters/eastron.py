"""Eastron SDM630, SDM72D-M v2 (same map), SDM72 v1 and single-phase SDM120 — docs/hardware/eastron-sdm.md#registers.

Input registers (FC04), IEEE-754 float32, high word first ("ABCD"), PDU
addresses (manual 30001 = 0x0000):
  0x00/02/04 V L1..L3   0x06/08/0A I L1..L3   0x34 total P (W)   0x48 import (kWh)
Two requests per reading: 0x00..0x0B (12 regs) and 0x34..0x49 (22 regs), well
under SmartEVSE's 80-register limit (openWB: some SDM72 read only 10 — not
handled here). Gaps inside a read are ordinary meter registers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drivers.bus.modbus import ModbusDevice, decode_float32
from drivers.interfaces import DeviceError, MeterReading
from drivers.registry import DriverSpec, Kind, ModbusOptions, check_modbus

REG_VOLTAGE = 0x00
REG_CURRENT = 0x06
REG_POWER = 0x34
REG_POWER_L1 = 0x0C
REG_IMPORT = 0x48
PHASE_BLOCK = (REG_VOLTAGE, 12)  # 0x00..0x0B: V1-3, I1-3
TOTAL_BLOCK = (REG_POWER, REG_IMPORT + 2 - REG_POWER)  # 0x34..0x49


def _finite(values: Sequence[float], what: str) -> list[float]:
    for v in values:
        if not math.isfinite(v):
            raise DeviceError(f"SDM: {what} is {v}")
    return list(values)


def decode_reading(
    phase_regs: Sequence[int], total_regs: Sequence[int], phases: int = 3
) -> MeterReading:
    """Registers 0x00..0x0B and 0x34..0x49 -> MeterReading (kWh -> Wh)."""
    phase = _finite(decode_float32(phase_regs), "phase value")
    volts, amps = phase[0:3][:phases], phase[3:6][:phases]
    total = decode_float32(total_regs)
    power = _finite([total[0]], "power")[0]
    energy_kwh = _finite([total[(REG_IMPORT - REG_POWER) // 2]], "import energy")[0]
    if energy_kwh < 0:
        raise DeviceError(f"SDM: negative import energy {energy_kwh} kWh")
    return MeterReading(
        energy_wh=energy_kwh * 1000.0,
        power_w=power,
        current_a=tuple(amps),
        voltage_v=tuple(volts),
    )


class Sdm630Meter:
    """PowerMeter for a three-phase SDM630."""

    phases = 3

    def __init__(self, device: ModbusDevice) -> None:
        self._dev = device

    @property
    def device(self) -> ModbusDevice:
        return self._dev

    async def read(self) -> MeterReading:
        phase = await self._dev.read_input(*PHASE_BLOCK)
        total = await self._dev.read_input(*TOTAL_BLOCK)
        return decode_reading(phase, total, self.phases)

    async def close(self) -> None:
        """The bus is shared: it is closed by its owner."""


class Sdm120Meter(Sdm630Meter):
    """Single-phase SDM120: V 0x00, I 0x06, P 0x0C, import 0x48 (docs/hardware/eastron-sdm.md#models).

    The SDM120 lists no 0x34 total power and no L2/L3 registers, so each value
    is read on its own rather than across gaps it may refuse.
    """

    phases = 1

    async def read(self) -> MeterReading:
        (volts,) = await self._dev.read_input_float32(REG_VOLTAGE)
        (amps,) = await self._dev.read_input_float32(REG_CURRENT)
        (power,) = await self._dev.read_input_float32(REG_POWER_L1)
        (energy_kwh,) = await self._dev.read_input_float32(REG_IMPORT)
        _finite([volts, amps, power, energy_kwh], "SDM120 value")
        if energy_kwh < 0:
            raise DeviceError(f"SDM: negative import energy {energy_kwh} kWh")
        return MeterReading(energy_kwh * 1000.0, power, (amps,), (volts,))


class Sdm72Meter(Sdm630Meter):
    """SDM72D-M v2: the full SDM630 float map (evcc ``eastron-sdm72v2_630.yaml``, docs/hardware/eastron-sdm.md#models)."""


class Sdm72V1Meter(Sdm630Meter):
    """The old SDM72 (v1): only 0x34 total P, 0x48 import, 0x4A export and 0x156 total.

    No voltages or currents (so no overcurrent check from this meter), and each
    value is read on its own (openWB: some SDM72 read only 10 registers at once).
    """

    async def read(self) -> MeterReading:
        (power,) = await self._dev.read_input_float32(REG_POWER)
        (energy_kwh,) = await self._dev.read_input_float32(REG_IMPORT)
        _finite([power, energy_kwh], "SDM72 value")
        if energy_kwh < 0:
            raise DeviceError(f"SDM: negative import energy {energy_kwh} kWh")
        return MeterReading(energy_kwh * 1000.0, power)


SDM630 = DriverSpec(name="sdm630", kind=Kind.METER, options=ModbusOptions, check=check_modbus,
                    build=lambda o, wiring: Sdm630Meter(wiring.modbus(o)), summary="Eastron SDM630, three-phase")
SDM72 = DriverSpec(name="sdm72", kind=Kind.METER, options=ModbusOptions, check=check_modbus,
                   build=lambda o, wiring: Sdm72Meter(wiring.modbus(o)), summary="Eastron SDM72D-M v2")
SDM72_V1 = DriverSpec(name="sdm72-v1", kind=Kind.METER, options=ModbusOptions, check=check_modbus,
                      build=lambda o, wiring: Sdm72V1Meter(wiring.modbus(o)), summary="Eastron SDM72 v1")
SDM120 = DriverSpec(name="sdm120", kind=Kind.METER, options=ModbusOptions, check=check_modbus,
                    build=lambda o, wiring: Sdm120Meter(wiring.modbus(o)), summary="Eastron SDM120, single-phase")
