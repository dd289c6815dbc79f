"""GPIO safety I/O with gpiozero: contactor + auxiliary contact, trip inputs, RCM self-test
output, cable lock, status LEDs (the Protocols in ``drivers.interfaces``).

Every device takes a gpiozero pin factory: None is gpiozero's default (lgpio on a Pi),
``PiGPIOFactory(host, port)`` talks to a pigpio daemon (a real one, or the simulator's
``simulator.wire.pigpio``), ``MockFactory`` is gpiozero's in-process test factory.

Pins are BCM numbers. ``active_high`` says which level means "active" (a relay board
switching on LOW: ``active_high = false``); for inputs ``pull_up`` picks the internal pull
(True up, False down, None: the circuit drives the line both ways).
gpiozero runs input callbacks and blink/pulse timing on its own threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, DigitalOutputDevice

from drivers.interfaces import LightPattern

# LightPattern -> (on_time, off_time) for gpiozero's blink
BLINK_TIMES = {
    LightPattern.BLINK_SLOW: (1.0, 1.0),
    LightPattern.BLINK_FAST: (0.2, 0.2),
    LightPattern.FLASH: (0.1, 1.9),
}


@dataclass(frozen=True)
class PinSpec:
    pin: int  # BCM number
    active_high: bool = True
    pull_up: bool | None = None  # inputs only


def pin_factory(kind: str, host: str = "localhost", port: int = 8888):
    """The factory for ``kind``: "default" (None: gpiozero chooses, lgpio on a Pi) or "pigpio"."""
    if kind == "default":
        return None
    if kind == "pigpio":
        from gpiozero.pins.pigpio import PiGPIOFactory

        return PiGPIOFactory(host=host, port=port)
    raise ValueError(f"unknown pin factory {kind!r}")


def output(spec: PinSpec, factory) -> DigitalOutputDevice:
    """An output, inactive from the start."""
    return DigitalOutputDevice(spec.pin, active_high=spec.active_high, initial_value=False, pin_factory=factory)


def digital_input(spec: PinSpec, factory) -> DigitalInputDevice:
    """An input whose "active" level is ``spec.active_high``, with the pull it asks for.

    gpiozero ties the active level to the pull (pull-up = active low); the pull is set on
    the pin afterwards so both can be chosen, as the wiring needs."""
    device = DigitalInputDevice(spec.pin, pull_up=None, active_state=spec.active_high, pin_factory=factory)
    if spec.pull_up is not None:
        device.pin.pull = "up" if spec.pull_up else "down"
    return device


class GpioContactor:
    """Relay output; auxiliary contact input (active = contacts closed) when wired."""

    def __init__(self, relay: PinSpec, feedback: PinSpec | None = None, factory=None):
        self._relay = output(relay, factory)
        self._feedback = digital_input(feedback, factory) if feedback is not None else None

    def switch(self, closed: bool) -> None:
        if closed:
            self._relay.on()
        else:
            self._relay.off()

    @property
    def commanded_closed(self) -> bool:
        return bool(self._relay.value)

    def feedback_closed(self) -> bool | None:
        return None if self._feedback is None else self._feedback.is_active

    def release(self) -> None:
        self._relay.off()
        self._relay.close()
        if self._feedback is not None:
            self._feedback.close()


class GpioTripInput:
    """An input that trips: RCD/RCM, emergency stop, stop button."""

    def __init__(self, spec: PinSpec, factory=None):
        self._input = digital_input(spec, factory)

    def is_active(self) -> bool:
        return self._input.is_active

    def on_change(self, callback: Callable[[bool], None] | None) -> None:
        if callback is None:
            self._input.when_activated = self._input.when_deactivated = None
        else:
            self._input.when_activated = lambda: callback(True)
            self._input.when_deactivated = lambda: callback(False)

    def release(self) -> None:
        self._input.close()


class GpioPulseOutput:
    """The RCM self-test wire: active for a while, then inactive again."""

    def __init__(self, spec: PinSpec, factory=None):
        self._output = output(spec, factory)

    def pulse(self, seconds: float) -> None:
        self._output.blink(on_time=seconds, off_time=0.0, n=1, background=True)

    def release(self) -> None:
        self._output.close()


class GpioCableLock:
    """openWB's lock (docs/hardware/gpio.md#cable-lock): a direction output (active = towards locked), a motor
    output pulsed for the move, and a position switch (active = locked) when wired."""

    def __init__(self, direction: PinSpec, motor: PinSpec, feedback: PinSpec | None = None, factory=None):
        self._direction = output(direction, factory)
        self._motor = output(motor, factory)
        self._feedback = digital_input(feedback, factory) if feedback is not None else None

    def move(self, lock: bool, seconds: float) -> None:
        self._motor.off()
        if lock:
            self._direction.on()
        else:
            self._direction.off()
        self._motor.blink(on_time=seconds, off_time=0.0, n=1, background=True)

    def is_locked(self) -> bool | None:
        return None if self._feedback is None else self._feedback.is_active

    def release(self) -> None:
        for device in (self._motor, self._direction, self._feedback):
            if device is not None:
                device.close()


class GpioStatusLight:
    def __init__(self, spec: PinSpec, factory=None):
        self._led = output(spec, factory)
        self._pattern: LightPattern | None = None

    def show(self, pattern: LightPattern) -> None:
        if pattern is self._pattern:
            return
        self._pattern = pattern
        if pattern is LightPattern.ON:
            self._led.on()
        elif pattern is LightPattern.OFF:
            self._led.off()
        else:
            on_time, off_time = BLINK_TIMES[pattern]
            self._led.blink(on_time=on_time, off_time=off_time, background=True)

    def release(self) -> None:
        self._led.close()
