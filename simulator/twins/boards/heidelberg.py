"""Heidelberg / Amperfied Energy Control: registers, relay rules and watchdog (docs/hardware/heidelberg.md#input-registers).

Pure logic, no I/O, written from the register table (not from the agent's driver).
Input registers (FC04) report state and the box's own meter, which reads the
simulated measurements of the connector (:class:`simulator.twins.meters.eastron.Sdm630`);
holding registers (FC03/06/16) take the commands.

Resolved unknowns of the real firmware:
* the watchdog (257, ms) counts simulated time since the last request of any
  kind; when it expires the box copies the fail-safe current (262) into the
  max-current command (261), so a read-back of 261 shows what it now offers;
  a fail-safe of 0 stops charging (the HA template calls 0 an "error state");
* 260 is undocumented and refused; writes outside the documented values of
  258 (0/4), 259 (0/1), 261/262 (0 or 60..160) get ILLEGAL VALUE;
* state D is not supported by the box: it reports 11 (error);
* the energy registers 15-18 are in Wh, word order per ``word_order`` ("big" =
  high word first as evcc/McuHeidelberg, "little" as the HA template).
"""

from __future__ import annotations

from pymodbus.client.mixin import ModbusClientMixin

from simulator.twins.boards.evse_din import BoardInputs, Refusal
from simulator.pilot import Pilot
from simulator.twins.meters.eastron import Sdm630

INPUT_BLOCKS = ((4, 15), (100, 34), (200, 4))  # 4..18, 100..133, 200..203
HOLDING_FIRST, HOLDING_COUNT = 257, 6  # 257..262
BLOCKS = INPUT_BLOCKS + ((HOLDING_FIRST, HOLDING_COUNT),)
READ_INPUT_FC = frozenset({4})
READ_HOLDING_FC = frozenset({3, 6, 16})  # 6/16: pymodbus reads back after a write
WRITE_FC = frozenset({6, 16})

WATCHDOG, STANDBY, REMOTE_LOCK, RESERVED, MAX_CURRENT, FAILSAFE = range(257, 263)
LAYOUT_VERSION = 0x0108  # 1.0.8
HW_MAX_A, HW_MIN_A = 16, 6  # regs 100/101 (DIP setting)
PCB_TEMPERATURE = 250  # 25.0 °C
LOGISTIC = "SIM-ENERGY-CONTROL"


class State:
    """Input register 5."""

    A1, A2, B1, B2, C1, C2, DERATING, E, F, ERROR = range(2, 12)


def _u32(value: int, word_order: str) -> list[int]:
    return ModbusClientMixin.convert_to_registers(
        value & 0xFFFFFFFF, ModbusClientMixin.DATATYPE.UINT32, word_order=word_order  # type: ignore[arg-type]
    )


