"""SimpleEVSE-WB / EVSE-DIN (evracing) over Modbus RTU — docs/hardware/evse-din.md#registers.

Registers used (holding, read FC03, write FC16 like evcc/syssi):
  1000 configured current (A, or 0.01 A with 2005 bit7 on FW >= 17); 0 = off
  1001 actual PWM current     1002 vehicle state 1..5     1003 cable (PP) limit, A
  1005 firmware revision      1006 EVSE state             1007 status/fail bits
  2005 configuration bits (bit7 = 0.01 A resolution of 1000)
The link wants 100-200 ms between accesses: give the ModbusDevice a
``min_interval_s`` (evcc 200 ms, openWB 100 ms).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from drivers.bus.modbus import ModbusDevice
from drivers.interfaces import (
    BoardFault,
    BoardStatus,
    DeviceError,
    PilotState,
    checked_offer,
)
from drivers.registry import DriverSpec, Kind, ModbusOptions, check_modbus

log = logging.getLogger(__name__)

REG_CURRENT = 1000  # RW configured current
REG_STATUS_FIRST = 1000  # read_status reads 1000..1007 in one request
STATUS_COUNT = 8
REG_FIRMWARE = 1005
REG_CONFIG = 2005
CONFIG_CENTIAMPS = 1 << 7  # 2005 bit7: 0.01 A in 1000 (evcc/openWB: FW >= 17)
CENTIAMP_MIN_FW = 17

# 1000 allows 0 or 6..80 A (drivers.interfaces.checked_offer)
MAX_A = 80.0

# 1007 bits (docs/hardware/evse-din.md#status-bits)
BIT_RELAY = 1 << 0
BIT_DIODE_FAIL = 1 << 1
BIT_VENT_FAIL = 1 << 2
BIT_PILOT_WAIT = 1 << 3  # waiting for pilot release (error recovery delay)
# RCD bits differ between sources:
#   syssi/esphome-evse-wallbox: bit4 RCD test in progress, bit5 RCD check error
#   PDF copy:                   bit4 RCD check error
RCD_ERROR_BIT = {"syssi": 1 << 5, "pdf": 1 << 4}

# 1002 vehicle state -> pilot; 5 = failure (diode/RCD), reported as E + fault
_VEHICLE_STATE = {1: PilotState.A, 2: PilotState.B, 3: PilotState.C, 4: PilotState.D}
STATE_FAILURE = 5

RcdBits = Literal["syssi", "pdf"]
CentiampMode = Literal["auto", "on", "off"]


def decode_current(raw: int, centiamps: bool) -> float:
    """1000/1001 register value -> A.

    In 0.01 A mode a value <= 80 cannot be centiamps (< 0.8 A is never offered),
    so it is read as whole amps: the sources do not say whether 1001 follows
    the 2005 bit7 scaling, this accepts both.
    """
    if centiamps and raw > MAX_A:
        return raw / 100.0
    return float(raw)


def decode_fault(bits: int, rcd_bits: RcdBits = "syssi") -> BoardFault | None:
    """Fault from the 1007 bits, most specific first; None when no fail bit is set."""
    if bits & RCD_ERROR_BIT[rcd_bits]:
        return BoardFault.RCD
    if bits & BIT_DIODE_FAIL:
        return BoardFault.DIODE
    if bits & BIT_VENT_FAIL:
        return BoardFault.VENTILATION
    return None


def decode_status(
    regs: Sequence[int], *, centiamps: bool = False, rcd_bits: RcdBits = "syssi"
) -> BoardStatus:
    """Registers 1000..1007 (8 values) -> BoardStatus."""
    if len(regs) < STATUS_COUNT:
        raise DeviceError(f"EVSE-DIN: need {STATUS_COUNT} status registers, got {len(regs)}")
    vehicle, bits = regs[2], regs[7]
    fault = decode_fault(bits, rcd_bits)
    if vehicle == STATE_FAILURE:
        pilot = PilotState.E
        if fault is None:
            fault = BoardFault.PILOT if bits & BIT_PILOT_WAIT else BoardFault.OTHER
    elif vehicle in _VEHICLE_STATE:
        pilot = _VEHICLE_STATE[vehicle]
    else:
        raise DeviceError(f"EVSE-DIN: invalid vehicle state {vehicle} in register 1002")
    cable = regs[3]
    return BoardStatus(
        pilot=pilot,
        relay_closed=bool(bits & BIT_RELAY),
        offered_current_a=decode_current(regs[1], centiamps),
        cable_limit_a=float(cable) if cable else None,  # 0: no cable / not detected
        fault=fault,
    )


def encode_current(amps: float, centiamps: bool) -> int:
    """A -> register 1000 value. 0 = off; (0, 6) is refused; > 80 A is clamped."""
    amps = checked_offer(amps, MAX_A)
    if centiamps:
        return int(math.floor(amps * 100 + 1e-6))
    return int(math.floor(amps + 1e-9))  # never offer more than asked


def centiamps_enabled(firmware: int, config: int) -> bool:
    """'auto' rule: 2005 bit7 means 0.01 A only on FW >= 17 (evcc/openWB)."""
    return bool(config & CONFIG_CENTIAMPS) and firmware >= CENTIAMP_MIN_FW


class EvseDinBoard:
    """EvseBoard for the EVSE-DIN / SimpleEVSE-WB."""

    def __init__(
        self,
        device: ModbusDevice,
        *,
        centiamp_mode: CentiampMode = "auto",
        rcd_bits: RcdBits = "syssi",
    ) -> None:
        if centiamp_mode not in ("auto", "on", "off"):
            raise ValueError(f"centiamp_mode must be auto, on or off, not {centiamp_mode!r}")
        if rcd_bits not in RCD_ERROR_BIT:
            raise ValueError(f"rcd_bits must be syssi or pdf, not {rcd_bits!r}")
        self._dev = device
        self._mode = centiamp_mode
        self._rcd_bits: RcdBits = rcd_bits
        self._centiamps: bool | None = False if centiamp_mode == "off" else None
        self._setup_lock = asyncio.Lock()
        self.firmware: int | None = None

    @property
    def device(self) -> ModbusDevice:
        return self._dev

    @property
    def offer_resolution_a(self) -> float:
        """The step of 1000/1001: 0.01 A with 2005 bit7 (once detected), else 1 A."""
        return 0.01 if self._centiamps else 1.0

    async def centiamps(self) -> bool:
        """Whether 1000 is in 0.01 A; determined once, at first use."""
        if self._centiamps is None:
            async with self._setup_lock:
                if self._centiamps is None:
                    self._centiamps = await self._detect_centiamps()
        return self._centiamps

    async def _detect_centiamps(self) -> bool:
        (self.firmware,) = await self._dev.read_holding(REG_FIRMWARE, 1)
        (config,) = await self._dev.read_holding(REG_CONFIG, 1)
        if self._mode == "on" and not config & CONFIG_CENTIAMPS:
            # openWB sets bit7 by read-modify-write of 2005
            await self._dev.write_registers(REG_CONFIG, [config | CONFIG_CENTIAMPS])
            (config,) = await self._dev.read_holding(REG_CONFIG, 1)
            if not config & CONFIG_CENTIAMPS:
                log.warning("EVSE-DIN FW %s refused 2005 bit7: using whole amps", self.firmware)
                return False
            return True
        if self._mode == "on":
            return True
        on = centiamps_enabled(self.firmware, config)
        if config & CONFIG_CENTIAMPS and not on:
            log.warning("EVSE-DIN FW %s < %d: 2005 bit7 is 'PWM debug', using whole amps",
                        self.firmware, CENTIAMP_MIN_FW)
        return on

    async def read_status(self) -> BoardStatus:
        regs = await self._dev.read_holding(REG_STATUS_FIRST, STATUS_COUNT)
        return decode_status(regs, centiamps=await self.centiamps(), rcd_bits=self._rcd_bits)

    async def set_current_limit(self, amps: float) -> None:
        encode_current(amps, False)  # raises ValueError before any I/O
        value = encode_current(amps, await self.centiamps()) if amps else 0
        await self._dev.write_registers(REG_CURRENT, [value])  # FC16, as evcc

    async def close(self) -> None:
        """The bus is shared: it is closed by its owner, not by a board."""


@dataclass(frozen=True)
class EvseDinOptions(ModbusOptions):
    min_interval_s: float = 0.1  # the board wants 100-200 ms between accesses (docs/hardware)
    centiamp_mode: CentiampMode = "auto"  # register 1000 in 0.01 A (2005 bit 7) or whole amps
    rcd_bits: RcdBits = "syssi"  # which bit layout of register 1007 reports an RCD trip


SPEC = DriverSpec(
    name="evse-din",
    kind=Kind.BOARD,
    options=EvseDinOptions,
    build=lambda o, wiring: EvseDinBoard(wiring.modbus(o), centiamp_mode=o.centiamp_mode, rcd_bits=o.rcd_bits),
    check=check_modbus,
    summary="SimpleEVSE-WB / EVSE-DIN controller board (Modbus RTU or TCP)",
)
