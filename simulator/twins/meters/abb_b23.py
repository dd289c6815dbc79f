"""ABB B23/B24 meter: holding registers over a connector's measurements (docs/hardware/abb-b23.md#registers).

Integers, big-endian, high word first. "Not available" is all-0xFF for unsigned
and 0x7FFF... for signed values; quantities the simulation does not produce
(L-L voltages, reactive power, ...) read as such inside the served blocks.
"""

from __future__ import annotations

from pymodbus.client.mixin import ModbusClientMixin

from simulator.twins.meters.eastron import FREQUENCY_HZ, Sdm630

DT = ModbusClientMixin.DATATYPE
BLOCKS = ((0x5000, 8), (0x5460, 24), (0x5B00, 0x3E), (0x8900, 2))
READ_FC = frozenset({3})
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS = 1, 2
SERIAL = 23_000_042
NA_U16, NA_S16 = 0xFFFF, 0x7FFF
NA_S32 = (0x7FFF, 0xFFFF)


def _regs(value: int, dt: ModbusClientMixin.DATATYPE) -> list[int]:
    return ModbusClientMixin.convert_to_registers(value, dt)  # type: ignore[arg-type]


class AbbB23Image:
    read_fc = READ_FC
    blocks = BLOCKS

    def __init__(self, meter: Sdm630):
        self.meter = meter

    def registers(self) -> dict[int, int]:
        m = self.meter
        regs: dict[int, int] = {}
        for first, n in BLOCKS:
            regs.update({a: NA_U16 for a in range(first, first + n)})
        for a in range(0x5B14, 0x5B2C, 2):  # signed s32 quantities (powers)
            regs[a], regs[a + 1] = NA_S32
        for a in range(0x5B3A, 0x5B3E):  # signed s16 power factors
            regs[a] = NA_S16
        regs.update(zip(range(0x5000, 0x5004), _regs(int(m.import_kwh * 100), DT.UINT64), strict=False))
        regs.update(zip(range(0x5004, 0x5008), _regs(0, DT.UINT64), strict=False))  # export
        for k in range(3):
            regs.update(zip(range(0x5460 + 4 * k, 0x5464 + 4 * k), _regs(int(m.import_kwh_phase[k] * 100), DT.UINT64), strict=False))
            regs.update(zip(range(0x546C + 4 * k, 0x5470 + 4 * k), _regs(0, DT.UINT64), strict=False))
            regs.update(zip(range(0x5B00 + 2 * k, 0x5B02 + 2 * k), _regs(round(m.voltage * 10), DT.UINT32), strict=False))
            regs.update(zip(range(0x5B0C + 2 * k, 0x5B0E + 2 * k), _regs(round(m.currents[k] * 100), DT.UINT32), strict=False))
            regs.update(zip(range(0x5B16 + 2 * k, 0x5B18 + 2 * k), _regs(round(m.powers[k] * 100), DT.INT32), strict=False))
            regs[0x5B3B + k] = 1000
        regs.update(zip(range(0x5B14, 0x5B16), _regs(round(m.total_power * 100), DT.INT32), strict=False))
        regs[0x5B2C] = round(FREQUENCY_HZ * 100)
        regs[0x5B3A] = 1000
        regs.update(zip(range(0x8900, 0x8902), _regs(SERIAL, DT.UINT32), strict=False))
        return regs

    def read(self, fc: int, address: int, count: int) -> list[int] | int:
        """Registers, or a Modbus exception code."""
        if fc not in READ_FC:
            return ILLEGAL_FUNCTION
        regs = self.registers()
        span = range(address, address + count)
        if not all(a in regs for a in span):
            return ILLEGAL_ADDRESS
        return [regs[a] for a in span]
