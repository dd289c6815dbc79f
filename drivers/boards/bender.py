"""Bender CC612/CC613 wallbox controller over Modbus TCP — docs/hardware/bender.md#registers.

Why Bender rather than Phoenix Contact CHARX SEC: the CC612/613 is the
controller inside many wallboxes sold under other names (Mennekes, Webasto,
Ebee, ...; evcc's ``bender.go`` serves them all), so one driver covers the most
chargers. Its HEMS interface is also the simpler one to drive safely: one u16
current register in whole amps (1000, 0 = stop), plain u32 meter values, a
numeric CP state; CHARX needs per-connector offsets, s64 energy and an ASCII
state letter, and its 0.1 A/enable semantics are less documented.

Modbus TCP, unit id 255 (evcc), holding registers only (FC03 read, FC06 write):
  122 CP state: 1 A, 2 B, 3 C, 4 D      140 relay: 0 off, 1 three-phase, 5 one-phase
  212-217 L1-L3 current (3x u32, mA)     218 total energy (u32, Wh)
  220 power (u32, W)                     222-227 L1-L3 voltage (3x u32, V)
  1000 HEMS current limit (A, 0 = stop)
0xFFFFFFFF means "not available" (a box without a meter). The box reports no
fault codes in these registers; faults show as a CP state outside 1..4, which
is refused as DeviceError (the station then treats the board as failing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drivers.bus.modbus import DATATYPE, ModbusDevice, decode_values
from drivers.interfaces import (
    BoardStatus,
    DeviceError,
    MeterReading,
    PilotState,
    checked_offer,
)
from drivers.registry import DriverSpec, Kind, ModbusOptions, check_modbus

DEFAULT_UNIT = 255
REG_CP_STATE = 122
REG_RELAY = 140
METER_FIRST = 212  # 212..227 in one request
METER_COUNT = 16
REG_HEMS_CURRENT = 1000
NOT_AVAILABLE = 0xFFFFFFFF
MAX_A = 80.0

_CP = {1: PilotState.A, 2: PilotState.B, 3: PilotState.C, 4: PilotState.D}
RELAY_OFF = 0


def decode_status(cp_state: int, relay: int, hems_current_a: int) -> BoardStatus:
    """Registers 122, 140 and 1000 -> BoardStatus."""
    if cp_state not in _CP:
        raise DeviceError(f"Bender: invalid CP state {cp_state} in register 122")
    pilot = _CP[cp_state]
    return BoardStatus(
        pilot=pilot,
        relay_closed=relay != RELAY_OFF,  # 1 / 5; anything unknown counts as closed
        offered_current_a=float(hems_current_a) if pilot is not PilotState.A else 0.0,
    )


def _available(values: Sequence[int]) -> list[int]:
    return [v for v in values if v != NOT_AVAILABLE]


def decode_reading(regs: Sequence[int]) -> MeterReading:
    """Registers 212..227 -> MeterReading; refuses a box that has no meter values."""
    if len(regs) < METER_COUNT:
        raise DeviceError(f"Bender: need {METER_COUNT} meter registers, got {len(regs)}")
    values = [int(v) for v in decode_values(regs[:METER_COUNT], DATATYPE.UINT32)]
    currents_ma, energy, power, volts = values[0:3], values[3], values[4], values[5:8]
    if energy == NOT_AVAILABLE or power == NOT_AVAILABLE:
        raise DeviceError("Bender: energy/power not available (no meter in the box?)")
    return MeterReading(
        energy_wh=float(energy),
        power_w=float(power),
        current_a=tuple(ma / 1000.0 for ma in _available(currents_ma)),
        voltage_v=tuple(float(v) for v in _available(volts)),
    )


def encode_current(amps: float) -> int:
    """A -> register 1000 (whole amps, rounded down). 0 = stop; (0, 6) is refused."""
    return int(math.floor(checked_offer(amps, MAX_A) + 1e-9))


class BenderBoard:
    """EvseBoard for a Bender CC612/613; :attr:`meter` is the box's own meter."""

    offer_resolution_a = 1.0  # 1000 in whole amps

    def __init__(self, device: ModbusDevice) -> None:
        self._dev = device
        self.meter = BenderMeter(device)

    @property
    def device(self) -> ModbusDevice:
        return self._dev

    async def read_status(self) -> BoardStatus:
        # Three single reads, as evcc: the gaps between them are not documented.
        (cp,) = await self._dev.read_holding(REG_CP_STATE, 1)
        (relay,) = await self._dev.read_holding(REG_RELAY, 1)
        (hems,) = await self._dev.read_holding(REG_HEMS_CURRENT, 1)
        return decode_status(cp, relay, hems)

    async def set_current_limit(self, amps: float) -> None:
        await self._dev.write_register(REG_HEMS_CURRENT, encode_current(amps))

    async def close(self) -> None:
        """The bus is closed by its owner."""


class BenderMeter:
    """PowerMeter over registers 212..227."""

    def __init__(self, device: ModbusDevice) -> None:
        self._dev = device

    async def read(self) -> MeterReading:
        return decode_reading(await self._dev.read_holding(METER_FIRST, METER_COUNT))

    async def close(self) -> None:
        """Closed with the bus."""


SPEC = DriverSpec(
    name="bender",
    kind=Kind.BOARD,
    options=ModbusOptions,
    build=lambda o, wiring: BenderBoard(wiring.modbus(o)),
    provides=frozenset({"meter"}),
    check=check_modbus,
    summary="Bender CC612/613 controller, own meter (Modbus TCP, unit 255)",
)
