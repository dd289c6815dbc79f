"""When a connector may change the current it offers: one 5 s clock per connector.

IEC 61851-1 lets the EVSE change the PWM duty cycle (the current offered to the EV) at most
every 5 s (docs/hardware/control-pilot.md#timing, as EVerest's EvseManager applies it:
``IEC_PWM_MAX_UPDATE_INTERVAL = 5000`` ms in ``Charger.cpp``). The clock belongs to the
connector's pilot, not to whoever wants the change: smart charging, thermal derating, load
sharing, the backend's profiles and the session's own pause all end in one offer, so they
share one clock. Two sources changing 1 s apart make one change now and the next 5 s after
it, never two changes 1 s apart.

What never waits (each is how EVerest's ``Charger.cpp`` @23c9dac acts, and what the safety
rule "when in doubt no current is offered" asks):

- **Stopping** (a new offer of 0 A: PWM off, contactor open): a fault, the end of the
  transaction, a pause, a limit below the 6 A the pilot can signal. EVerest switches the
  PWM off at once (``cp_state_X1`` on entering ChargingPausedEVSE, state F on a fault).
- **Starting** (from 0 A, or from nothing told yet, to a current): the PWM comes on at once
  and starts the clock. EVerest's ``update_pwm_now_if_changed_ampere`` on entering
  PrepareCharging / Charging.
- **A decrease for safety** (the caller says so: ``safety=True``), e.g. a limit that
  protects a fuse or a cable right now. EVerest paces every change while charging
  (``update_pwm_max_every_5seconds_ampere``); this is the one exception it does not make,
  kept for the sources that cannot wait (IEC 61851-1's rule protects the EV's charger from
  a flickering offer, not the installation from an overload).

Everything else (a higher or a lower current while the PWM runs) waits until 5 s after the
last change. Of the implementations read, OpenEVSE's controller (``SetCurrentCapacity`` in
``J1772EvseController.cpp`` @8e49298) and SmartEVSE-3 (``SetCurrent`` every pass of its
~2 s Modbus loop, ``main.cpp`` @2bc4238) change the PWM whenever told; EVerest is the one
that keeps the 5 s, and is followed here.

A request that is held is replaced by any later one: only the newest request counts, and
one back to the current offer cancels the wait. Pure: no clock, times are passed in
(monotonic seconds).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.interfaces import MIN_OFFER_A  # the 6 A of IEC 61851-1 Annex A (not from session.py: it will import this)

PWM_MIN_INTERVAL_S = 5.0  # IEC 61851-1 (docs/hardware/control-pilot.md#timing)


class Why(enum.Enum):
    """Why a request is offered now, or why it waits."""

    UNCHANGED = "unchanged"  # it is what is offered already: nothing to do
    START = "start"  # from 0 A (or nothing told) to a current: at once
    STOP = "stop"  # to 0 A: at once
    SAFETY = "safety"  # a decrease the caller marked as a safety one: at once
    PACED = "paced"  # any other change: 5 s after the last change


@dataclass(frozen=True)
class Decision:
    """Offer ``amps`` at monotonic time ``at`` (``at <= now``: at once)."""

    amps: float
    at: float
    why: Why

    def due(self, now: float) -> bool:
        return now >= self.at


def decide(offered: float | None, changed_at: float | None, requested: float, now: float, *,
           safety: bool = False, interval_s: float = PWM_MIN_INTERVAL_S) -> Decision:
    """When ``requested`` amperes may be offered on a connector offering ``offered``
    (None: nothing told yet), whose offer last changed at ``changed_at`` (None: never).

    ``safety``: the request lowers the offer to protect the installation, and must not
    wait. It is ignored for a request that does not lower the offer.

    Below 6 A the pilot cannot signal a current (IEC 61851-1 Annex A, ``MIN_OFFER_A``): a
    request below it is a stop, and an offer below it counts as off."""
    if requested < MIN_OFFER_A:
        requested = 0.0
    if offered is not None and requested == offered:
        return Decision(requested, now, Why.UNCHANGED)
    if requested == 0.0:
        return Decision(0.0, now, Why.STOP)
    if offered is None or offered < MIN_OFFER_A:
        return Decision(requested, now, Why.START)
    if safety and requested < offered:
        return Decision(requested, now, Why.SAFETY)
    if changed_at is None:
        return Decision(requested, now, Why.PACED)
    return Decision(requested, max(now, changed_at + interval_s), Why.PACED)


@dataclass
class OfferPacing:
    """The one clock of a connector's offer, over every source of limits.

    The owner (the session) calls ``request`` with the offer it wants whenever any source
    changes it, and ``due`` when time passes (at ``wake_at`` at the latest); each returns
    the amperes to offer now, or None when there is nothing to change now."""

    interval_s: float = PWM_MIN_INTERVAL_S
    offered: float | None = None  # what the board was last told; None: nothing yet
    changed_at: float | None = None  # when that changed (monotonic); None: never
    held: Decision | None = None  # the newest request that waits for the clock

    @property
    def wake_at(self) -> float | None:
        """When a held request comes due (None: nothing held)."""
        return self.held.at if self.held is not None else None

    def request(self, amps: float, now: float, *, safety: bool = False) -> float | None:
        decision = decide(self.offered, self.changed_at, amps, now, safety=safety, interval_s=self.interval_s)
        if decision.why is Why.UNCHANGED:
            self.held = None  # back to what is offered: the wait is over
            return None
        if not decision.due(now):
            self.held = decision
            return None
        return self._offer(decision.amps, now)

    def due(self, now: float) -> float | None:
        if self.held is None or not self.held.due(now):
            return None
        return self._offer(self.held.amps, now)

    def _offer(self, amps: float, now: float) -> float:
        self.held = None
        self.offered = amps
        self.changed_at = now
        return amps


__all__ = ["PWM_MIN_INTERVAL_S", "Decision", "OfferPacing", "Why", "decide"]
