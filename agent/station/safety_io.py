"""A connector's GPIO safety I/O, run beside its session (rules: ``agent.core.safety_rules``).

- Main contactor (optional; in series with the board's own relay, as on an EVSE-DIN
  build): closed only while the session offers current and the EV is in C/D, opened at
  once otherwise — :meth:`ConnectorSafety.session_changed` runs inside every
  ``Station.dispatch``. Its auxiliary contact is watched: closed while commanded open for
  the debounce time = WELDED, open while commanded closed = CONTACTOR (failed close). Both
  end the transaction and keep the connector Faulted (PowerSwitchFailure): WELDED until the
  contact reads open again, CONTACTOR until the EV is unplugged. With WELDED the board stops
  the PWM and opens its own relay: the second switch in the line.
- RCD/RCM trip input and emergency stop: gpiozero calls back on its own thread; the
  callback hands the change to the event loop (``loop.call_soon_threadsafe``), which opens
  the contactor there and then raises the fault (RCD: GroundFailure, transaction stopped;
  e-stop: reason EmergencyStop, Faulted until released). The periodic check also reads
  the inputs, so a lost edge is caught within ``CHECK_INTERVAL_S``.
- RCM self-test: when a transaction begins, the test wire is pulsed and the trip must come
  within ``rcm_test_timeout_s``. Until it has passed, no current is offered and the
  contactor stays open. If it fails, Fault.RCM_TEST ends the transaction (StopTransaction
  reason Other, no energy delivered; GroundFailure / E-RCM-TEST) until the EV is unplugged;
  the next session tests again.
- Stop button: stops the running transaction (reason Local).
- Cable lock: locked while a transaction runs with the EV plugged, and as soon as an
  authorized EV driver has plugged in: the transaction starts once the lock reports locked
  (``LockChanged``), so a lock that does not lock starts no transaction (OCTT TC_024), and no
  current is offered before it ("lock before power"); unlocked once the transaction has ended
  and the contactor is open, unless the EV was unplugged at its end during the transaction and
  UnlockConnectorOnEVSideDisconnect is false (then until its idTag or UnlockConnector). The
  contactor never closes while the lock is not confirmed locked. Moves are
  retried and rate-limited; repeated failures raise Fault.LOCK (ConnectorLockFailure),
  cleared when the lock gets there. UnlockConnector uses :meth:`ConnectorSafety.unlock`.
- Status LEDs: green / blue / red patterns per ``safety_rules.LIGHTS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.core.safety_rules import (
    LIGHT_NAMES,
    LIGHTS,
    Feedback,
    FeedbackWatch,
    LockPlan,
    MoveBudget,
    RcmSelfTest,
    SelfTest,
    contactor_should_close,
    indication,
)
from agent.core.session import (
    Event,
    Fault,
    FaultCleared,
    FaultRaised,
    LockChanged,
    Session,
    StopReason,
    StopRequested,
)
from drivers.interfaces import CableLock, Contactor, PilotState, PulseOutput, StatusLight, TripInput

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 0.05
GPIO_PINS = range(0, 28)  # BCM 0-27 on the 40-pin header
OUTPUTS = ("contactor", "rcm_test", "lock_direction", "lock_motor", "led_green", "led_blue", "led_red")


@dataclass
class SafetyDevices:
    contactor: Contactor | None = None
    rcd: TripInput | None = None
    rcm_test: PulseOutput | None = None
    emergency_stop: TripInput | None = None
    stop_button: TripInput | None = None
    lock: CableLock | None = None
    lights: dict[str, StatusLight] = field(default_factory=dict)  # "green", "blue", "red"

    def release(self) -> None:
        """Contactor open, every line freed."""
        for device in (self.contactor, self.rcd, self.rcm_test, self.emergency_stop, self.stop_button, self.lock,
                       *self.lights.values()):
            if device is not None:
                try:
                    device.release()
                except Exception:  # one stuck line must not keep the others (and the contactor) held
                    log.exception("gpio: releasing %r failed", device)


class ConnectorSafety:
    def __init__(self, devices: SafetyDevices, section: Any, monotonic: Callable[[], float] = time.monotonic):
        self.devices = devices
        self.section = section  # agent.app.config.GpioSection
        self._monotonic = monotonic
        self.feedback = FeedbackWatch(section.feedback_debounce_s)
        self.lock_plan = LockPlan(
            pulse_s=section.lock_pulse_s, check_s=section.lock_check_s, retry_s=section.lock_retry_s,
            attempts=section.lock_attempts, budget=MoveBudget(section.lock_max_moves, section.lock_window_s),
        )
        self.rcm = RcmSelfTest(section.rcm_test_pulse_s, section.rcm_test_timeout_s)
        self.trip_latencies_s: list[float] = []  # input callback -> contactor commanded open
        self._evse_id = 0
        self._session: Session | None = None  # the connector's session, read (changed only through dispatch)
        self._dispatch: Callable[[Event], None] | None = None
        self._restate_offer: Callable[[], None] = lambda: None
        self._board_fault: Callable[[], Fault | None] = lambda: None
        self._online: Callable[[], bool] = lambda: False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tested_tx: object | None = None  # the transaction whose RCM self-test has run
        self._offer_held = False  # an offer was kept back until power is allowed
        self._raised: set[Fault] = set()  # trip faults raised here (the board may raise RCD too)
        # Called on gpiozero's thread when a trip input becomes active: the board watch writes
        # 0 A on the hardware thread (agent/station/board_watch.py BoardWatch.trip).
        self.on_trip: Callable[[str], None] | None = None

    # ---- wiring into the station ---------------------------------------------------------

    def attach(self, evse_id: int, session: Session, *, dispatch: Callable[[Event], None],
               restate_offer: Callable[[], None], board_fault: Callable[[], Fault | None],
               online: Callable[[], bool]) -> None:
        """Start listening (from the event loop) for the connector ``evse_id`` whose ``session``
        this guards: ``dispatch`` feeds that session; ``restate_offer`` tells the board again
        what the session offers; ``board_fault`` is the fault the board itself reports now;
        ``online``: whether the backend is reached (the LEDs show it)."""
        self._evse_id, self._session, self._dispatch = evse_id, session, dispatch
        self._restate_offer, self._board_fault, self._online = restate_offer, board_fault, online
        self._loop = asyncio.get_running_loop()
        session.lock_required = self.devices.lock is not None
        d = self.devices
        for name, device in (("rcd", d.rcd), ("emergency_stop", d.emergency_stop), ("stop_button", d.stop_button)):
            if device is not None:
                device.on_change(lambda active, name=name: self._from_thread(name, active))

    async def run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # this loop keeps the connector safe: it never ends
                log.exception("connector %d: safety check failed", self._evse_id)
                self._open_contactor()
            await asyncio.sleep(CHECK_INTERVAL_S)

    def release(self) -> None:
        for device in (self.devices.rcd, self.devices.emergency_stop, self.devices.stop_button):
            if device is not None:
                device.on_change(None)
        self.devices.release()

    def holds(self, fault: Fault) -> bool:
        """Whether an input here still shows ``fault`` (the board poll must not clear it)."""
        return fault is Fault.RCD and self.devices.rcd is not None and self.devices.rcd.is_active()

    def gate_offer(self, amps: float) -> float:
        """The current the board may offer now: none until the lock is locked and the RCM
        self-test has passed (the offer is restated once they are)."""
        if amps > 0 and not self.power_allowed():
            self._offer_held = True
            return 0.0
        return amps

    def power_allowed(self) -> bool:
        d, session = self.devices, self._session
        if d.rcd is not None and d.rcd.is_active() and self.rcm.state is not SelfTest.RUNNING:
            return False
        if d.emergency_stop is not None and d.emergency_stop.is_active():
            return False
        if d.rcm_test is not None and self.rcm.state in (SelfTest.RUNNING, SelfTest.FAILED):
            return False
        if d.rcm_test is not None and session.transaction is not None and session.transaction is not self._tested_tx:
            return False  # a new transaction: its self-test has not started yet
        if d.lock is not None and not self.lock_plan.settled(True, d.lock.is_locked()):
            return False
        return True

    # ---- what the session decided ----------------------------------------------------------

    def session_changed(self) -> None:
        """After every session event (inside ``Station.dispatch``): switch the contactor now."""
        session = self._session
        if session is None:
            return
        tx = session.transaction
        if tx is not None and tx is not self._tested_tx and self.devices.rcm_test is not None:
            self._tested_tx = tx
            self.rcm.start(self._monotonic())
            self.devices.rcm_test.pulse(self.section.rcm_test_pulse_s)
            log.info("connector %d: RCM self-test started", self._evse_id)
        self._drive_contactor()

    def _drive_contactor(self) -> None:
        contactor = self.devices.contactor
        if contactor is None:
            return
        want = contactor_should_close(self._session, self.power_allowed())
        if want != contactor.commanded_closed:
            contactor.switch(want)
            log.info("connector %d: main contactor %s", self._evse_id, "closed" if want else "opened")

    def _open_contactor(self) -> None:
        if self.devices.contactor is not None:
            self.devices.contactor.switch(False)

    # ---- inputs ---------------------------------------------------------------------

    def _from_thread(self, name: str, active: bool) -> None:
        """gpiozero's callback thread: hand the change to the event loop at once."""
        changed_at = time.perf_counter()
        if active and name in ("rcd", "emergency_stop") and not (name == "rcd" and self.rcm.state is SelfTest.RUNNING):
            # Safety does not wait for the event loop (it may be busy): contactor open and 0 A
            # now; the loop raises the fault when it gets to it.
            self._open_contactor()
            if self.on_trip is not None:
                self.on_trip(name)
        try:
            self._loop.call_soon_threadsafe(self._input_changed, name, active, changed_at)
        except RuntimeError:  # the loop has closed (shutting down)
            pass

    def _input_changed(self, name: str, active: bool, changed_at: float) -> None:
        if name == "stop_button":
            if active and self._session.transaction is not None:
                log.info("connector %d: stop button pressed", self._evse_id)
                self._dispatch(StopRequested(StopReason.LOCAL))
            return
        if name == "rcd" and self.rcm.state is SelfTest.RUNNING:
            return  # the self-test's own trip (check() follows it); the contactor is open anyway
        if active:
            self._open_contactor()
            latency = time.perf_counter() - changed_at
            self.trip_latencies_s.append(latency)
            log.warning("connector %d: %s input active: contactor opened %.2f ms after the callback",
                        self._evse_id, name, latency * 1000)
        self._sync_trip_fault(name)

    def _sync_trip_fault(self, name: str) -> None:
        """Raise or clear the fault of a trip input as it reads now."""
        device = getattr(self.devices, name)
        fault = Fault.RCD if name == "rcd" else Fault.EMERGENCY_STOP
        active = device.is_active()
        faults = self._session.faults
        if active:
            self._raised.add(fault)
            if fault not in faults:
                self._open_contactor()
                self._dispatch(FaultRaised(fault))
        elif fault in self._raised:
            self._raised.discard(fault)
            if fault in faults and self._board_fault() is not fault:  # not the board's own
                log.info("connector %d: %s input released", self._evse_id, name)
                self._dispatch(FaultCleared(fault))

    # ---- the periodic check -------------------------------------------------------------

    def check(self) -> None:
        session = self._session
        if session is None:
            return
        now = self._monotonic()
        d = self.devices
        if d.emergency_stop is not None:
            self._sync_trip_fault("emergency_stop")
        self._check_rcm(now)
        self._check_lock(now)
        self._drive_contactor()
        self._check_feedback(now)
        if session.pilot is PilotState.A:  # a new EV, a new chance
            for fault in (Fault.CONTACTOR, Fault.RCM_TEST):
                if fault in session.faults:
                    self._dispatch(FaultCleared(fault))
        if self._offer_held and self.power_allowed():
            self._offer_held = False
            self._restate_offer()
        self._show_lights()

    def _check_rcm(self, now: float) -> None:
        rcd = self.devices.rcd
        if rcd is None:
            return
        before = self.rcm.state
        result = self.rcm.step(rcd.is_active(), now)
        if before is SelfTest.RUNNING and result is SelfTest.PASSED:
            log.info("connector %d: RCM self-test passed", self._evse_id)
        elif before is SelfTest.RUNNING and result is SelfTest.FAILED:
            log.error("connector %d: RCM self-test failed: no trip within %.2f s", self._evse_id,
                      self.section.rcm_test_timeout_s)
            self._open_contactor()
            if not rcd.is_active():
                self._dispatch(FaultRaised(Fault.RCM_TEST))
        if self.rcm.state is not SelfTest.RUNNING:
            self._sync_trip_fault("rcd")

    def _check_lock(self, now: float) -> None:
        lock = self.devices.lock
        if lock is None:
            return
        session = self._session
        contactor = self.devices.contactor
        power_off = (session.offered_a or 0.0) == 0 and (
            contactor is None or (not contactor.commanded_closed and contactor.feedback_closed() is not True)
        )
        if (session.transaction is not None or session.authorized is not None) and session.plugged:
            want = True  # lock before the transaction starts, and before power
        elif session.cable_held_for is not None:
            want = True  # UnlockConnectorOnEVSideDisconnect = false: the cable stays in
        elif power_off:
            want = False  # unlock after the contactor opened
        else:
            return
        switch = lock.is_locked()
        move = self.lock_plan.step(want, switch, now)
        if move is not None:
            log.info("connector %d: cable lock: %s", self._evse_id, "locking" if move else "unlocking")
            lock.move(move, self.section.lock_pulse_s)
        locked = self.lock_plan.settled(True, lock.is_locked())
        if locked != session.locked:
            self._dispatch(LockChanged(locked))  # a transaction waiting for the lock starts now
        if self.lock_plan.failed and Fault.LOCK not in session.faults:
            log.error("connector %d: cable lock does not %s", self._evse_id, "lock" if want else "unlock")
            self._dispatch(FaultRaised(Fault.LOCK))
        elif Fault.LOCK in session.faults and self.lock_plan.settled(want, switch):
            self._dispatch(FaultCleared(Fault.LOCK))

    def _check_feedback(self, now: float) -> None:
        contactor = self.devices.contactor
        closed = contactor.feedback_closed() if contactor is not None else None
        if closed is None:
            return
        faults = self._session.faults
        verdict = self.feedback.observe(contactor.commanded_closed, closed, now)
        if verdict is Feedback.WELDED and Fault.WELDED not in faults:
            log.critical("connector %d: main contactor welded (closed while commanded open)", self._evse_id)
            self._dispatch(FaultRaised(Fault.WELDED))
        elif verdict is Feedback.FAILED_CLOSE and Fault.CONTACTOR not in faults:
            log.error("connector %d: main contactor did not close", self._evse_id)
            self._open_contactor()
            self._dispatch(FaultRaised(Fault.CONTACTOR))
        elif verdict is Feedback.AGREES and not contactor.commanded_closed and Fault.WELDED in faults:
            log.info("connector %d: main contactor reads open again", self._evse_id)
            self._dispatch(FaultCleared(Fault.WELDED))

    def _show_lights(self) -> None:
        if not self.devices.lights:
            return
        patterns = LIGHTS[indication(self._session, self._online())]
        for name, pattern in zip(LIGHT_NAMES, patterns, strict=False):
            light = self.devices.lights.get(name)
            if light is not None:
                light.show(pattern)

    # ---- UnlockConnector -------------------------------------------------------------

    async def unlock(self, timeout_s: float | None = None) -> bool | None:
        """OCPP 1.6 §5.18: True once the lock reads unlocked, False if it does not get there
        (the first move failed, or ``timeout_s``); None when there is no lock. Call it after
        the transaction was stopped: the lock opens once the contactor is open."""
        lock = self.devices.lock
        if lock is None:
            return None
        if timeout_s is None:
            timeout_s = self.section.lock_pulse_s + self.section.lock_check_s + 2.0
        deadline = self._monotonic() + timeout_s
        while self._monotonic() < deadline:
            if self.lock_plan.settled(False, lock.is_locked()):
                return True
            if self.lock_plan.want is False and self.lock_plan.failures:
                return False
            await asyncio.sleep(CHECK_INTERVAL_S)
        return False