class HeidelbergBoard:
    on_bus = True
    blocks = BLOCKS
    centi = False  # the simulator page shows current_raw as is (0.1 A here)

    def __init__(self, unit: int, meter: Sdm630, phases: int = 3, default_current_a: int = 16,
                 word_order: str = "big"):
        self.unit = unit
        self.meter = meter
        self.phases = phases
        self.word_order = word_order
        self.default_current_a = default_current_a
        self.rcd_clear_requested = False
        self.last_access = 0.0
        self.power_up()

    def power_up(self) -> None:
        """A reboot or brown-out: the holding registers 257-262 back to their power-up values
        (what a controller wrote is lost: a twin choice, docs/hardware/heidelberg.md#not-yet-sourced),
        the relay open, and the energy since power-on (15-16) counting from zero."""
        self.holding = {
            WATCHDOG: 0, STANDBY: 0, REMOTE_LOCK: 1, RESERVED: 0,
            MAX_CURRENT: min(self.default_current_a, HW_MAX_A) * 10, FAILSAFE: 0,
        }
        self.relay = False
        self.watchdog_expired = False
        self.power_on_wh = int(self.meter.import_kwh * 1000)

    @property
    def current_raw(self) -> int:
        return self.holding[MAX_CURRENT]

    @property
    def locked(self) -> bool:
        return self.holding[REMOTE_LOCK] == 0

    # --- behaviour ---------------------------------------------------------
    def pwm_current_a(self, inputs: BoardInputs) -> float:
        if inputs.rcd_error or inputs.diode_fail or self.locked:
            return 0.0
        amps = self.holding[MAX_CURRENT] / 10
        return amps if amps >= HW_MIN_A else 0.0

    def decide_relay(self, inputs: BoardInputs) -> bool:
        """Closed only in C with a current to offer (IEC 61851-1 Table A.6, docs/hardware/control-pilot.md#contactor)."""
        self.relay = inputs.pilot is Pilot.C and self.pwm_current_a(inputs) >= HW_MIN_A
        return self.relay

    def state(self, inputs: BoardInputs) -> int:
        if inputs.rcd_error:
            return State.ERROR  # DC residual current: the box's own error state
        if inputs.diode_fail or inputs.pilot is Pilot.E:
            return State.E
        if self.locked or inputs.pilot is Pilot.F:
            return State.F
        pwm = self.pwm_current_a(inputs) >= HW_MIN_A
        return {
            Pilot.A: (State.A1, State.A2),
            Pilot.B: (State.B1, State.B2),
            Pilot.C: (State.C1, State.C2),
        }.get(inputs.pilot, (State.ERROR, State.ERROR))[pwm]

    def accessed(self, now: float) -> None:
        """Any request feeds the watchdog."""
        self.last_access = now
        self.watchdog_expired = False

    def tick(self, now: float) -> bool:
        """True when the watchdog expires now: the fail-safe current takes over."""
        timeout_ms = self.holding[WATCHDOG]
        if timeout_ms == 0 or self.watchdog_expired or now - self.last_access <= timeout_ms / 1000:
            return False
        self.watchdog_expired = True
        self.holding[MAX_CURRENT] = self.holding[FAILSAFE]
        return True

    # --- registers ---------------------------------------------------------
    def input_registers(self, inputs: BoardInputs) -> dict[int, int]:
        m = self.meter
        energy_wh = int(m.import_kwh * 1000)
        regs = {4: LAYOUT_VERSION, 5: self.state(inputs)}
        for k in range(3):
            regs[6 + k] = round(m.currents[k] * 10)
            regs[10 + k] = round(m.voltage) if k < self.phases else 0
        regs[9] = PCB_TEMPERATURE
        regs[13] = 1  # external lock input: unlocked
        regs[14] = min(round(m.total_power), 0xFFFF)
        regs[15], regs[16] = _u32(energy_wh - self.power_on_wh, self.word_order)  # since power-on
        regs[17], regs[18] = _u32(energy_wh, self.word_order)  # since installation
        regs[100], regs[101] = HW_MAX_A, HW_MIN_A
        text = LOGISTIC.encode("ascii").ljust(64, b"\0")
        for i in range(32):
            regs[102 + i] = text[2 * i] << 8 | text[2 * i + 1]
        regs[200], regs[201], regs[202], regs[203] = 1, 0, 0, LAYOUT_VERSION
        return regs

    def bus_read(self, fc: int, address: int, count: int, inputs: BoardInputs) -> list[int] | Refusal:
        span = range(address, address + count)
        if fc in READ_INPUT_FC:
            regs = self.input_registers(inputs)
            if not all(a in regs for a in span):
                return Refusal.ILLEGAL_ADDRESS
            return [regs[a] for a in span]
        if fc in READ_HOLDING_FC:
            if not all(a in self.holding for a in span):
                return Refusal.ILLEGAL_ADDRESS
            return [self.holding[a] for a in span]
        return Refusal.ILLEGAL_FUNCTION

    def check_write(self, address: int, value: int) -> Refusal | None:
        if address not in self.holding or address == RESERVED:
            return Refusal.ILLEGAL_ADDRESS
        ok = {
            STANDBY: value in (0, 4),
            REMOTE_LOCK: value in (0, 1),
            MAX_CURRENT: value == 0 or 60 <= value <= 160,
            FAILSAFE: value == 0 or 60 <= value <= 160,
        }.get(address, True)
        return None if ok else Refusal.ILLEGAL_VALUE

    def bus_write(self, fc: int, address: int, values: list[int]) -> Refusal | None:
        if fc not in WRITE_FC:
            return Refusal.ILLEGAL_FUNCTION
        for i, v in enumerate(values):
            if refusal := self.check_write(address + i, v):
                return refusal
        for i, v in enumerate(values):
            self.holding[address + i] = v
        return None
