"""ABB B23/B24 (A/B series) meters — docs/hardware/abb-b23.md#registers.

Holding registers (FC03), integers, big-endian, high word first:
  0x5B00/02/04 V L1-L3 (u32, 0.1 V)     0x5B0C/0E/10 I L1-L3 (u32, 0.01 A)
  0x5B14 total P (s32, 0.01 W)          0x5000 import energy (u64, 0.01 kWh)
"Not available" is all-0xFF for unsigned values and 0x7FFF... for signed ones
(a single-phase B21 reports L2/L3 so). Two requests per reading: 0x5B00..0x5B15
(22 registers) and 0x5000..0x5003.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.bus.modbus import DATATYPE, ModbusDevice, decode_values
from drivers.interfaces import DeviceError, MeterReading
from drivers.registry import DriverSpec, Kind, ModbusOptions, check_modbus

REG_VOLTAGE = 0x5B00
REG_CURRENT = 0x5B0C
REG_POWER = 0x5B14
REG_IMPORT = 0x5000
INSTANT_BLOCK = (REG_VOLTAGE, REG_POWER + 2 - REG_VOLTAGE)  # 0x5B00..0x5B15
ENERGY_BLOCK = (REG_IMPORT, 4)

NAN_U32 = 0xFFFFFFFF
NAN_S32 = 0x7FFFFFFF
NAN_U64 = 0xFFFFFFFFFFFFFFFF


def _phases(raw: Sequence[int], scale: float) -> tuple[float, ...]:
    """Per-phase values up to the first 'not available' one (single-phase meters)."""
    out: list[float] = []
    for v in raw:
        if v == NAN_U32:
            break
        out.append(v * scale)
    return tuple(out)


def decode_reading(instant: Sequence[int], energy: Sequence[int]) -> MeterReading:
    """Registers 0x5B00..0x5B15 and 0x5000..0x5003 -> MeterReading."""
    if len(instant) < INSTANT_BLOCK[1] or len(energy) < ENERGY_BLOCK[1]:
        raise DeviceError("ABB: short register block")
    off = lambda reg: reg - REG_VOLTAGE  # noqa: E731
    volts = decode_values(instant[off(REG_VOLTAGE) : off(REG_VOLTAGE) + 6], DATATYPE.UINT32)
    amps = decode_values(instant[off(REG_CURRENT) : off(REG_CURRENT) + 6], DATATYPE.UINT32)
    (power_raw,) = decode_values(instant[off(REG_POWER) : off(REG_POWER) + 2], DATATYPE.INT32)
    (import_raw,) = decode_values(energy[:4], DATATYPE.UINT64)
    # decoded as signed, the 0x7FFFFFFF pattern is the maximum int32
    if power_raw == NAN_S32:
        raise DeviceError("ABB: total power not available")
    if import_raw == NAN_U64:
        raise DeviceError("ABB: import energy not available")
    return MeterReading(
        energy_wh=import_raw * 10.0,  # 0.01 kWh = 10 Wh
        power_w=power_raw / 100.0,
        current_a=_phases(amps, 0.01),
        voltage_v=_phases(volts, 0.1),
    )


class AbbB23Meter:
    """PowerMeter for ABB B23/B24 (and single-phase B21: L2/L3 'not available')."""

    def __init__(self, device: ModbusDevice) -> None:
        self._dev = device

    @property
    def device(self) -> ModbusDevice:
        return self._dev

    async def read(self) -> MeterReading:
        instant = await self._dev.read_holding(*INSTANT_BLOCK)
        energy = await self._dev.read_holding(*ENERGY_BLOCK)
        return decode_reading(instant, energy)

    async def close(self) -> None:
        """The bus is shared: it is closed by its owner."""


SPEC = DriverSpec(name="abb-b23", kind=Kind.METER, options=ModbusOptions, check=check_modbus,
                  build=lambda o, wiring: AbbB23Meter(wiring.modbus(o)), summary="ABB B23/B24 meter")
