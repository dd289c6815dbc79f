"""The pure rules of the GPIO safety I/O (agent.core.safety_rules) and the session faults they
raise: time passed in, no pins, no event loop."""

from __future__ import annotations

import pytest

from agent.core.safety_rules import (
    LIGHTS,
    Feedback,
    FeedbackWatch,
    Indication,
    LockPlan,
    MoveBudget,
    RcmSelfTest,
    SelfTest,
    contactor_should_close,
    indication,
)
from agent.core.session import (
    AuthorizationResult,
    CardPresented,
    ConnectorStatus,
    Fault,
    FaultCleared,
    FaultRaised,
    OfferCurrent,
    PilotChanged,
    ReservationMade,
    Reservation,
    Session,
    StopReason,
    StopTransaction,
    Tick,
)
from drivers.interfaces import LightPattern, PilotState
from tests.unit.test_session import charging_session

A, B, C = PilotState.A, PilotState.B, PilotState.C


# ---- the main contactor ----------------------------------------------------------------


def test_contactor_closes_only_with_an_offer_in_c_and_nothing_against_it():
    s = charging_session()
    assert contactor_should_close(s, power_allowed=True)
    assert not contactor_should_close(s, power_allowed=False)  # lock open, self-test running, trip
    s.handle(PilotChanged(B), 5)  # the EV pauses: open at once
    assert not contactor_should_close(s, True)
    s.handle(PilotChanged(C), 6)
    s.handle(FaultRaised(Fault.LOCK), 7)  # any fault
    assert not contactor_should_close(s, True)


def test_contactor_stays_open_without_a_transaction_or_below_the_minimum_offer():
    s = Session(max_current_a=16)
    s.handle(PilotChanged(C), 0)
    assert not contactor_should_close(s, True)
    s = Session(max_current_a=16, limit_a=5.0)  # smart charging: under 6 A = paused
    s.handle(PilotChanged(B), 1)
    s.handle(CardPresented("AA"), 2)
    s.handle(AuthorizationResult("AA", True), 3)
    s.handle(PilotChanged(C), 4)
    assert s.transaction is not None and not contactor_should_close(s, True)


def test_feedback_is_believed_after_the_debounce_only():
    watch = FeedbackWatch(debounce_s=0.25)
    assert watch.observe(False, False, 0.0) is Feedback.PENDING
    assert watch.observe(False, False, 0.3) is Feedback.AGREES
    assert watch.observe(True, False, 1.0) is Feedback.PENDING  # commanded closed: contacts take time
    assert watch.observe(True, True, 1.05) is Feedback.PENDING
    assert watch.observe(True, True, 1.4) is Feedback.AGREES


def test_closed_while_commanded_open_is_welded():
    watch = FeedbackWatch(debounce_s=0.25)
    watch.observe(True, True, 0.0)
    assert watch.observe(False, True, 1.0) is Feedback.PENDING  # a contactor takes ms to drop out
    assert watch.observe(False, True, 1.2) is Feedback.PENDING
    assert watch.observe(False, True, 1.25) is Feedback.WELDED


def test_open_while_commanded_closed_is_a_failed_close():
    watch = FeedbackWatch(debounce_s=0.25)
    watch.observe(True, False, 0.0)
    assert watch.observe(True, False, 0.3) is Feedback.FAILED_CLOSE
    assert watch.observe(True, True, 0.35) is Feedback.PENDING  # a bounce restarts the debounce


# ---- the cable lock --------------------------------------------------------------------


def test_move_budget_is_ten_moves_per_sixty_seconds():
    budget = MoveBudget(10, 60.0)
    assert all(budget.take(t) for t in range(10))
    assert not budget.take(30.0)
    assert budget.take(60.0)  # the first move left the window


def test_lock_moves_then_is_judged_after_pulse_and_check():
    plan = LockPlan(pulse_s=1.0, check_s=0.5, retry_s=5.0, attempts=3)
    assert plan.step(True, False, 0.0) is True  # start a move towards locked
    assert plan.step(True, False, 1.0) is None  # still moving
    assert not plan.settled(True, True)  # the switch may flip early; the move is judged later
    assert plan.step(True, True, 1.5) is None
    assert plan.settled(True, True) and plan.failures == 0


def test_failed_lock_is_retried_after_the_retry_interval_then_fails():
    plan = LockPlan(pulse_s=1.0, check_s=0.5, retry_s=5.0, attempts=2)
    assert plan.step(True, False, 0.0) is True
    assert plan.step(True, False, 1.5) is None and plan.failures == 1  # judged: did not lock
    assert plan.step(True, False, 6.0) is None  # retry_s after the judgement
    assert plan.step(True, False, 6.5) is True
    assert plan.step(True, False, 8.0) is None and plan.failed
    assert plan.step(True, False, 13.0) is True  # it goes on trying, within the budget
    assert plan.step(True, True, 14.5) is None and not plan.failed  # got there: the fault clears


def test_lock_moves_respect_the_budget():
    plan = LockPlan(pulse_s=0.1, check_s=0.0, retry_s=0.0, attempts=100, budget=MoveBudget(3, 60.0))
    moves = [t for t in range(20) if plan.step(True, False, float(t)) is not None]
    assert len(moves) == 3


