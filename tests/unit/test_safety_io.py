"""ConnectorSafety (agent.station.safety_io) against fakes of our own driver interfaces: the thread
handoff of a trip, the contactor following the session, the offer held back until the lock
and the RCM self-test allow power."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from agent.app.config import GpioSection
from agent.station.safety_io import ConnectorSafety, SafetyDevices
from agent.core.session import (
    AuthorizationResult,
    CardPresented,
    ConnectorStatus,
    Fault,
    OfferCurrent,
    PilotChanged,
    Session,
    StopReason,
    StartTransaction,
    StopTransaction,
    Tick,
    TransactionRecorded,
)
from drivers.interfaces import PilotState


class FakeContactor:
    def __init__(self) -> None:
        self.commanded_closed = False
        self.welded = False
        self.switches: list[tuple[bool, str]] = []

    def switch(self, closed: bool) -> None:
        self.commanded_closed = closed
        self.switches.append((closed, threading.current_thread().name))

    def feedback_closed(self) -> bool | None:
        return self.commanded_closed or self.welded

    def release(self) -> None:
        self.commanded_closed = False


class FakeInput:
    def __init__(self) -> None:
        self.active = False
        self.callback = None

    def is_active(self) -> bool:
        return self.active

    def on_change(self, callback) -> None:
        self.callback = callback

    def press_from_a_thread(self, active: bool) -> None:
        """As gpiozero does: the callback runs on a thread of the driver's."""
        self.active = active
        thread = threading.Thread(target=self.callback, args=(active,), name="gpio-callback")
        thread.start()
        thread.join()

    def release(self) -> None:
        pass


class FakePulse:
    def __init__(self, rcd: FakeInput, works: bool = True) -> None:
        self.rcd, self.works, self.pulses = rcd, works, 0

    def pulse(self, seconds: float) -> None:
        self.pulses += 1
        self.rcd.active = self.works  # the test current trips a working RCM

    def release(self) -> None:
        pass


class FakeLock:
    def __init__(self) -> None:
        self.locked = False
        self.jammed = False  # the motor turns, the pin does not move
        self.moves: list[bool] = []

    def move(self, lock: bool, seconds: float) -> None:
        self.moves.append(lock)
        if not self.jammed:
            self.locked = lock

    def is_locked(self) -> bool | None:
        return self.locked

    def release(self) -> None:
        pass


class Rig:
    """A connector as the station holds it, with ``dispatch`` doing what Station.dispatch does."""

    def __init__(self, devices: SafetyDevices, **settings) -> None:
        self.now = 0.0
        self.safety = ConnectorSafety(devices, GpioSection(**settings), monotonic=lambda: self.now)
        self.conn = SimpleNamespace(id=1, session=Session(max_current_a=16), commands=asyncio.Queue())
        self.out: list = []
        session = self.conn.session
        self.safety.attach(1, session, dispatch=self.dispatch, board_fault=lambda: None, online=lambda: True,
                           restate_offer=lambda: self.conn.commands.put_nowait([OfferCurrent(session.offered_a or 0.0)]))

    def dispatch(self, event) -> None:
        commands = self.conn.session.handle(event, self.now)
        self.out += commands
        self.safety.session_changed()
        for command in commands:
            if isinstance(command, StartTransaction):  # what the station does once the start is stored
                self.dispatch(TransactionRecorded(command.start))

    def charge(self) -> None:
        self.dispatch(Tick())
        self.dispatch(PilotChanged(PilotState.B))
        self.dispatch(CardPresented("AA"))
        self.dispatch(AuthorizationResult("AA", True))
        self.dispatch(PilotChanged(PilotState.C))

    def check_at(self, now: float) -> None:
        self.now = now
        self.safety.check()

    def stops(self) -> list[StopTransaction]:
        return [c for c in self.out if isinstance(c, StopTransaction)]


async def test_rcd_callback_is_handed_to_the_loop_which_opens_the_contactor():
    contactor, rcd = FakeContactor(), FakeInput()
    rig = Rig(SafetyDevices(contactor=contactor, rcd=rcd))
    rig.charge()
    assert contactor.commanded_closed  # charging in C: closed at once
    loop_thread = threading.current_thread().name
    rcd.press_from_a_thread(True)
    await asyncio.sleep(0)  # one turn of the loop: call_soon_threadsafe delivers it
    assert contactor.switches[-1] == (False, loop_thread)
    assert rig.conn.session.status() is ConnectorStatus.FAULTED and rig.conn.session.fault is Fault.RCD
    assert rig.stops() == [StopTransaction(StopReason.OTHER, None)]
    assert len(rig.safety.trip_latencies_s) == 1
    assert rig.safety.holds(Fault.RCD)  # the board poll must not clear it
    rcd.active = False
    rig.check_at(1.0)
    assert Fault.RCD not in rig.conn.session.faults and not rig.safety.holds(Fault.RCD)


