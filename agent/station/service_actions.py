"""The station side of the service page's hardware tests (agent/service/ports.py ServiceActions).

It reaches the station through ``Station.hardware`` (each connector's devices, fixed after
start-up), ``Station.view`` (what its session is doing), ``Station.read_meter`` (the one path
that reads a meter) and ``card_reader``, ``authorizer``, ``history``; and it puts thin wrappers
in front of three devices, installed before the station runs:

- the card reader (``CardTap``): while a card test waits, the next card goes to the test and
  starts nothing; otherwise every card goes to the station as before;
- each status LED (``TestableLight``): the LED test overrides what the station shows for a
  moment, then the station's pattern is back;
- the GPIO main contactor (``TestableContactor``): a contactor test closes it behind the
  station's back only under the interlocks below; any open the safety code commands (an RCD
  trip, an emergency stop, a failed check) ends the test at once.

Interlocks (pure functions, tests/service/test_interlocks.py): a contactor test runs only with
no EV plugged (pilot A), no cable in a socket outlet, no session (no transaction, no accepted
card waiting for an EV), no fault and no trip input active, on a board that answers (else
whether an EV is there is not known); and only while held: a dead man's switch that opens
the contactor when the page has not renewed it within ``HOLD_RENEW_S``, or after
``MAX_HOLD_S`` in all. They are checked again every ``CHECK_S`` while it is closed. The RCD
self-test runs the safety code's own self-test (``ConnectorSafety.rcm``), only with no session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from agent.core.safety_rules import LIGHT_NAMES, SelfTest
from agent.station.connector import LOST_AFTER_FAILURES, ConnectorHardware
from agent.service.ports import CardTest, ContactorTestState, MeterTest, SelfTestResult, TestRefused
from drivers.interfaces import LightPattern, PilotState

log = logging.getLogger(__name__)

HOLD_RENEW_S = 1.0  # the page must renew a contactor test within this, or it opens
MAX_HOLD_S = 30.0  # and it opens after this in all, renewed or not
CHECK_S = 0.05  # how often the interlocks are checked while the contactor is held
LIGHT_STEP_S = 0.8  # each LED on alone for this long in the LED test


# ---- the interlocks: pure ------------------------------------------------------------------


@dataclass(frozen=True)
class ContactorFacts:
    """What a contactor test depends on, read from the connector at one moment."""

    has_contactor: bool
    pilot: PilotState | None  # None: the board does not answer (what is plugged is unknown)
    cable_in_socket: bool
    transaction: bool
    authorized: bool  # a card accepted, the session waiting for the EV
    faults: tuple[str, ...]
    trips: tuple[str, ...]  # safety inputs active now: "rcd", "emergency_stop"


def contactor_refusal(facts: ContactorFacts) -> TestRefused | None:
    """Why the contactor may not be closed for a test now, or None when it may."""
    if not facts.has_contactor:
        return TestRefused("no_device", "this connector has no main contactor on GPIO ([connectors.gpio] contactor); "
                                        "a board closes its own relay only for an EV in state C")
    if facts.pilot is None:
        return TestRefused("board_silent", "the board does not answer: whether an EV is plugged in cannot be known")
    if facts.pilot in (PilotState.B, PilotState.C, PilotState.D):
        return TestRefused("ev_plugged", f"an EV is plugged in (pilot state {facts.pilot.value}): unplug it first")
    if facts.pilot is not PilotState.A:
        return TestRefused("fault", f"the pilot is in state {facts.pilot.value} (error or not available)")
    if facts.cable_in_socket:
        return TestRefused("ev_plugged", "a cable is in the socket outlet: its other end would be live; take it out first")
    if facts.transaction or facts.authorized:
        return TestRefused("session", "a charging session is running on this connector")
    if facts.trips:
        return TestRefused("trip", f"a safety input is active: {', '.join(facts.trips)}")
    if facts.faults:
        return TestRefused("fault", f"the connector is faulted: {', '.join(facts.faults)}")
    return None


def rcd_test_refusal(has_rcd_test: bool, transaction: bool, authorized: bool, running: bool) -> TestRefused | None:
    """Why the RCD/RCM self-test may not run now: it holds the power off while it runs."""
    if not has_rcd_test:
        return TestRefused("no_device", "this connector has no RCM self-test wire ([connectors.gpio] rcm_test and rcd)")
    if transaction or authorized:
        return TestRefused("session", "a charging session is running on this connector")
    if running:
        return TestRefused("busy", "a self-test is already running")
    return None


@dataclass
class Deadman:
    """A dead man's switch: held while renewed within ``renew_s``, never longer than ``max_s``.
    Times are monotonic seconds passed in."""

    started: float
    renew_s: float = HOLD_RENEW_S
    max_s: float = MAX_HOLD_S
    last: float | None = None

    def __post_init__(self) -> None:
        if self.last is None:
            self.last = self.started

    def renew(self, now: float) -> None:
        self.last = now

    def expired(self, now: float) -> str | None:
        """Why the hold is over, or None while it holds."""
        if now - self.started >= self.max_s:
            return f"held for {self.max_s:g} s, the longest a test may"
        if now - self.last > self.renew_s:
            return "released (not renewed)"
        return None

    def left(self, now: float) -> float:
        return max(0.0, min(self.last + self.renew_s, self.started + self.max_s) - now)


# ---- the device wrappers ---------------------------------------------------------------------


class CardTap:
    """A CardReader that hands the next card to a waiting card test instead of the station."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._waiter: asyncio.Future[str] | None = None

    async def cards(self) -> AsyncIterator[str]:
        async for id_tag in self.inner.cards():
            if self._waiter is not None and not self._waiter.done():
                log.info("card %s: taken by the service page's card test (starts nothing)", id_tag)
                self._waiter.set_result(id_tag)
                continue
            yield id_tag

    async def next(self, timeout_s: float) -> str | None:
        if self._waiter is not None and not self._waiter.done():
            raise TestRefused("busy", "a card test is already waiting for a card")
        self._waiter = asyncio.get_running_loop().create_future()
        log.info("service page's card test: waiting up to %g s for a card", timeout_s)
        try:
            return await asyncio.wait_for(asyncio.shield(self._waiter), timeout_s)
        except TimeoutError:
            return None
        finally:
            self._waiter.cancel()
            self._waiter = None

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:  # anything else the reader offers
        return getattr(self.inner, name)