def test_lock_without_a_switch_is_believed_where_it_was_moved():
    plan = LockPlan(pulse_s=1.0, check_s=0.0)
    assert plan.step(True, None, 0.0) is True
    assert plan.position(None) is None  # under way
    assert plan.step(True, None, 1.0) is None
    assert plan.settled(True, None)
    assert plan.step(False, None, 2.0) is False


def test_a_new_target_starts_over():
    plan = LockPlan(pulse_s=1.0, check_s=0.0, retry_s=10.0, attempts=1)
    plan.step(True, False, 0.0)
    plan.step(True, False, 1.0)
    assert plan.failed
    assert plan.step(False, False, 2.0) is None and not plan.failed  # already unlocked


# ---- the RCM self-test ----------------------------------------------------------------


def test_self_test_passes_when_the_trip_comes_and_goes():
    test = RcmSelfTest(pulse_s=0.25, timeout_s=1.0)
    test.start(0.0)
    assert test.step(False, 0.1) is SelfTest.RUNNING
    assert test.step(True, 0.2) is SelfTest.RUNNING
    assert test.step(False, 0.3) is SelfTest.PASSED


def test_self_test_fails_without_a_trip():
    test = RcmSelfTest(pulse_s=0.25, timeout_s=1.0)
    test.start(0.0)
    assert test.step(False, 0.9) is SelfTest.RUNNING
    assert test.step(False, 1.01) is SelfTest.FAILED


def test_self_test_fails_when_the_trip_stays():
    test = RcmSelfTest(pulse_s=0.25, timeout_s=1.0)
    test.start(0.0)
    test.step(True, 0.1)
    assert test.step(True, 1.0) is SelfTest.RUNNING
    assert test.step(True, 1.3) is SelfTest.FAILED


# ---- status LEDs -------------------------------------------------------------------------


def test_every_indication_has_its_own_pattern():
    assert set(LIGHTS) == set(Indication)
    assert len(set(LIGHTS.values())) == len(LIGHTS)


@pytest.mark.parametrize(
    ("setup", "online", "expected"),
    [
        (lambda s: None, True, Indication.AVAILABLE),
        (lambda s: None, False, Indication.OFFLINE),
        (lambda s: s.handle(CardPresented("AA"), 1), True, Indication.AUTHORIZING),
        (lambda s: s.handle(ReservationMade(Reservation(1, "AA", None, 100.0)), 1), True, Indication.RESERVED),
        (lambda s: s.handle(FaultRaised(Fault.RCD), 1), True, Indication.FAULT),
    ],
)
def test_indication_follows_the_session(setup, online, expected):
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    setup(s)
    assert indication(s, online) is expected


def test_indication_while_charging_and_suspended_ignores_the_link():
    s = charging_session()
    assert indication(s, False) is Indication.CHARGING
    assert LIGHTS[Indication.CHARGING] == (LightPattern.OFF, LightPattern.ON, LightPattern.OFF)
    s.handle(PilotChanged(B), 5)
    assert indication(s, True) is Indication.SUSPENDED


# ---- the session faults these raise ------------------------------------------------------


def test_emergency_stop_ends_the_transaction_with_reason_emergency_stop():
    s = charging_session()
    out = s.handle(FaultRaised(Fault.EMERGENCY_STOP), 5)
    assert out.index(OfferCurrent(0)) < next(i for i, c in enumerate(out) if isinstance(c, StopTransaction))
    assert [c for c in out if isinstance(c, StopTransaction)] == [StopTransaction(StopReason.EMERGENCY_STOP, None)]
    assert s.status() is ConnectorStatus.FAULTED
    s.handle(FaultCleared(Fault.EMERGENCY_STOP), 6)
    assert s.status() is ConnectorStatus.FINISHING


@pytest.mark.parametrize("fault", [Fault.WELDED, Fault.CONTACTOR, Fault.RCM_TEST])
def test_power_switch_and_self_test_faults_end_the_transaction(fault):
    s = charging_session()
    out = s.handle(FaultRaised(fault), 5)
    assert [c for c in out if isinstance(c, StopTransaction)] == [StopTransaction(StopReason.OTHER, None)]
    assert not s.can_start()


def test_a_lock_failure_suspends_the_session_until_the_lock_gets_there():
    s = charging_session()
    out = s.handle(FaultRaised(Fault.LOCK), 5)
    assert OfferCurrent(0) in out and not [c for c in out if isinstance(c, StopTransaction)]
    assert s.status() is ConnectorStatus.FAULTED
    out = s.handle(FaultCleared(Fault.LOCK), 6)
    assert OfferCurrent(16) in out and s.status() is ConnectorStatus.CHARGING


def test_the_gpio_faults_have_ocpp16_error_codes():
    from ocpp.v16.enums import ChargePointErrorCode

    from agent.ocpp16.adapter import ERROR_CODES

    assert ERROR_CODES[Fault.WELDED] == ("PowerSwitchFailure", "E-WELDED")
    assert ERROR_CODES[Fault.CONTACTOR] == ("PowerSwitchFailure", "E-CONTACTOR")
    assert ERROR_CODES[Fault.RCM_TEST] == ("GroundFailure", "E-RCM-TEST")
    assert ERROR_CODES[Fault.LOCK] == ("ConnectorLockFailure", "E-LOCK")
    assert ERROR_CODES[Fault.EMERGENCY_STOP] == ("OtherError", "E-ESTOP")
    assert all(ChargePointErrorCode(code) for code, _ in ERROR_CODES.values())
