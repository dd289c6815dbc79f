"""Pure physical model of the charge points: EV + board + meter per EVSE (kinds: simulator.devices).

No I/O and no clock: the owner calls :meth:`SimModel.advance` with simulated seconds.
Every mutation calls the ``on_change`` listener (if any) so an event loop can wake waiters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from simulator.config import EvseConfig
from simulator.devices import make_board, make_meter_image
from simulator.twins.boards.evse_din import BoardInputs, Refusal
from simulator.pilot import Pilot
from simulator.twins.meters.eastron import Sdm630

OVERCURRENT_FACTOR = 1.3  # "overcurrent" fault: the EV draws 30 % more than offered


class Fault(str, Enum):
    RCD = "rcd"  # residual current trip: relay opens, latched until 1004 bit2 or API clear
    OVERCURRENT = "overcurrent"  # EV ignores the PWM limit
    PILOT = "pilot"  # CP shorted / diode missing: state E, 1007 bit1
    COMM = "comm"  # the board stops answering on RS-485
    METER_COMM = "meter_comm"  # the meter stops answering on RS-485
    GARBAGE = "garbage"  # the board answers, with nonsense in every register (a firmware fault)


@dataclass(frozen=True)
class ModelEvent:
    sim_time: float
    evse_id: int
    kind: str  # "relay", "pilot", "fault"
    value: Any


@dataclass
class Ev:
    battery_kwh: float
    soc: float
    max_current_a: float
    plugged: bool = False  # connected to the charge point (its pilot sees the EV)
    wants_charge: bool = True  # C when plugged and True, else B
    # The EV driver's cable is in the charge point's socket (its PP resistor is seen there):
    # plugging in puts it there, unplugging at the EV leaves it there, unplugging takes it out.
    cable_in_socket: bool = False

    @property
    def full(self) -> bool:
        return self.soc >= 1.0


class EvsePoint:
    """One connector: the EV, its board and its meter."""

    def __init__(self, cfg: EvseConfig, emit: Callable[[int, str, Any], None]):
        self.cfg = cfg
        self.id = cfg.id
        self.ev = Ev(cfg.battery_kwh, cfg.soc_start, cfg.max_current_a)
        self.meter = Sdm630(cfg.meter_unit, voltage=cfg.voltage)  # the measurements at this point
        self.board = make_board(cfg, self.meter)  # cfg.board: evse-din, heidelberg, bender, openevse
        self.meter_image = make_meter_image(cfg, self.meter)  # None: only the board's own meter
        self.fault: Fault | None = None
        self.main_contactor_open = False  # a GPIO main contactor (simulator.twins.gpio) with open contacts
        self._emit = emit
        self._last_pilot = self.pilot

    # --- derived state -----------------------------------------------------
    @property
    def ev_pilot(self) -> Pilot:
        """The state the EV side presents (what the board decides the relay on)."""
        if self.fault is Fault.PILOT:
            return Pilot.E  # CP shorted to PE / diode fault
        if not self.ev.plugged:
            return Pilot.A
        return Pilot.C if self.ev.wants_charge and not self.ev.full else Pilot.B

    @property
    def pilot(self) -> Pilot:
        """The pilot as reported: F while the board holds an RCD error (EVSE not available)."""
        return Pilot.F if self.fault is Fault.RCD else self.ev_pilot

    def inputs(self) -> BoardInputs:
        return BoardInputs(
            pilot=self.ev_pilot,
            rcd_error=self.fault is Fault.RCD,
            diode_fail=self.fault is Fault.PILOT,
            overcurrent=self.fault is Fault.OVERCURRENT,
            cable_in_socket=self.ev.cable_in_socket,
        )

    @property
    def current_limit_a(self) -> float:
        return self.board.pwm_current_a(self.inputs())

    @property
    def ev_current_a(self) -> float:
        """Current the EV draws per phase while the relay is closed."""
        if not self.board.relay or self.main_contactor_open:
            return 0.0
        offered = self.current_limit_a
        if self.fault is Fault.OVERCURRENT:
            return offered * OVERCURRENT_FACTOR
        return min(offered, self.ev.max_current_a)

    @property
    def power_w(self) -> float:
        return self.ev_current_a * self.cfg.voltage * self.cfg.phases

    # --- rules -------------------------------------------------------------
    def update(self) -> None:
        """Re-apply the board rules and meter readings after any change."""
        if self.board.rcd_clear_requested:
            self.board.rcd_clear_requested = False
            if self.fault is Fault.RCD:
                self.fault = None
                self._emit(self.id, "fault", None)
        was = self.board.relay
        self.board.decide_relay(self.inputs())
        if was != self.board.relay:
            self._emit(self.id, "relay", self.board.relay)
        if self.pilot != self._last_pilot:
            self._last_pilot = self.pilot
            self._emit(self.id, "pilot", self.pilot.value)
        amps = self.ev_current_a
        self.meter.currents = [amps if k < self.cfg.phases else 0.0 for k in range(3)]

    def advance(self, dt_s: float) -> None:
        """Charge for ``dt_s`` simulated seconds; a full battery makes the EV go to B."""
        power = self.power_w
        if power > 0 and dt_s > 0:
            need_kwh = (1.0 - self.ev.soc) * self.ev.battery_kwh
            dt_eff = min(dt_s, need_kwh * 3_600_000 / power)
            self.meter.integrate(dt_eff)
            self.ev.soc = min(1.0, self.ev.soc + power * dt_eff / 3_600_000 / self.ev.battery_kwh)
            if need_kwh * 3_600_000 <= power * dt_s:
                self.ev.soc = 1.0  # full: the EV opens S2 (C -> B)
        self.update()

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plugged": self.ev.plugged,
            "cable_in_socket": self.ev.cable_in_socket,
            "ev_state": self.pilot.value,
            "ev_request": "C" if self.ev.wants_charge else "B",
            "contactor_closed": self.board.relay,
            "current_limit_a": round(self.current_limit_a, 2),
            "current_a": round(self.ev_current_a, 3),
            "power_w": round(self.power_w, 1),
            "energy_wh": round(self.meter.import_kwh * 1000, 3),
            "soc": round(self.ev.soc, 4),
            "battery_kwh": self.ev.battery_kwh,
            "fault": self.fault.value if self.fault else None,
            "board_unit": self.cfg.board_unit,
            "meter_unit": self.cfg.meter_unit,
            "phases": self.cfg.phases,
            "board": self.cfg.board,
            "meter": self.cfg.meter,
            "configured_current_raw": self.board.current_raw,
            "centi_amps": self.board.centi,
        }


class SimModel:
    """All EVSEs on one bus; units map to boards and meters."""

    def __init__(self, evses: tuple[EvseConfig, ...] | list[EvseConfig]):
        self.sim_time = 0.0
        self.events: list[ModelEvent] = []
        self.on_change: Callable[[], None] | None = None
        self.evses: dict[int, EvsePoint] = {e.id: EvsePoint(e, self._emit) for e in evses}
        for p in self.evses.values():
            p.update()

    def _emit(self, evse_id: int, kind: str, value: Any) -> None:
        self.events.append(ModelEvent(self.sim_time, evse_id, kind, value))

    def _changed(self) -> None:
        if self.on_change:
            self.on_change()

    def evse(self, evse_id: int) -> EvsePoint:
        try:
            return self.evses[evse_id]
        except KeyError:
            raise KeyError(f"unknown evse {evse_id}") from None

    # --- the physical world ------------------------------------------------
    def advance(self, dt_s: float) -> None:
        self.sim_time += dt_s
        for p in self.evses.values():
            if p.board.tick(self.sim_time):  # a board's watchdog expired (heidelberg)
                self._emit(p.id, "watchdog", p.board.current_raw)
            p.advance(dt_s)
        self._changed()

    def plug(self, evse_id: int) -> None:
        p = self.evse(evse_id)
        p.ev.plugged = True
        p.ev.cable_in_socket = True
        p.ev.wants_charge = True
        self._touch(p)

    def unplug(self, evse_id: int) -> None:
        """The cable out of the EV and out of the charge point."""
        p = self.evse(evse_id)
        p.ev.plugged = False
        p.ev.cable_in_socket = False
        self._touch(p)

    def unplug_ev(self, evse_id: int) -> None:
        """The cable out of the EV only: it stays in the charge point's socket."""
        p = self.evse(evse_id)
        p.ev.plugged = False
        self._touch(p)

    def set_ev_state(self, evse_id: int, state: str) -> None:
        """EV pause ("B", S2 open) or resume ("C", S2 closed)."""
        if state not in ("B", "C"):
            raise ValueError("state must be 'B' or 'C'")
        p = self.evse(evse_id)
        if not p.ev.plugged:
            raise ValueError(f"evse {evse_id}: no EV plugged in")
        p.ev.wants_charge = state == "C"
        self._touch(p)

    def set_soc(self, evse_id: int, soc: float) -> None:
        p = self.evse(evse_id)
        p.ev.soc = max(0.0, min(1.0, soc))
        self._touch(p)

    def inject_fault(self, evse_id: int, kind: Fault | str) -> None:
        p = self.evse(evse_id)
        p.fault = Fault(kind)
        self._emit(evse_id, "fault", p.fault.value)
        self._touch(p)

    def reboot_board(self, evse_id: int) -> None:
        """The board restarts: its volatile registers go back to their power-up values."""
        p = self.evse(evse_id)
        p.board.power_up()
        self._emit(evse_id, "board", "rebooted")
        self._touch(p)

    def clear_fault(self, evse_id: int) -> None:
        p = self.evse(evse_id)
        if p.fault is not None:
            p.fault = None
            self._emit(evse_id, "fault", None)
        self._touch(p)

    def _touch(self, p: EvsePoint) -> None:
        p.update()
        self._changed()

    # --- the bus -----------------------------------------------------------
    def board_at(self, unit: int) -> EvsePoint | None:
        return next((p for p in self.evses.values() if p.board.on_bus and p.cfg.board_unit == unit), None)

    def meter_at(self, unit: int) -> EvsePoint | None:
        return next((p for p in self.evses.values()
                     if p.meter_image is not None and p.cfg.meter_unit == unit), None)

    def unit_silent(self, unit: int) -> bool:
        """True if nothing on the bus would answer ``unit`` (absent or comm-faulted)."""
        if (p := self.board_at(unit)) is not None:
            return p.fault is Fault.COMM
        if (p := self.meter_at(unit)) is not None:
            return p.fault is Fault.METER_COMM
        return True

    def board_read(self, unit: int, address: int, count: int, fc: int = 3) -> list[int] | Refusal:
        """A read request (its function code decides the register table); feeds watchdogs."""
        p = self._board(unit)
        p.board.accessed(self.sim_time)
        if p.fault is Fault.GARBAGE:
            return [0xFFFF] * count
        return p.board.bus_read(fc, address, count, p.inputs())

    def board_write(self, unit: int, address: int, values: list[int], fc: int = 16) -> Refusal | None:
        """FC06/FC16: all registers are checked first, then applied (all or nothing)."""
        p = self._board(unit)
        p.board.accessed(self.sim_time)
        if refusal := p.board.bus_write(fc, address, values):
            return refusal
        self._touch(p)
        return None

    def meter_read(self, unit: int, fc: int, address: int, count: int) -> list[int] | int:
        """Registers of the meter image at ``unit``, or a Modbus exception code."""
        p = self.meter_at(unit)
        if p is None:
            raise KeyError(f"no meter at unit {unit}")
        return p.meter_image.read(fc, address, count)

    def meter_registers(self, unit: int) -> list[int]:
        p = self.meter_at(unit)
        if p is None:
            raise KeyError(f"no meter at unit {unit}")
        return p.meter.registers()

    def rapi_command(self, evse_id: int, line: str) -> str | None:
        """One RAPI frame to an OpenEVSE board; None when it stays silent (comm fault)."""
        p = self.evse(evse_id)
        if p.fault is Fault.COMM:
            return None
        p.board.accessed(self.sim_time)
        reply = p.board.command(line, p.inputs())
        self._touch(p)
        return reply

    def rapi_state_line(self, evse_id: int) -> str:
        """The ``$AT`` line an OpenEVSE board sends when its state changes."""
        p = self.evse(evse_id)
        return p.board.async_state(p.inputs())

    def _board(self, unit: int) -> EvsePoint:
        p = self.board_at(unit)
        if p is None:
            raise KeyError(f"no board at unit {unit}")
        return p

    def state(self) -> dict[str, Any]:
        return {
            "sim_time_s": round(self.sim_time, 3),
            "evses": [p.state() for p in self.evses.values()],
        }
