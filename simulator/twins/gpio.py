"""The charger's wiring to the Pi's GPIO header, as a pure model (no I/O, no clock).

What the agent drives (outputs) and what the physical parts report back (inputs), per EVSE:
a main contactor with an auxiliary contact, an RCD/RCM with a self-test wire, an emergency
stop, a stop button, a motor cable lock with a position switch (openWB's pattern:
direction + motor pulse + feedback, docs/hardware/gpio.md#cable-lock) and three status LEDs.

Levels are electrical (what a pin reads or is driven to); ``WIRING`` says, per signal,
which level means "active", and which pull the input needs, so an agent config can be
written from it (:func:`agent_toml`). ``simulator.wire.pigpio`` serves these lines over
the pigpio daemon's socket protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

INPUT, OUTPUT = 0, 1  # pigpio modes (sif.html MODES)
PUD_OFF, PUD_DOWN, PUD_UP = 0, 1, 2
GPIO_COUNT = 28  # BCM 0-27 on the 40-pin header


@dataclass(frozen=True)
class Wire:
    pin: int  # BCM number
    output: bool  # driven by the agent
    active_high: bool
    pull_up: bool | None = None  # inputs: the internal pull the circuit needs (None: driven both ways)


# Per EVSE: signal name -> wire. The names are the agent's ``[connectors.gpio]`` keys.
WIRING: dict[int, dict[str, Wire]] = {
    1: {
        "contactor": Wire(17, True, True),
        "contactor_feedback": Wire(27, False, False, True),  # auxiliary NO contact to GND
        "rcd": Wire(22, False, True, False),  # RCM trip output, high = tripped
        "rcm_test": Wire(25, True, False),  # pulled low to test (SmartEVSE RCMTEST)
        "emergency_stop": Wire(23, False, True, True),  # NC contact to GND: pressed = open = high
        "stop_button": Wire(24, False, False, True),  # NO push button to GND
        "lock_direction": Wire(5, True, True),  # HIGH = close (openWB)
        "lock_motor": Wire(6, True, True),
        "lock_feedback": Wire(13, False, False, True),  # 0 = locked, 1 = open (openWB)
        "led_green": Wire(16, True, True),
        "led_blue": Wire(20, True, True),
        "led_red": Wire(21, True, True),
    },
    2: {
        "contactor": Wire(12, True, True),
        "contactor_feedback": Wire(19, False, False, True),
        "rcd": Wire(26, False, True, False),
        "rcm_test": Wire(18, True, False),
        "emergency_stop": Wire(4, False, True, True),
        "stop_button": Wire(7, False, False, True),
        "lock_direction": Wire(8, True, True),
        "lock_motor": Wire(9, True, True),
        "lock_feedback": Wire(10, False, False, True),
        "led_green": Wire(11, True, True),
        "led_blue": Wire(14, True, True),
        "led_red": Wire(15, True, True),
    },
}

# Faults and states a test or the page can set on a point (``GpioBench.set``).
SETTABLE = ("welded", "stuck_open", "rcd_tripped", "rcm_broken", "estop_pressed", "button_pressed", "lock_jammed")


@dataclass
class GpioPoint:
    """The physical parts of one EVSE behind its GPIO lines."""

    coil: bool = False  # contactor coil energised (the agent's output)
    welded: bool = False  # contacts stuck closed: the auxiliary contact reads closed
    stuck_open: bool = False  # contacts do not close when the coil is energised
    rcd_tripped: bool = False  # residual current now
    rcm_broken: bool = False  # the self-test wire does not trip the RCM
    rcm_test: bool = False  # the agent drives the test wire
    estop_pressed: bool = False
    button_pressed: bool = False
    lock_locked: bool = False  # position of the lock pin
    lock_jammed: bool = False  # the motor turns, the pin does not move
    lock_direction: bool = False
    lock_motor: bool = False
    lock_moves: int = 0
    leds: dict[str, bool] = field(default_factory=lambda: {"led_green": False, "led_blue": False, "led_red": False})
    led_toggles: dict[str, int] = field(default_factory=lambda: {"led_green": 0, "led_blue": 0, "led_red": 0})

    @property
    def contacts_closed(self) -> bool:
        return self.welded or (self.coil and not self.stuck_open)

    def input_active(self, name: str) -> bool:
        return {
            "contactor_feedback": self.contacts_closed,
            "rcd": self.rcd_tripped or (self.rcm_test and not self.rcm_broken),
            "emergency_stop": self.estop_pressed,
            "stop_button": self.button_pressed,
            "lock_feedback": self.lock_locked,
        }[name]

    def drive(self, name: str, active: bool) -> None:
        """The agent drives output ``name``."""
        if name == "contactor":
            self.coil = active
        elif name == "rcm_test":
            self.rcm_test = active
        elif name == "lock_direction":
            self.lock_direction = active
        elif name == "lock_motor":
            if self.lock_motor and not active:  # end of the motor pulse: the pin has moved
                self.lock_moves += 1
                if not self.lock_jammed:
                    self.lock_locked = self.lock_direction
            self.lock_motor = active
        elif name in self.leds:
            if self.leds[name] != active:
                self.led_toggles[name] += 1
            self.leds[name] = active


class GpioBench:
    """All GPIO lines of the simulated Pi: modes, pulls, levels, and the parts behind them."""

    def __init__(self, evse_ids: list[int], on_change: Callable[[], None] | None = None):
        self.points = {i: GpioPoint() for i in evse_ids if i in WIRING}
        self.modes = [INPUT] * GPIO_COUNT
        self.pulls = [PUD_OFF] * GPIO_COUNT
        self.driven = [0] * GPIO_COUNT  # what the agent wrote to each line
        self.on_change = on_change
        self.listeners: list[Callable[[int], None]] = []  # called with the new level word
        self._by_pin = {w.pin: (evse, name, w) for evse in self.points for name, w in WIRING[evse].items()}
        self._word = self.level_word()

    # --- the agent's side (pigpio commands) -------------------------------------------
    def set_mode(self, pin: int, mode: int) -> None:
        self.modes[pin] = mode
        self._drive_from(pin)

    def set_pull(self, pin: int, pud: int) -> None:
        self.pulls[pin] = pud
        self._settle()

    def write(self, pin: int, level: int) -> None:
        self.modes[pin] = OUTPUT  # pigpio: a write makes the line an output
        self.driven[pin] = 1 if level else 0
        self._drive_from(pin)

    def read(self, pin: int) -> int:
        if self.modes[pin] == OUTPUT:
            return self.driven[pin]
        wired = self._by_pin.get(pin)
        if wired is None or wired[2].output:
            return 1 if self.pulls[pin] == PUD_UP else 0  # nothing drives it: the pull decides
        evse, name, wire = wired
        return int(self.points[evse].input_active(name) == wire.active_high)

    def level_word(self) -> int:
        return sum(self.read(pin) << pin for pin in range(GPIO_COUNT))

    # --- the physical side (tests, the page) ------------------------------------------
    def set(self, evse_id: int, what: str, value: bool) -> None:
        if what not in SETTABLE:
            raise ValueError(f"unknown gpio state {what!r} (one of {', '.join(SETTABLE)})")
        setattr(self.points[evse_id], what, bool(value))
        self._settle()

    def wired(self, evse_id: int, name: str) -> bool:
        """Whether the agent drives output ``name`` (set it up as an output)."""
        return self.modes[WIRING[evse_id][name].pin] == OUTPUT

    def main_contactor_open(self, evse_id: int) -> bool:
        """A main contactor the agent drives, with its contacts open: no current flows."""
        point = self.points.get(evse_id)
        return point is not None and self.wired(evse_id, "contactor") and not point.contacts_closed

    def state(self) -> dict[int, dict[str, Any]]:
        out = {}
        for evse, p in self.points.items():
            out[evse] = {
                "contactor_wired": self.wired(evse, "contactor"),
                "coil": p.coil,
                "contacts_closed": p.contacts_closed,
                "welded": p.welded,
                "stuck_open": p.stuck_open,
                "rcd_tripped": p.rcd_tripped,
                "rcm_broken": p.rcm_broken,
                "rcm_test": p.rcm_test,
                "estop_pressed": p.estop_pressed,
                "button_pressed": p.button_pressed,
                "lock_locked": p.lock_locked,
                "lock_jammed": p.lock_jammed,
                "lock_moves": p.lock_moves,
                "leds": dict(p.leds),
                "led_toggles": dict(p.led_toggles),
            }
        return out

    def _drive_from(self, pin: int) -> None:
        wired = self._by_pin.get(pin)
        if wired is not None and wired[2].output and self.modes[pin] == OUTPUT:
            evse, name, wire = wired
            self.points[evse].drive(name, self.driven[pin] == int(wire.active_high))
        self._settle()

    def _settle(self) -> None:
        word = self.level_word()
        changed = word != self._word
        self._word = word
        if changed:
            for listener in list(self.listeners):
                listener(word)
        if self.on_change is not None:
            self.on_change()


def agent_toml(evse_id: int, names: list[str] | None = None, **settings: Any) -> str:
    """The agent's ``[connectors.gpio]`` table for this wiring (``names``: a subset of signals)."""
    lines = ["[connectors.gpio]"]
    for key, value in settings.items():
        lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    for name, wire in WIRING[evse_id].items():
        if names is not None and name not in names:
            continue
        lines.append(f"[connectors.gpio.{name}]")
        lines.append(f"pin = {wire.pin}")
        lines.append(f"active_high = {str(wire.active_high).lower()}")
        if wire.pull_up is not None:
            lines.append(f"pull_up = {str(wire.pull_up).lower()}")
    return "\n".join(lines) + "\n"
