"""Heidelberg / Amperfied Energy Control over Modbus RTU, 19200 8E1 — docs/hardware/heidelberg.md#link.

Input registers (FC04), read as one block 5..18:
  5 charging state: 2 A1, 3 A2, 4 B1, 5 B2, 6 C1, 7 C2, 8 derating, 9 E, 10 F, 11 error
  6-8 L1-L3 current (0.1 A)   9 PCB temperature (s16, 0.1 °C)   10-12 L1-L3 voltage (V)
  13 external lock            14 power (VA)
  15-16 energy since power-on (u32)   17-18 energy since installation (u32, Wh)
Holding registers (FC03 read, FC06 write):
  257 watchdog timeout (ms, 0 = off)   258 standby (0 enabled, 4 disabled)
  261 max current (0.1 A: 0 or 60-160)  262 fail-safe current (same scale)

Set-up, done before the first use and again after the box was silent (it may
have rebooted): 258 = 4 (evcc writes it at start: in standby the box stops
answering), 262 = the configured fail-safe current, 257 = the watchdog timeout.
From then on every poll of the station resets the box's watchdog; if the agent
dies, the box falls back to the fail-safe current on its own once the timeout
has passed without communication.

The word order of the u32 energy registers is disputed (docs/hardware/heidelberg.md#energy-word-order: evcc
and McuHeidelberg read the high word first, the HA template marks them word
swapped): ``energy_word_order`` = "big" (high word first) or "little".

The box has its own meter: :attr:`HeidelbergBoard.meter` is a PowerMeter over
the same registers, used when no separate meter is configured.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from drivers.bus.modbus import DATATYPE, ModbusDevice, decode_values
from drivers.interfaces import (
    BoardFault,
    BoardStatus,
    DeviceError,
    DeviceUnavailable,
    MeterReading,
    PilotState,
    checked_offer,
)
from drivers.registry import (
    Context,
    DriverSpec,
    Kind,
    ModbusOptions,
    OptionError,
    check_modbus,
)

log = logging.getLogger(__name__)

MEASURE_FIRST = 5  # FC04 5..18 in one request
MEASURE_COUNT = 14
REG_WATCHDOG = 257
REG_STANDBY = 258
REG_MAX_CURRENT = 261
REG_FAILSAFE = 262
STANDBY_DISABLED = 4

MAX_A = 16.0  # 261/262: 0 or 60..160 (0.1 A)
WATCHDOG_MAX_MS = 0xFFFF

# 5: state code -> (pilot, PWM on, contactor closed, fault)
_STATES: dict[int, tuple[PilotState, bool, bool, BoardFault | None]] = {
    2: (PilotState.A, False, False, None),  # A1
    3: (PilotState.A, True, False, None),  # A2
    4: (PilotState.B, False, False, None),  # B1
    5: (PilotState.B, True, False, None),  # B2
    6: (PilotState.C, False, False, None),  # C1: EV wants charge, no PWM
    7: (PilotState.C, True, True, None),  # C2: charging
    8: (PilotState.C, True, True, None),  # derating (temperature): charging, less current
    9: (PilotState.E, False, False, BoardFault.PILOT),  # E: CP short / EVSE unpowered
    10: (PilotState.F, False, False, None),  # F: locked (259 = 0 or external lock)
    11: (PilotState.F, False, False, BoardFault.OTHER),  # error inside the box
}

WordOrder = Literal["big", "little"]
T = TypeVar("T")


def decode_status(measure: Sequence[int], max_current_raw: int) -> BoardStatus:
    """Input registers 5..18 and holding register 261 -> BoardStatus."""
    if len(measure) < MEASURE_COUNT:
        raise DeviceError(f"Heidelberg: need {MEASURE_COUNT} registers from 5, got {len(measure)}")
    code = measure[0]
    if code not in _STATES:
        raise DeviceError(f"Heidelberg: invalid charging state {code} in input register 5")
    pilot, pwm, relay, fault = _STATES[code]
    return BoardStatus(
        pilot=pilot,
        relay_closed=relay,
        offered_current_a=max_current_raw / 10.0 if pwm else 0.0,
        fault=fault,
    )


def decode_reading(measure: Sequence[int], word_order: WordOrder = "big") -> MeterReading:
    """Input registers 5..18 -> MeterReading (energy since installation, Wh)."""
    if len(measure) < MEASURE_COUNT:
        raise DeviceError(f"Heidelberg: need {MEASURE_COUNT} registers from 5, got {len(measure)}")
    currents = tuple(r / 10.0 for r in measure[1:4])  # 6-8
    volts = tuple(float(r) for r in measure[5:8])  # 10-12
    power_va = float(measure[9])  # 14
    (energy,) = decode_values(measure[12:14], DATATYPE.UINT32, word_order)  # 17-18
    return MeterReading(energy_wh=float(energy), power_w=power_va, current_a=currents, voltage_v=volts)


def decode_temperature(measure: Sequence[int]) -> float:
    """Register 9: PCB temperature, s16 in 0.1 °C."""
    (raw,) = decode_values(measure[4:5], DATATYPE.INT16)
    return raw / 10.0


def encode_current(amps: float) -> int:
    """A -> 261/262 value (0.1 A). 0 = off; (0, 6) is refused; > 16 A is clamped."""
    return int(math.floor(checked_offer(amps, MAX_A) * 10 + 1e-6))  # never offer more than asked


class HeidelbergBoard:
    """EvseBoard (and, through :attr:`meter`, PowerMeter) for the Energy Control."""

    offer_resolution_a = 0.1  # 261 in 0.1 A

    def __init__(
        self,
        device: ModbusDevice,
        *,
        watchdog_ms: int = 15000,
        failsafe_current_a: float = 0.0,
        energy_word_order: WordOrder = "big",
    ) -> None:
        if not 0 <= watchdog_ms <= WATCHDOG_MAX_MS:
            raise ValueError(f"watchdog_ms must be 0..{WATCHDOG_MAX_MS}, not {watchdog_ms}")
        if energy_word_order not in ("big", "little"):
            raise ValueError(f"energy_word_order must be big or little, not {energy_word_order!r}")
        self._failsafe_raw = encode_current(failsafe_current_a)  # ValueError for 0 < A < 6
        self._dev = device
        self.watchdog_ms = watchdog_ms
        self.energy_word_order: WordOrder = energy_word_order
        self._set_up = False
        self._setup_lock = asyncio.Lock()
        self.temperature_c: float | None = None
        self.meter = HeidelbergMeter(self)

    @property
    def device(self) -> ModbusDevice:
        return self._dev

    async def _io(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run one request; a silent box is set up again when it answers (it may have rebooted)."""
        try:
            return await op()
        except DeviceUnavailable:
            self._set_up = False
            raise

    async def set_up(self) -> None:
        """Standby off, fail-safe current, watchdog: once, and again after silence."""
        if self._set_up:
            return
        async with self._setup_lock:
            if self._set_up:
                return
            await self._io(lambda: self._dev.write_register(REG_STANDBY, STANDBY_DISABLED))
            await self._io(lambda: self._dev.write_register(REG_FAILSAFE, self._failsafe_raw))
            await self._io(lambda: self._dev.write_register(REG_WATCHDOG, self.watchdog_ms))
            self._set_up = True
            log.info("Heidelberg %s: watchdog %d ms, fail-safe %.1f A, standby off",
                     self._dev, self.watchdog_ms, self._failsafe_raw / 10)

    async def read_measurements(self) -> list[int]:
        """Input registers 5..18 (feeds the box's watchdog like any request)."""
        await self.set_up()
        measure = await self._io(lambda: self._dev.read_input(MEASURE_FIRST, MEASURE_COUNT))
        self.temperature_c = decode_temperature(measure)
        return measure

    async def read_status(self) -> BoardStatus:
        measure = await self.read_measurements()
        (max_raw,) = await self._io(lambda: self._dev.read_holding(REG_MAX_CURRENT, 1))
        return decode_status(measure, max_raw)

    async def set_current_limit(self, amps: float) -> None:
        value = encode_current(amps)  # raises ValueError before any I/O
        await self.set_up()
        await self._io(lambda: self._dev.write_register(REG_MAX_CURRENT, value))

    async def close(self) -> None:
        """The bus is shared: it is closed by its owner, not by a board."""


