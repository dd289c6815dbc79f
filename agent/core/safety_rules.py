"""The pure rules behind the GPIO safety I/O (``agent.station.safety_io`` runs them): when the main
contactor may close, when its auxiliary contact disagrees, how the cable lock moves and
retries, the RCM self-test, and what the status LEDs show. No I/O, no clock: time is
passed in, so each rule is tested without an event loop or a pin.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass, field

from agent.core.session import MIN_OFFER_A, ConnectorStatus, Session
from drivers.interfaces import LightPattern, PilotState


def contactor_should_close(session: Session, power_allowed: bool) -> bool:
    """A main contactor in series with the board's own relay closes only while the session
    offers current, the EV asks for it (C/D) and nothing forbids it; otherwise it is open
    (IEC 61851-1 Table A.6: off within 100 ms of C→B, at once on a fault)."""
    return (
        power_allowed
        and not session.faults
        and session.transaction is not None
        and (session.offered_a or 0.0) >= MIN_OFFER_A
        and session.pilot in (PilotState.C, PilotState.D)
    )


class Feedback(enum.Enum):
    AGREES = "agrees"  # the auxiliary contact has matched the command for the debounce time
    PENDING = "pending"  # it changed lately: wait
    WELDED = "welded"  # closed while commanded open, for the debounce time
    FAILED_CLOSE = "failed_close"  # open while commanded closed, for the debounce time


@dataclass
class FeedbackWatch:
    """Tinkerforge WARP v3: the auxiliary contact is believed after 250 ms of the same reading."""

    debounce_s: float = 0.25
    _pair: tuple[bool, bool] | None = None
    _since: float = 0.0

    def observe(self, commanded: bool, closed: bool, now: float) -> Feedback:
        if (commanded, closed) != self._pair:
            self._pair, self._since = (commanded, closed), now
        if now - self._since < self.debounce_s:
            return Feedback.PENDING
        if commanded == closed:
            return Feedback.AGREES
        return Feedback.FAILED_CLOSE if commanded else Feedback.WELDED


@dataclass
class MoveBudget:
    """At most ``max_moves`` lock moves in any ``window_s`` (openWB: 10 per 60 s)."""

    max_moves: int = 10
    window_s: float = 60.0
    _moves: collections.deque[float] = field(default_factory=collections.deque)

    def take(self, now: float) -> bool:
        while self._moves and now - self._moves[0] >= self.window_s:
            self._moves.popleft()
        if len(self._moves) >= self.max_moves:
            return False
        self._moves.append(now)
        return True


@dataclass
class LockPlan:
    """Moves the cable lock towards where it should be, judges each move ``check_s`` after
    its motor pulse, retries a failed move after ``retry_s`` within the move budget, and is
    ``failed`` after ``attempts`` failed moves in a row. Without a position switch the lock
    is believed to be where its last move went."""

    pulse_s: float = 1.0
    check_s: float = 0.3
    retry_s: float = 5.0
    attempts: int = 3
    budget: MoveBudget = field(default_factory=MoveBudget)
    believed: bool = False
    failures: int = 0
    want: bool = False  # where the last step wanted the lock
    _moving_to: bool | None = None
    _judge_at: float = 0.0
    _next_move_at: float = 0.0

    @property
    def failed(self) -> bool:
        return self.failures >= self.attempts

    @property
    def moving(self) -> bool:
        return self._moving_to is not None

    def position(self, switch: bool | None) -> bool | None:
        """Where the lock is (None while a move without a switch is under way)."""
        if switch is not None:
            return switch
        return None if self.moving else self.believed

    def settled(self, want: bool, switch: bool | None) -> bool:
        return not self.moving and self.position(switch) == want

    def step(self, want: bool, switch: bool | None, now: float) -> bool | None:
        """The move to start now (True = lock, False = unlock), or None."""
        if want != self.want:
            self.want, self.failures, self._next_move_at = want, 0, now
        if self._moving_to is not None:
            if now < self._judge_at:
                return None
            target, self._moving_to = self._moving_to, None
            if switch is None:
                self.believed = target
            if (self.believed if switch is None else switch) == target:
                self.failures = 0
            else:
                self.failures += 1
                self._next_move_at = now + self.retry_s
        if self.position(switch) == want:
            self.failures = 0
            return None
        if now < self._next_move_at or not self.budget.take(now):
            return None
        self._moving_to, self._judge_at = want, now + self.pulse_s + self.check_s
        return want


class SelfTest(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


@dataclass
class RcmSelfTest:
    """SmartEVSE v4 / Tinkerforge: the test wire is pulsed for ``pulse_s``; the RCM must trip
    within ``timeout_s`` of the pulse start and be quiet again once the pulse is over
    (``timeout_s`` after it at the latest). Power stays off while it runs."""

    pulse_s: float = 0.25
    timeout_s: float = 1.0
    state: SelfTest = SelfTest.IDLE
    _started: float = 0.0
    _tripped: bool = False

    def start(self, now: float) -> None:
        self.state, self._started, self._tripped = SelfTest.RUNNING, now, False

    def step(self, trip_active: bool, now: float) -> SelfTest:
        if self.state is not SelfTest.RUNNING:
            return self.state
        elapsed = now - self._started
        if trip_active and elapsed <= self.timeout_s:
            self._tripped = True
        if not self._tripped:
            if elapsed > self.timeout_s:
                self.state = SelfTest.FAILED  # no trip: the RCM does not work
        elif not trip_active and elapsed >= self.pulse_s:
            self.state = SelfTest.PASSED
        elif elapsed > self.pulse_s + self.timeout_s:
            self.state = SelfTest.FAILED  # still tripped long after the pulse
        return self.state


class Indication(enum.Enum):
    AVAILABLE = "available"
    AUTHORIZING = "authorizing"
    CHARGING = "charging"
    SUSPENDED = "suspended"
    RESERVED = "reserved"
    FAULT = "fault"
    OFFLINE = "offline"
    UNAVAILABLE = "unavailable"


# Indication -> patterns of the (green, blue, red) LEDs; each row differs from every other.
LIGHTS: dict[Indication, tuple[LightPattern, LightPattern, LightPattern]] = {
    Indication.AVAILABLE: (LightPattern.ON, LightPattern.OFF, LightPattern.OFF),
    Indication.AUTHORIZING: (LightPattern.BLINK_FAST, LightPattern.OFF, LightPattern.OFF),
    Indication.CHARGING: (LightPattern.OFF, LightPattern.ON, LightPattern.OFF),
    Indication.SUSPENDED: (LightPattern.OFF, LightPattern.BLINK_SLOW, LightPattern.OFF),
    Indication.RESERVED: (LightPattern.BLINK_SLOW, LightPattern.OFF, LightPattern.OFF),
    Indication.FAULT: (LightPattern.OFF, LightPattern.OFF, LightPattern.BLINK_FAST),
    Indication.OFFLINE: (LightPattern.FLASH, LightPattern.OFF, LightPattern.FLASH),
    Indication.UNAVAILABLE: (LightPattern.OFF, LightPattern.OFF, LightPattern.ON),
}
LIGHT_NAMES = ("green", "blue", "red")


def indication(session: Session, online: bool) -> Indication:
    """What the LEDs say: the session first; "offline" only when nothing else is going on."""
    status = session.status()
    if status is ConnectorStatus.FAULTED:
        return Indication.FAULT
    if status is ConnectorStatus.CHARGING:
        return Indication.CHARGING
    if status in (ConnectorStatus.SUSPENDED_EV, ConnectorStatus.SUSPENDED_EVSE):
        return Indication.SUSPENDED
    if status is ConnectorStatus.UNAVAILABLE:
        return Indication.UNAVAILABLE
    if session.pending_auth is not None or session.authorized is not None:
        return Indication.AUTHORIZING
    if status is ConnectorStatus.RESERVED:
        return Indication.RESERVED
    return Indication.AVAILABLE if online else Indication.OFFLINE