class TestableLight:
    """A StatusLight whose pattern a test may override for a moment."""

    __test__ = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.wanted = LightPattern.OFF
        self.override: LightPattern | None = None

    def show(self, pattern: LightPattern) -> None:
        self.wanted = pattern
        if self.override is None:
            self.inner.show(pattern)

    def set_override(self, pattern: LightPattern | None) -> None:
        self.override = pattern
        self.inner.show(pattern if pattern is not None else self.wanted)

    def release(self) -> None:
        self.inner.release()


class TestableContactor:
    """The main contactor, which a contactor test may hold closed.

    To the safety code it is the contactor it commanded: ``commanded_closed`` is its own
    command, and while a test holds it closed the auxiliary contact has no say
    (``feedback_closed`` None), so the test is not taken for a welded contactor. Every open the
    safety code commands (``switch(False)``) opens it at once and ends the test."""

    __test__ = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.station_closed = bool(inner.commanded_closed)
        self.test_closed = False
        self.ended: str | None = None
        self.on_safety_open: Callable[[], None] = lambda: None

    def switch(self, closed: bool) -> None:
        self.station_closed = closed
        if not closed and self.test_closed:
            self.test_closed = False
            self.ended = "opened by the station's safety code"
            self.on_safety_open()
        self.inner.switch(closed or self.test_closed)

    @property
    def commanded_closed(self) -> bool:
        return self.station_closed

    def feedback_closed(self) -> bool | None:
        return None if self.test_closed else self.inner.feedback_closed()

    def test_switch(self, closed: bool) -> None:
        self.test_closed = closed
        self.inner.switch(closed or self.station_closed)

    def test_feedback(self) -> bool | None:
        return self.inner.feedback_closed()

    def release(self) -> None:
        self.test_closed = False
        self.inner.release()


# ---- the actions ---------------------------------------------------------------------------------


@dataclass
class _ContactorTest:
    deadman: Deadman
    task: asyncio.Task[None] | None = None
    ended: str | None = None


