"""GPIO drivers (drivers/gpio.py) through gpiozero's real PiGPIOFactory and the pigpio client,
over TCP to the simulator's pigpio daemon protocol (simulator.wire.pigpio) and its wiring
model (simulator.twins.gpio). The server runs on its own thread and loop: gpiozero blocks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from drivers.gpio import (
    GpioCableLock,
    GpioContactor,
    GpioPulseOutput,
    GpioStatusLight,
    GpioTripInput,
    PinSpec,
    pin_factory,
)
from drivers.interfaces import CableLock, Contactor, LightPattern, PulseOutput, StatusLight, TripInput
from simulator.twins.gpio import PUD_UP, WIRING, GpioBench
from simulator.wire.pigpio import PigpioServer

W = WIRING[1]


def spec(name: str) -> PinSpec:
    wire = W[name]
    return PinSpec(wire.pin, wire.active_high, wire.pull_up)


class Daemon:
    """The simulated pigpiod on a thread of its own; ``changed`` is set at every bench change."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.changed = threading.Condition()
        self.bench = GpioBench([1, 2], self._changed)
        self.server = PigpioServer(self.bench)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.server.start("127.0.0.1", 0))

    def _changed(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(5)

    def set(self, what: str, value: bool) -> None:
        async def apply():
            self.bench.set(1, what, value)

        self.call(apply())

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 3.0) -> dict:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.bench.state()[1]), timeout), self.bench.state()[1]
        return self.bench.state()[1]

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    d = Daemon()
    yield d
    d.stop()


@pytest.fixture
def factory(daemon):
    f = pin_factory("pigpio", "127.0.0.1", daemon.server.port)
    yield f
    f.close()


def test_contactor_switches_the_coil_and_reads_its_auxiliary_contact(daemon, factory):
    contactor = GpioContactor(spec("contactor"), spec("contactor_feedback"), factory)
    assert isinstance(contactor, Contactor)
    assert not contactor.commanded_closed and contactor.feedback_closed() is False
    assert daemon.bench.pulls[W["contactor_feedback"].pin] == PUD_UP  # the pull from the config
    contactor.switch(True)
    daemon.wait_for(lambda s: s["coil"] and s["contacts_closed"])
    assert contactor.commanded_closed and contactor.feedback_closed() is True
    daemon.set("welded", True)
    contactor.switch(False)
    daemon.wait_for(lambda s: not s["coil"])
    assert contactor.feedback_closed() is True  # welded: closed while commanded open
    contactor.release()
    assert not daemon.bench.wired(1, "contactor")


def test_a_low_active_relay_is_driven_low_to_close(daemon, factory):
    pin = W["contactor"].pin
    contactor = GpioContactor(PinSpec(pin, active_high=False), None, factory)
    assert daemon.bench.driven[pin] == 1  # inactive = high
    contactor.switch(True)
    assert daemon.bench.driven[pin] == 0 and contactor.commanded_closed
    assert contactor.feedback_closed() is None  # no auxiliary contact wired
    contactor.release()


def test_trip_input_calls_back_on_its_own_thread(daemon, factory):
    rcd = GpioTripInput(spec("rcd"), factory)
    assert isinstance(rcd, TripInput) and not rcd.is_active()
    seen: list[tuple[bool, str]] = []
    arrived = threading.Event()

    def callback(active: bool) -> None:
        seen.append((active, threading.current_thread().name))
        arrived.set()

    rcd.on_change(callback)
    daemon.set("rcd_tripped", True)
    assert arrived.wait(3)
    assert seen[0][0] is True and seen[0][1] != threading.main_thread().name
    assert rcd.is_active()
    arrived.clear()
    daemon.set("rcd_tripped", False)
    assert arrived.wait(3) and seen[-1][0] is False
    rcd.on_change(None)
    rcd.release()


def test_active_high_input_with_a_pull_up(daemon, factory):
    """An e-stop NC contact to GND: released = low, pressed = open = high (pulled up)."""
    estop = GpioTripInput(spec("emergency_stop"), factory)
    assert daemon.bench.pulls[W["emergency_stop"].pin] == PUD_UP
    assert not estop.is_active()
    daemon.set("estop_pressed", True)
    assert estop.is_active()
    estop.release()


def test_rcm_test_pulse_trips_the_rcm_and_ends(daemon, factory):
    test_wire = GpioPulseOutput(spec("rcm_test"), factory)
    rcd = GpioTripInput(spec("rcd"), factory)
    assert isinstance(test_wire, PulseOutput)
    test_wire.pulse(0.2)
    daemon.wait_for(lambda s: s["rcm_test"])
    assert rcd.is_active()
    daemon.wait_for(lambda s: not s["rcm_test"])
    assert not rcd.is_active()
    test_wire.release()
    rcd.release()


def test_cable_lock_moves_with_a_motor_pulse_and_reports_its_position(daemon, factory):
    lock = GpioCableLock(spec("lock_direction"), spec("lock_motor"), spec("lock_feedback"), factory)
    assert isinstance(lock, CableLock) and lock.is_locked() is False
    lock.move(True, 0.1)
    daemon.wait_for(lambda s: s["lock_locked"] and s["lock_moves"] == 1)
    assert lock.is_locked() is True
    daemon.set("lock_jammed", True)
    lock.move(False, 0.1)
    daemon.wait_for(lambda s: s["lock_moves"] == 2)
    assert lock.is_locked() is True  # jammed: the motor ran, the pin stayed
    lock.release()


def test_status_light_patterns(daemon, factory):
    light = GpioStatusLight(spec("led_red"), factory)
    assert isinstance(light, StatusLight)
    light.show(LightPattern.ON)
    daemon.wait_for(lambda s: s["leds"]["led_red"])
    light.show(LightPattern.BLINK_FAST)
    before = daemon.bench.state()[1]["led_toggles"]["led_red"]
    daemon.wait_for(lambda s: s["led_toggles"]["led_red"] >= before + 3)
    light.show(LightPattern.OFF)
    daemon.wait_for(lambda s: not s["leds"]["led_red"])
    light.release()


def test_an_unknown_command_and_a_bad_gpio_get_pigpio_errors(daemon, factory):
    import pigpio

    pi = factory.connection
    with pytest.raises(pigpio.error):
        pi.set_mode(40, pigpio.OUTPUT)  # PI_BAD_GPIO
    with pytest.raises(pigpio.error):
        pi.set_PWM_frequency(17, 1000)  # not served: PI_UNKNOWN_COMMAND
    assert pi.get_hardware_revision() == 0xC03111