# ---- building from the config ----------------------------------------------------------


def build_safety(section: Any, factory: Any) -> ConnectorSafety:
    """The devices named in a ``[connectors.gpio]`` table (agent.app.config.GpioSection)."""
    from drivers.gpio import (
        GpioCableLock,
        GpioContactor,
        GpioPulseOutput,
        GpioStatusLight,
        GpioTripInput,
        PinSpec,
    )

    def spec(pin: Any) -> PinSpec | None:
        return None if pin is None else PinSpec(pin.pin, pin.active_high, pin.pull_up)

    s = section
    devices = SafetyDevices(
        contactor=GpioContactor(spec(s.contactor), spec(s.contactor_feedback), factory) if s.contactor else None,
        rcd=GpioTripInput(spec(s.rcd), factory) if s.rcd else None,
        rcm_test=GpioPulseOutput(spec(s.rcm_test), factory) if s.rcm_test else None,
        emergency_stop=GpioTripInput(spec(s.emergency_stop), factory) if s.emergency_stop else None,
        stop_button=GpioTripInput(spec(s.stop_button), factory) if s.stop_button else None,
        lock=(GpioCableLock(spec(s.lock_direction), spec(s.lock_motor), spec(s.lock_feedback), factory)
              if s.lock_motor else None),
        lights={name: GpioStatusLight(spec(getattr(s, f"led_{name}")), factory)
                for name in LIGHT_NAMES if getattr(s, f"led_{name}") is not None},
    )
    return ConnectorSafety(devices, section)


def build_gpio(config: Any) -> tuple[Any, dict[int, ConnectorSafety]]:
    """(pin factory or None, {connector id: ConnectorSafety}) for every ``[connectors.gpio]``."""
    sections = {c.id: c.gpio for c in config.connectors if c.gpio is not None}
    if not sections:
        return None, {}
    from drivers.gpio import pin_factory

    factory = pin_factory(config.gpio.factory, config.gpio.host, config.gpio.port)
    return factory, {connector_id: build_safety(section, factory) for connector_id, section in sections.items()}