class StationServiceActions:
    """ServiceActions over a Station; built (and its wrappers installed) before it runs."""

    def __init__(self, station: Any, show_text: Callable[[int, str, float], None] | None = None,
                 display_connectors: set[int] | frozenset[int] = frozenset(),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.station = station
        self.show_text = show_text  # (connector id, text, seconds): puts a message on its display
        self.display_connectors = frozenset(display_connectors)
        self._monotonic = monotonic
        self._contactor_tests: dict[int, _ContactorTest] = {}
        self._rcd_running: set[int] = set()
        self.card_tap: CardTap | None = None
        if station.card_reader is not None:
            self.card_tap = station.card_reader = CardTap(station.card_reader)
        for evse_id in station.evses():
            devices = getattr(station.hardware(evse_id).safety, "devices", None)
            if devices is None:
                continue
            devices.lights = {name: TestableLight(light) for name, light in devices.lights.items()}
            if devices.contactor is not None:
                devices.contactor = TestableContactor(devices.contactor)
                devices.contactor.on_safety_open = lambda cid=evse_id: self._safety_opened(cid)

    # ---- what there is --------------------------------------------------------------

    def connector_ids(self) -> list[int]:
        return sorted(self.station.evses())

    def capabilities(self, connector_id: int) -> dict[str, bool]:
        hardware = self._hardware(connector_id)
        devices = getattr(hardware.safety, "devices", None)
        return {
            "meter": hardware.meter is not None,
            "lights": bool(devices and devices.lights),
            "display": connector_id in self.display_connectors and self.show_text is not None,
            "rcd_test": bool(devices and devices.rcm_test is not None and devices.rcd is not None),
            "contactor": bool(devices and devices.contactor is not None),
            "card_reader": self.card_tap is not None,
        }

    def _hardware(self, connector_id: int) -> ConnectorHardware:
        if connector_id not in self.station.evses():
            raise TestRefused("no_connector", f"there is no connector {connector_id}")
        return self.station.hardware(connector_id)

    # ---- meter, card, lights, display ---------------------------------------------------

    async def read_meter(self, connector_id: int) -> MeterTest:
        if self._hardware(connector_id).meter is None:
            raise TestRefused("no_device", f"connector {connector_id} has no meter of its own")
        started = self._monotonic()
        reading = await self.station.read_meter(connector_id)  # counted as any read of this meter
        if reading is None:
            health = self.station.view(connector_id).meter
            raise TestRefused("device_error", f"the meter did not answer: {health.last_error if health else None}")
        took_ms = (self._monotonic() - started) * 1000
        log.info("connector %d: service test: meter read: %.0f Wh, %.0f W", connector_id, reading.energy_wh, reading.power_w)
        return MeterTest(connector_id, reading.energy_wh, reading.power_w, tuple(reading.current_a),
                         tuple(reading.voltage_v), round(took_ms, 1))

    async def next_card(self, timeout_s: float) -> CardTest:
        if self.card_tap is None:
            raise TestRefused("no_device", "no card reader is configured ([card_reader] driver)")
        id_tag = await self.card_tap.next(timeout_s)
        if id_tag is None:
            raise TestRefused("timeout", f"no card was tapped within {timeout_s:g} s")
        verdict = await self.station.authorizer.authorize(id_tag, self.station.backend)
        log.info("card %s: service test: %s (%s)", id_tag, "accepted" if verdict.accepted else "refused", verdict.why)
        return CardTest(id_tag, verdict.accepted, verdict.why)

    async def test_lights(self, connector_id: int) -> list[str]:
        lights = getattr(getattr(self._hardware(connector_id).safety, "devices", None), "lights", {})
        if not lights:
            raise TestRefused("no_device", f"connector {connector_id} has no status LEDs on GPIO")
        order = [name for name in LIGHT_NAMES if name in lights]
        log.info("connector %d: service test: status LEDs %s", connector_id, ", ".join(order))
        try:
            for name in order:
                for other, light in lights.items():
                    light.set_override(LightPattern.ON if other == name else LightPattern.OFF)
                await asyncio.sleep(LIGHT_STEP_S)
        finally:
            for light in lights.values():
                light.set_override(None)
        return order

    def test_display(self, connector_id: int, text: str, seconds: float) -> None:
        if not self.capabilities(connector_id)["display"]:
            raise TestRefused("no_device", f"connector {connector_id} has no display")
        log.info("connector %d: service test: display", connector_id)
        self.show_text(connector_id, text, seconds)

    # ---- RCD self-test ---------------------------------------------------------------------

    async def rcd_self_test(self, connector_id: int) -> SelfTestResult:
        safety = self._hardware(connector_id).safety
        devices = getattr(safety, "devices", None)
        view = self.station.view(connector_id)
        refusal = rcd_test_refusal(
            bool(devices and devices.rcm_test is not None and devices.rcd is not None),
            view.transaction_id_tag is not None, view.authorized or view.authorizing,
            connector_id in self._rcd_running or (devices is not None and safety.rcm.state is SelfTest.RUNNING),
        )
        if refusal is not None:
            raise refusal
        section = safety.section
        self._rcd_running.add(connector_id)
        log.info("connector %d: service test: RCM self-test", connector_id)
        try:
            # The safety code's own self-test: it holds power off while it runs and judges it.
            safety.rcm.start(self._monotonic())
            devices.rcm_test.pulse(section.rcm_test_pulse_s)
            deadline = self._monotonic() + section.rcm_test_pulse_s + section.rcm_test_timeout_s + 1.0
            while safety.rcm.state is SelfTest.RUNNING and self._monotonic() < deadline:
                await asyncio.sleep(CHECK_S)
        finally:
            self._rcd_running.discard(connector_id)
        state = safety.rcm.state
        passed = state is SelfTest.PASSED
        detail = {SelfTest.PASSED: "the RCM tripped on the test current and reset",
                  SelfTest.FAILED: f"no trip within {section.rcm_test_timeout_s:g} s, or it stayed tripped"}.get(
            state, "no result: the safety check is not running")
        log.log(logging.INFO if passed else logging.ERROR, "connector %d: service test: RCM self-test %s",
                connector_id, "passed" if passed else "FAILED")
        return SelfTestResult(connector_id, passed, detail)

    # ---- contactor test --------------------------------------------------------------------

    def contactor_facts(self, connector_id: int) -> ContactorFacts:
        devices = getattr(self._hardware(connector_id).safety, "devices", None)
        view = self.station.view(connector_id)
        silent = view.board_status is None or view.board.failed_reads >= LOST_AFTER_FAILURES
        trips = tuple(name for name in ("rcd", "emergency_stop")
                      if devices is not None and getattr(devices, name) is not None and getattr(devices, name).is_active())
        return ContactorFacts(
            has_contactor=bool(devices and isinstance(devices.contactor, TestableContactor)),
            pilot=None if silent else view.pilot,
            cable_in_socket=view.cable_in_socket,
            transaction=view.transaction_id_tag is not None,
            authorized=view.authorized or view.authorizing,
            faults=tuple(sorted(f.value for f in view.faults)),
            trips=trips,
        )

    def contactor_hold(self, connector_id: int) -> ContactorTestState:
        refusal = contactor_refusal(self.contactor_facts(connector_id))
        if refusal is not None:
            self._open(connector_id, f"refused: {refusal}")
            raise refusal
        now = self._monotonic()
        test = self._contactor_tests.get(connector_id)
        contactor = self._contactor(connector_id)
        if test is None or test.ended is not None:
            test = self._contactor_tests[connector_id] = _ContactorTest(Deadman(now))
            contactor.test_switch(True)
            log.warning("connector %d: service test: main contactor CLOSED (no EV, held from the service page)", connector_id)
            test.task = asyncio.get_running_loop().create_task(self._watch(connector_id, test), name=f"contactor-test-{connector_id}")
        else:
            test.deadman.renew(now)
        return self._state(connector_id)

    def contactor_release(self, connector_id: int) -> ContactorTestState:
        self._hardware(connector_id)
        self._open(connector_id, "released")
        return self._state(connector_id)

    def contactor_state(self, connector_id: int) -> ContactorTestState:
        return self._state(connector_id)

    def _contactor(self, connector_id: int) -> TestableContactor:
        return self._hardware(connector_id).safety.devices.contactor

    def _state(self, connector_id: int) -> ContactorTestState:
        test = self._contactor_tests.get(connector_id)
        devices = getattr(self._hardware(connector_id).safety, "devices", None)
        contactor = devices.contactor if devices is not None else None
        if not isinstance(contactor, TestableContactor):
            return ContactorTestState(connector_id, False, None, 0.0, test.ended if test else None)
        closed = contactor.test_closed
        left = test.deadman.left(self._monotonic()) if test is not None and closed else 0.0
        return ContactorTestState(connector_id, closed, contactor.test_feedback(), round(left, 2),
                                  test.ended if test is not None else None)

    async def _watch(self, connector_id: int, test: _ContactorTest) -> None:
        """Open the contactor once the hold ends or an interlock breaks."""
        try:
            while test.ended is None:
                why = test.deadman.expired(self._monotonic())
                refusal = contactor_refusal(self.contactor_facts(connector_id))
                if refusal is not None:
                    why = f"interlock: {refusal}"
                if why is not None:
                    self._open(connector_id, why)
                    return
                await asyncio.sleep(CHECK_S)
        finally:  # cancelled (the agent stops) or failed: open
            if test.ended is None:
                self._open(connector_id, "the test ended")

    def _open(self, connector_id: int, why: str) -> None:
        test = self._contactor_tests.get(connector_id)
        devices = getattr(self._hardware(connector_id).safety, "devices", None)
        contactor = devices.contactor if devices is not None else None
        if isinstance(contactor, TestableContactor) and contactor.test_closed:
            contactor.test_switch(False)
            log.warning("connector %d: service test: main contactor opened (%s)", connector_id, why)
        if test is not None and test.ended is None:
            test.ended = why
            if test.task is not None and test.task is not asyncio.current_task():
                test.task.cancel()

    def _safety_opened(self, connector_id: int) -> None:
        test = self._contactor_tests.get(connector_id)
        if test is not None and test.ended is None:
            log.warning("connector %d: service test: the safety code opened the main contactor", connector_id)
            test.ended = "opened by the station's safety code"
            if test.task is not None:
                test.task.cancel()

    # ---- support -------------------------------------------------------------------------

    def history(self, limit: int) -> list[dict[str, Any]]:
        return self.station.history.recent(limit)