class HeidelbergMeter:
    """PowerMeter over the box's own measurements (registers 6..18)."""

    def __init__(self, board: HeidelbergBoard) -> None:
        self._board = board

    async def read(self) -> MeterReading:
        measure = await self._board.read_measurements()
        return decode_reading(measure, self._board.energy_word_order)

    async def close(self) -> None:
        """Closed with the bus."""


@dataclass(frozen=True)
class HeidelbergOptions(ModbusOptions):
    watchdog_ms: int = 15000  # register 257; 0 = off
    failsafe_current_a: float = 0.0  # register 262: what the box offers once the watchdog expired
    energy_word_order: WordOrder = "big"  # registers 15-18


def _check(o: HeidelbergOptions, context: Context) -> None:
    check_modbus(o, context)
    if not 0 <= o.watchdog_ms <= WATCHDOG_MAX_MS:
        raise OptionError("watchdog_ms", f"must be 0-{WATCHDOG_MAX_MS} (register 257)")
    # evcc polls every timeout/4; the station reads the board every poll_interval_s
    if o.watchdog_ms and o.watchdog_ms < 4000 * context.poll_interval_s:
        raise OptionError("watchdog_ms", f"must be at least 4 x poll_interval_s ({4000 * context.poll_interval_s:.0f} ms)")
    if o.failsafe_current_a != 0 and not 6 <= o.failsafe_current_a <= MAX_A:
        raise OptionError("failsafe_current_a", f"must be 0 or 6-{MAX_A:.0f} A (register 262)")


SPEC = DriverSpec(
    name="heidelberg",
    kind=Kind.BOARD,
    options=HeidelbergOptions,
    build=lambda o, wiring: HeidelbergBoard(
        wiring.modbus(o),
        watchdog_ms=o.watchdog_ms,
        failsafe_current_a=o.failsafe_current_a,
        energy_word_order=o.energy_word_order,
    ),
    provides=frozenset({"meter"}),
    check=_check,
    summary="Heidelberg / Amperfied Energy Control, own meter (Modbus RTU 19200 8E1)",
)