async def test_emergency_stop_found_by_the_check_stops_with_emergency_stop():
    contactor, estop = FakeContactor(), FakeInput()
    rig = Rig(SafetyDevices(contactor=contactor, emergency_stop=estop))
    rig.charge()
    estop.active = True  # the edge was lost: the periodic check still sees it
    rig.check_at(1.0)
    assert not contactor.commanded_closed
    assert rig.stops() == [StopTransaction(StopReason.EMERGENCY_STOP, None)]
    estop.active = False
    rig.check_at(2.0)
    assert rig.conn.session.status() is ConnectorStatus.FINISHING


async def test_stop_button_stops_the_running_session_with_local():
    contactor, button = FakeContactor(), FakeInput()
    rig = Rig(SafetyDevices(contactor=contactor, stop_button=button))
    rig.charge()
    button.press_from_a_thread(True)
    await asyncio.sleep(0)
    assert rig.stops() == [StopTransaction(StopReason.LOCAL, None)] and not contactor.commanded_closed


async def test_welded_contactor_is_found_after_the_debounce():
    contactor = FakeContactor()
    rig = Rig(SafetyDevices(contactor=contactor), feedback_debounce_s=0.25)
    rig.charge()
    contactor.welded = True
    rig.dispatch(PilotChanged(PilotState.B))  # the EV pauses: commanded open
    assert not contactor.commanded_closed
    rig.check_at(0.1)
    rig.check_at(0.3)
    assert Fault.WELDED not in rig.conn.session.faults
    rig.check_at(0.36)
    assert Fault.WELDED in rig.conn.session.faults and rig.stops()[-1].reason is StopReason.OTHER
    contactor.welded = False
    rig.check_at(0.4)
    rig.check_at(0.7)
    assert Fault.WELDED not in rig.conn.session.faults


async def test_the_transaction_waits_for_the_lock_then_the_self_test_then_power():
    contactor, rcd, lock = FakeContactor(), FakeInput(), FakeLock()
    test_wire = FakePulse(rcd)
    rig = Rig(SafetyDevices(contactor=contactor, rcd=rcd, rcm_test=test_wire, lock=lock),
              lock_pulse_s=0.5, lock_check_s=0.1, rcm_test_pulse_s=0.25, rcm_test_timeout_s=1.0)
    rig.charge()  # authorized and plugged: no transaction before the cable is locked (OCTT TC_024)
    assert rig.conn.session.transaction is None and rig.conn.session.status() is ConnectorStatus.PREPARING
    rig.check_at(0.1)  # the lock starts its move
    assert lock.moves == [True]
    rig.check_at(0.3)
    assert rig.conn.session.transaction is None  # the lock move is not judged yet
    rig.check_at(0.7)  # locked: the transaction begins, and with it the RCM self-test
    assert rig.conn.session.transaction is not None and test_wire.pulses == 1
    assert rig.safety.gate_offer(16.0) == 0.0 and not contactor.commanded_closed
    rig.check_at(0.8)  # the RCM trips on its test current
    rcd.active = False  # the pulse is over, the RCM is quiet again
    rig.check_at(1.0)
    assert rig.safety.power_allowed() and contactor.commanded_closed
    assert rig.conn.commands.get_nowait() == [OfferCurrent(16.0)]  # the held offer, restated
    assert Fault.RCD not in rig.conn.session.faults  # the self-test's own trip is no fault


async def test_a_lock_that_does_not_lock_starts_no_transaction_until_it_does():
    lock = FakeLock()
    lock.jammed = True
    rig = Rig(SafetyDevices(lock=lock), lock_pulse_s=0.1, lock_check_s=0.1, lock_retry_s=0.2, lock_attempts=2)
    rig.charge()
    for now in (0.1, 0.3, 0.5, 0.7, 0.9):
        rig.check_at(now)
    assert rig.conn.session.fault is Fault.LOCK and rig.conn.session.transaction is None
    assert not [c for c in rig.out if isinstance(c, StartTransaction)]
    lock.jammed = False  # freed: the next retry locks
    for now in (1.1, 1.3, 1.5, 1.7):
        rig.check_at(now)
    assert rig.conn.session.transaction is not None and not rig.conn.session.faults


async def test_failed_self_test_ends_the_session_without_power():
    contactor, rcd = FakeContactor(), FakeInput()
    rig = Rig(SafetyDevices(contactor=contactor, rcd=rcd, rcm_test=FakePulse(rcd, works=False)),
              rcm_test_timeout_s=0.5)
    rig.charge()
    rig.check_at(0.6)
    assert rig.conn.session.fault is Fault.RCM_TEST and rig.stops() == [StopTransaction(StopReason.OTHER, None)]
    assert not any(closed for closed, _ in contactor.switches)
    rig.dispatch(PilotChanged(PilotState.A))
    rig.check_at(1.0)  # unplugged: the next EV gets a new test
    assert not rig.conn.session.faults
