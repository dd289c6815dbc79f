"""Eastron SDM630 meter: input registers, float32 big-endian, high word first (docs/hardware/eastron-sdm.md#data-format)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

REGISTER_COUNT = 0x16C  # input registers 0x0000..0x016B are served; unlisted ones read 0.0
FREQUENCY_HZ = 50.0


def float_to_regs(value: float) -> tuple[int, int]:
    """IEEE-754 float32, big-endian bytes, high word first ("ABCD")."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return hi, lo


@dataclass
class Sdm630:
    """Measured values of one meter; the owner sets the instantaneous values."""

    unit: int
    voltage: float = 230.0
    currents: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    import_kwh_phase: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    @property
    def powers(self) -> list[float]:
        return [self.voltage * i for i in self.currents]

    @property
    def total_power(self) -> float:
        return sum(self.powers)

    @property
    def import_kwh(self) -> float:
        return sum(self.import_kwh_phase)

    def integrate(self, dt_s: float) -> None:
        """Accumulate import energy for ``dt_s`` simulated seconds at the present power."""
        for i, p in enumerate(self.powers):
            self.import_kwh_phase[i] += p * dt_s / 3_600_000

    def values(self) -> dict[int, float]:
        """Address -> float for every quantity the simulation produces (§3 table)."""
        v, cur, pw = self.voltage, self.currents, self.powers
        out: dict[int, float] = {}
        for k in range(3):
            out[0x00 + 2 * k] = v  # V L1..L3-N (the grid is there even if the EV uses 1 phase)
            out[0x06 + 2 * k] = cur[k]  # I L1..L3
            out[0x0C + 2 * k] = pw[k]  # P L1..L3
            out[0x12 + 2 * k] = pw[k]  # VA L1..L3 (resistive load)
            out[0x1E + 2 * k] = 1.0  # power factor L1..L3
            out[0x15A + 2 * k] = self.import_kwh_phase[k]  # import L1..L3
            out[0x166 + 2 * k] = self.import_kwh_phase[k]  # total L1..L3
        out[0x34] = self.total_power  # total P
        out[0x38] = self.total_power  # total VA
        out[0x3E] = 1.0  # total PF
        out[0x46] = FREQUENCY_HZ
        out[0x48] = self.import_kwh  # import kWh
        out[0x4A] = 0.0  # export kWh
        out[0x156] = self.import_kwh  # total kWh
        return out

    def registers(self) -> list[int]:
        """The whole input register image 0x0000..0x016B."""
        regs = [0] * REGISTER_COUNT
        for addr, value in self.values().items():
            regs[addr], regs[addr + 1] = float_to_regs(value)
        return regs


# Addresses each Eastron model serves (docs/hardware/eastron-sdm.md#models); a read touching any other
# register is refused with ILLEGAL ADDRESS (2), as a strict meter would.
SDM120_ADDRESSES = frozenset({0x00, 0x06, 0x0C, 0x12, 0x18, 0x1E, 0x46, 0x48, 0x4A, 0x4C, 0x4E, 0x156, 0x158})
SDM72_V1_ADDRESSES = frozenset({0x34, 0x48, 0x4A, 0x156})
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS = 1, 2


class SdmImage:
    """The input-register image of one Eastron variant over a connector's measurements.

    ``sdm630``: 0x0000..0x016B (unlisted registers read 0.0); ``sdm72`` (SDM72D-M v2):
    the same map without the SDM630-only per-phase energies 0x15A..0x16B; ``sdm72-v1``
    and ``sdm120``: only their listed float pairs (the SDM120 reports phase L1).
    """

    read_fc = frozenset({4})

    def __init__(self, meter: Sdm630, variant: str = "sdm630"):
        if variant not in ("sdm630", "sdm72", "sdm72-v1", "sdm120"):
            raise ValueError(f"unknown SDM variant {variant!r}")
        self.meter = meter
        self.variant = variant
        self.blocks = ((0, REGISTER_COUNT if variant == "sdm630" else 0x15A),)

    def _served(self, address: int) -> bool:
        pairs = {"sdm120": SDM120_ADDRESSES, "sdm72-v1": SDM72_V1_ADDRESSES}.get(self.variant)
        if pairs is None:
            return address < self.blocks[0][1]
        return (address & ~1) in pairs

    def read(self, fc: int, address: int, count: int) -> list[int] | int:
        """Registers, or a Modbus exception code."""
        if fc not in self.read_fc:
            return ILLEGAL_FUNCTION
        if not all(self._served(a) for a in range(address, address + count)):
            return ILLEGAL_ADDRESS
        return self.meter.registers()[address : address + count]
