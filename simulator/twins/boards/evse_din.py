"""EVSE-DIN / SimpleEVSE-WB board: holding registers and relay rules (docs/hardware/evse-din.md#registers).

Pure logic, no I/O. The board sees the control-pilot state produced by the EV
(:class:`simulator.pilot.Pilot`) and decides PWM and relay; it never measures current.
Unknowns of the real firmware are resolved as documented in the comments (e.g. 1001 uses
the same scale as 1000; a read-only register refuses writes with ILLEGAL ADDRESS).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from simulator.pilot import Pilot

FIRMWARE = 18  # reg 1005; FW >= 17 knows 2005 bit7 = 0.01 A mode
CABLE_LIMIT_A = 32  # reg 1003, PP coding of a 32 A Type 2 cable (docs/hardware/control-pilot.md#proximity-pilot)
MIN_A, MAX_A = 6, 80  # reg 1000: 0 = off, else 6..80 A


class Reg(IntEnum):
    """Holding registers (FC03 read, FC06/FC16 write)."""

    CURRENT = 1000  # RW configured current (A, or 0.01 A with 2005 bit7), 0 = off
    PWM_CURRENT = 1001  # R  actual PWM current, same scale as 1000
    VEHICLE_STATE = 1002  # R  1 A, 2 B, 3 C, 4 D, 5 failure
    CABLE_LIMIT = 1003  # R  PP limit, A
    COMMAND = 1004  # RW bit0 off now, bit1 self-test, bit2 clear RCD error
    FIRMWARE = 1005  # R
    EVSE_STATE = 1006  # R  1 steady 12 V, 2 PWM, 3 off
    STATUS = 1007  # R  bit0 relay, bit1 diode fail, RCD bits per layout
    ERROR_TIMEOUT = 1008  # R
    SELFTEST_TIMEOUT = 1009  # R
    DEFAULT_CURRENT = 2000  # RW A, loaded into 1000 at power-up
    MODBUS_ADDRESS = 2001
    MIN_CURRENT = 2002
    ANALOG_CONFIG = 2003
    AMPS_AFTER_BOOT = 2004
    CONFIG_BITS = 2005
    SHARING_MODE = 2006
    PP_LIMIT = 2007
    RESERVED = 2008
    BOOTLOADER = 2009
    BUTTON_AMPS_1 = 2010  # .. 2017


BLOCKS = ((1000, 10), (2000, 18))  # (first address, count) of the two register blocks
READ_ONLY = frozenset(
    {1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 2001, 2008, 2009}
)  # 2001 is read-only here: the simulated bus wiring is fixed by the config


class Cmd(IntEnum):
    """Reg 1004 command bits."""

    OFF_NOW = 1 << 0
    SELF_TEST = 1 << 1
    CLEAR_RCD = 1 << 2


class Cfg(IntEnum):
    """Reg 2005 configuration bits used by the simulation."""

    BUTTON_CHANGES_CURRENT = 1 << 0
    ALLOW_STATE_D = 1 << 3
    CENTI_AMPS = 1 << 7  # evcc/openWB: 0.01 A resolution in reg 1000 (FW >= 17)
    PILOT_AUTO_RECOVER = 1 << 9
    DISABLE_EVSE = 1 << 14


class Status(IntEnum):
    """Reg 1007 status bits; the RCD bits depend on the documented layout."""

    RELAY_ON = 1 << 0
    DIODE_FAIL = 1 << 1
    VENT_FAIL = 1 << 2
    WAIT_PILOT_RELEASE = 1 << 3


RCD_ERROR_BIT = {"syssi": 1 << 5, "pdf": 1 << 4}  # syssi: bit4 = RCD test in progress
DEFAULT_CONFIG_BITS = Cfg.BUTTON_CHANGES_CURRENT | Cfg.ALLOW_STATE_D | Cfg.PILOT_AUTO_RECOVER


class Refusal(IntEnum):
    """Modbus exception codes the board answers with."""

    ILLEGAL_FUNCTION = 1
    ILLEGAL_ADDRESS = 2
    ILLEGAL_VALUE = 3


@dataclass(frozen=True)
class BoardInputs:
    """What the board senses: the pilot from the EV and latched fault conditions."""

    pilot: Pilot
    rcd_error: bool
    diode_fail: bool
    overcurrent: bool = False  # the EV draws more than offered (boards that measure it trip)
    cable_in_socket: bool = True  # a cable's PP resistor is seen (EVSE-DIN register 1003)


READ_FC = frozenset({3})  # FC03 read
WRITE_FC = frozenset({6, 16})  # FC06 (openWB) and FC16 (evcc) writes
# pymodbus reads the registers back after a write (to build the FC06 echo) with the
# write's function code, so reads under a write FC must be allowed too.
READ_BACK_FC = READ_FC | WRITE_FC


class EvseDinBoard:
    """Register file and firmware rules of one board."""

    on_bus = True  # served on the simulated RS-485 bus
    blocks = BLOCKS

    def __init__(self, unit: int, default_current_a: int = 16, rcd_layout: str = "syssi"):
        self.unit = unit
        self.rcd_layout = rcd_layout
        self.config: dict[int, int] = {
            Reg.DEFAULT_CURRENT: default_current_a,
            Reg.MODBUS_ADDRESS: unit,
            Reg.MIN_CURRENT: MIN_A,
            Reg.ANALOG_CONFIG: 0,
            Reg.AMPS_AFTER_BOOT: 0,
            Reg.CONFIG_BITS: int(DEFAULT_CONFIG_BITS),
            Reg.SHARING_MODE: 0,
            Reg.PP_LIMIT: CABLE_LIMIT_A,
            Reg.RESERVED: 0,
            Reg.BOOTLOADER: 3,
        }
        for i, amps in enumerate((6, 10, 16, 25, 32, 48, 63, 80)):
            self.config[Reg.BUTTON_AMPS_1 + i] = amps
        self.current_raw = default_current_a  # power-up: 1000 := 2000
        self.relay = False
        self.rcd_clear_requested = False  # set by 1004 bit2, consumed by the owner

    def power_up(self) -> None:
        """A reboot or brown-out: 1000 := 2000 again (docs/hardware/evse-din.md#power-up), relay open."""
        self.current_raw = self._raw(self.config[Reg.DEFAULT_CURRENT])
        self.relay = False

    # --- scale -------------------------------------------------------------
    @property
    def centi(self) -> bool:
        return bool(self.config[Reg.CONFIG_BITS] & Cfg.CENTI_AMPS)

    @property
    def configured_a(self) -> float:
        return self.current_raw / 100 if self.centi else float(self.current_raw)

    def _raw(self, amps: float) -> int:
        return round(amps * 100) if self.centi else round(amps)

    # --- behaviour ---------------------------------------------------------
    def pwm_current_a(self, inputs: BoardInputs) -> float:
        """Current signalled by PWM: 0 when off (1000 = 0), disabled or faulted."""
        if inputs.rcd_error or inputs.diode_fail:
            return 0.0
        if self.config[Reg.CONFIG_BITS] & Cfg.DISABLE_EVSE:
            return 0.0
        amps = self.configured_a
        if amps < MIN_A:
            return 0.0
        return min(amps, float(CABLE_LIMIT_A))

    def decide_relay(self, inputs: BoardInputs) -> bool:
        """Relay closes only in C (or D if allowed) with PWM >= 6 A and no fault.

        IEC 61851-1 Table A.6 (docs/hardware/control-pilot.md#contactor): open at once on C->B, unplug, pilot
        E/F, diode fault or RCD trip; the simulation applies the rule on every change.
        """
        allowed = {Pilot.C} | ({Pilot.D} if self.config[Reg.CONFIG_BITS] & Cfg.ALLOW_STATE_D else set())
        self.relay = inputs.pilot in allowed and self.pwm_current_a(inputs) >= MIN_A
        return self.relay

    # --- registers ---------------------------------------------------------
    def read(self, address: int, inputs: BoardInputs) -> int:
        if address == Reg.CURRENT:
            return self.current_raw
        if address == Reg.PWM_CURRENT:
            return self._raw(self.pwm_current_a(inputs))
        if address == Reg.VEHICLE_STATE:
            if inputs.rcd_error or inputs.diode_fail:
                return 5
            return {Pilot.A: 1, Pilot.B: 2, Pilot.C: 3, Pilot.D: 4}.get(inputs.pilot, 5)
        if address == Reg.CABLE_LIMIT:
            return CABLE_LIMIT_A if inputs.cable_in_socket else 0  # 0: no cable in the socket
        if address == Reg.FIRMWARE:
            return FIRMWARE
        if address == Reg.EVSE_STATE:
            if self.current_raw == 0:
                return 3  # OFF / standby
            pwm_on = self.pwm_current_a(inputs) >= MIN_A and inputs.pilot in (Pilot.B, Pilot.C, Pilot.D)
            return 2 if pwm_on else 1
        if address == Reg.STATUS:
            bits = Status.RELAY_ON if self.relay else 0
            if inputs.diode_fail:
                bits |= Status.DIODE_FAIL
            if inputs.rcd_error:
                bits |= RCD_ERROR_BIT[self.rcd_layout]
            return int(bits)
        if address in (Reg.COMMAND, Reg.ERROR_TIMEOUT, Reg.SELFTEST_TIMEOUT):
            return 0
        return self.config.get(address, 0)

    # --- the bus (same shape for every simulated board) ----------------------
    def bus_read(self, fc: int, address: int, count: int, inputs: BoardInputs) -> list[int] | Refusal:
        if fc not in READ_BACK_FC:
            return Refusal.ILLEGAL_FUNCTION
        return [self.read(address + i, inputs) for i in range(count)]

    def bus_write(self, fc: int, address: int, values: list[int]) -> Refusal | None:
        """FC06/FC16: all registers are checked first, then applied (all or nothing)."""
        if fc not in WRITE_FC:
            return Refusal.ILLEGAL_FUNCTION
        for i, v in enumerate(values):
            if refusal := self.check_write(address + i, v):
                return refusal
        for i, v in enumerate(values):
            self.write(address + i, v)
        return None

    def accessed(self, now: float) -> None:
        """A request reached the board at sim time ``now`` (no watchdog on this board)."""

    def tick(self, now: float) -> bool:
        """Time passed; True if a firmware timer fired (none here)."""
        return False

    def check_write(self, address: int, value: int) -> Refusal | None:
        """Validate one register write without applying it."""
        if address in READ_ONLY or not any(a <= address < a + n for a, n in BLOCKS):
            return Refusal.ILLEGAL_ADDRESS
        if address == Reg.CURRENT:
            amps = value / 100 if self.centi else value
            if value != 0 and not MIN_A <= amps <= MAX_A:
                return Refusal.ILLEGAL_VALUE  # e.g. 3 A
        if address == Reg.DEFAULT_CURRENT and value != 0 and not MIN_A <= value <= MAX_A:
            return Refusal.ILLEGAL_VALUE
        return None

    def write(self, address: int, value: int) -> None:
        """Apply a write already accepted by :meth:`check_write`."""
        if address == Reg.CURRENT:
            self.current_raw = value
        elif address == Reg.COMMAND:
            if value & Cmd.OFF_NOW:
                self.current_raw = 0
            if value & Cmd.CLEAR_RCD:
                self.rcd_clear_requested = True
            # bit1 self-test: accepted, the simulated RCD always passes
        elif address == Reg.CONFIG_BITS:
            was_centi = self.centi
            self.config[Reg.CONFIG_BITS] = value
            if was_centi != self.centi:  # keep the same current when the scale flips
                self.current_raw = self.current_raw * 100 if self.centi else self.current_raw // 100
        else:
            self.config[address] = value
