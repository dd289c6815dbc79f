"""Bender CC612/613 controller: holding registers, relay rules, own meter (docs/hardware/bender.md#registers).

Pure logic, no I/O, written from the register table (not from the agent's driver).
All registers are holding registers (FC03 read; FC06/FC16 write only to the HEMS
registers 1000-1002). The meter registers show the simulated measurements of
the connector (:class:`simulator.twins.meters.eastron.Sdm630`).

Resolved unknowns: the CP state register (122) documents only 1..4; the twin
reports 5 for E (pilot short / diode fault) and 6 for F (residual current
trip), which a driver must treat as an error. 1000 (A) and 1001 (0.1 A) are
two views of one limit; the power limit 1002 is stored but not applied.
Undocumented registers inside the served blocks read 0xFFFF ("not available").
"""

from __future__ import annotations

from pymodbus.client.mixin import ModbusClientMixin

from simulator.twins.boards.evse_din import BoardInputs, Refusal
from simulator.pilot import Pilot
from simulator.twins.meters.eastron import Sdm630

BLOCKS = ((100, 2), (104, 1), (120, 3), (140, 12), (200, 28), (1000, 3))
READ_FC = frozenset({3, 6, 16})  # 6/16: pymodbus reads back after a write
WRITE_FC = frozenset({6, 16})
HEMS_A, HEMS_DECIAMPS, HEMS_W = 1000, 1001, 1002
MIN_A, HW_MAX_A = 6, 32
FIRMWARE = (5, 22)
MODEL = "CC613-SIM"
NA16 = 0xFFFF


def _u32(value: int) -> list[int]:
    return ModbusClientMixin.convert_to_registers(
        max(0, value) & 0xFFFFFFFF, ModbusClientMixin.DATATYPE.UINT32  # type: ignore[arg-type]
    )


class BenderBoard:
    on_bus = True
    blocks = BLOCKS
    centi = False

    def __init__(self, unit: int, meter: Sdm630, phases: int = 3, default_current_a: int = 16):
        self.unit = unit
        self.meter = meter
        self.phases = phases
        self.default_current_a = default_current_a
        self.rcd_clear_requested = False
        self.power_up()

    def power_up(self) -> None:
        """A reboot or brown-out: the HEMS limits 1000-1002 back to the box's own current
        (what a controller wrote is not kept), the relay open."""
        self.limit_deciamps = min(self.default_current_a, HW_MAX_A) * 10
        self.power_limit_w = 0
        self.relay = False

    @property
    def current_raw(self) -> int:
        return self.limit_deciamps // 10

    def pwm_current_a(self, inputs: BoardInputs) -> float:
        if inputs.rcd_error or inputs.diode_fail:
            return 0.0
        amps = self.limit_deciamps / 10
        return amps if amps >= MIN_A else 0.0

    def decide_relay(self, inputs: BoardInputs) -> bool:
        self.relay = inputs.pilot in (Pilot.C, Pilot.D) and self.pwm_current_a(inputs) >= MIN_A
        return self.relay

    def accessed(self, now: float) -> None:
        """No communication watchdog in the documented registers."""

    def tick(self, now: float) -> bool:
        return False

    def registers(self, inputs: BoardInputs) -> dict[int, int]:
        m = self.meter
        regs = {a: NA16 for first, n in BLOCKS for a in range(first, first + n)}
        regs[100], regs[101] = FIRMWARE
        regs[104] = 0
        regs[120] = 0x0100
        if inputs.rcd_error:
            cp = 6
        elif inputs.diode_fail or inputs.pilot is Pilot.E:
            cp = 5
        else:
            cp = {Pilot.A: 1, Pilot.B: 2, Pilot.C: 3, Pilot.D: 4}.get(inputs.pilot, 6)
        regs[122] = cp
        regs[140] = (1 if self.phases == 3 else 5) if self.relay else 0
        text = MODEL.encode("ascii").ljust(20, b"\0")
        for i in range(10):
            regs[142 + i] = text[2 * i] << 8 | text[2 * i + 1]
        for k in range(3):
            regs[200 + 2 * k], regs[201 + 2 * k] = _u32(int(m.import_kwh_phase[k] * 1000))
            regs[212 + 2 * k], regs[213 + 2 * k] = _u32(round(m.currents[k] * 1000))
            volts = round(m.voltage) if k < self.phases else 0
            regs[222 + 2 * k], regs[223 + 2 * k] = _u32(volts)
        regs[218], regs[219] = _u32(int(m.import_kwh * 1000))
        regs[220], regs[221] = _u32(round(m.total_power))
        regs[HEMS_A] = self.limit_deciamps // 10
        regs[HEMS_DECIAMPS] = self.limit_deciamps
        regs[HEMS_W] = self.power_limit_w
        return regs

    def bus_read(self, fc: int, address: int, count: int, inputs: BoardInputs) -> list[int] | Refusal:
        if fc not in READ_FC:
            return Refusal.ILLEGAL_FUNCTION
        regs = self.registers(inputs)
        span = range(address, address + count)
        if not all(a in regs for a in span):
            return Refusal.ILLEGAL_ADDRESS
        return [regs[a] for a in span]

    def check_write(self, address: int, value: int) -> Refusal | None:
        if address == HEMS_A:
            return None if value == 0 or MIN_A <= value <= HW_MAX_A else Refusal.ILLEGAL_VALUE
        if address == HEMS_DECIAMPS:
            return None if value == 0 or MIN_A * 10 <= value <= HW_MAX_A * 10 else Refusal.ILLEGAL_VALUE
        if address == HEMS_W:
            return None
        return Refusal.ILLEGAL_ADDRESS

    def bus_write(self, fc: int, address: int, values: list[int]) -> Refusal | None:
        if fc not in WRITE_FC:
            return Refusal.ILLEGAL_FUNCTION
        for i, v in enumerate(values):
            if refusal := self.check_write(address + i, v):
                return refusal
        for i, v in enumerate(values):
            a = address + i
            if a == HEMS_A:
                self.limit_deciamps = v * 10
            elif a == HEMS_DECIAMPS:
                self.limit_deciamps = v
            else:
                self.power_limit_w = v
        return None
