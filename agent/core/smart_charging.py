"""Smart charging: charging profiles, their precedence and the limit they leave, as pure code.

Rules of this module (as ``session.py``): no I/O, no clock; every time is passed in
as an aware ``datetime``. The profile model is the one OCPP 1.6 §3.13 / §7.8-7.10
defines (and OCPP 2.0.1 keeps): the OCPP adapter turns its messages into these
dataclasses and back, the station's charging-limit task asks ``limit_at`` and
``next_change_after``, and the backend asks ``composite``.

Interpretations, where OCPP 1.6 leaves room:

- A profile is *in effect* at an instant when the instant is within validFrom /
  validTo and within its schedule (after the schedule start, before start + duration).
  Of the profiles of one purpose in effect, the highest stackLevel wins (§3.13.2); a
  profile whose schedule has ended leaves the lower levels in charge again.
- TxDefaultProfile: one on a connector replaces the one on connector 0 for that
  connector (§3.13.1); at equal stackLevel the connector's own profile wins.
- Relative schedules start at the transaction start; on a connector without a
  transaction they are read as if one started at that instant (its first period),
  so the limit is in place before a transaction begins. Absolute without
  startSchedule starts when the profile was installed. Recurring repeats every day /
  week from startSchedule (before and after it); a duration longer than the
  recurrence is cut at the next recurrence.
- minChargingRate is the lowest rate the EV can use: a period limit above 0 but below
  it means no charging at all (the limit is never raised to meet it).
- ChargePointMaxProfile limits the whole charge point: each connector gets an equal
  share among the connectors with a transaction (counting itself).
- Limits in W are turned into A per phase: W / (voltage × numberPhases), numberPhases
  of the period (default 3, §7.13); the voltage is the station's (from its meter).
- A composite schedule (§5.13) has at most MAX_COMPOSITE_PERIODS periods; one that would
  have more stops where the next would begin, and its duration says so.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

NOMINAL_VOLTAGE_V = 230.0
DEFAULT_PHASES = 3  # OCPP 1.6 §7.13 numberPhases: "when omitted, 3 will be assumed"
DAY_S = 86400
WEEK_S = 7 * DAY_S
# How far next_change_after looks ahead: beyond one weekly recurrence.
HORIZON_S = WEEK_S + DAY_S
# A composite schedule has at most this many periods (OCPP 1.6 sets no limit; OCPP 2.0.1's
# ChargingScheduleType allows 1024), and covers at most MAX_DURATION_S (OCPP 1.6 integers
# are 32-bit): beyond either, its duration says how far it reaches.
MAX_COMPOSITE_PERIODS = 1024
MAX_DURATION_S = 2**31 - 1


class Purpose(enum.Enum):  # OCPP 1.6 §7.10 ChargingProfilePurposeType
    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(enum.Enum):  # §7.9 ChargingProfileKindType
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(enum.Enum):  # §7.44 RecurrencyKindType
    DAILY = "Daily"
    WEEKLY = "Weekly"


class RateUnit(enum.Enum):  # §7.12 ChargingRateUnitType
    AMPS = "A"
    WATTS = "W"


@dataclass(frozen=True)
class Period:  # §7.13 ChargingSchedulePeriod
    start_s: int  # from the start of the schedule
    limit: float  # in the schedule's unit
    phases: int | None = None


@dataclass(frozen=True)
class Schedule:  # §7.14 ChargingSchedule
    unit: RateUnit
    periods: tuple[Period, ...]
    duration_s: int | None = None
    start: dt.datetime | None = None
    min_rate: float | None = None
    schedule_id: int | None = None  # OCPP 2.0.1 ChargingScheduleType.id (1.6 has none)

    @cached_property
    def period_starts(self) -> tuple[int, ...]:
        return tuple(q.start_s for q in self.periods)


@dataclass(frozen=True)
class Profile:  # §7.8 ChargingProfile, with the connector it was set on
    id: int
    connector_id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedule: Schedule
    installed_at: dt.datetime  # the start of an Absolute schedule without startSchedule
    recurrency: Recurrency | None = None
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    transaction: int | None = None  # TxProfile: the station's transaction it belongs to


@dataclass(frozen=True)
class Limits:
    """What the charge point accepts (OCPP 1.6 §9.4 keys report them)."""

    max_stack_level: int = 10
    max_periods: int = 48
    max_profiles: int = 20
    units: frozenset[RateUnit] = frozenset(RateUnit)


@dataclass(frozen=True)
class CompositePeriod:
    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True)
class Composite:
    start: dt.datetime
    duration_s: int  # as asked, or less where the schedule stops (MAX_COMPOSITE_PERIODS)
    unit: RateUnit
    periods: tuple[CompositePeriod, ...]
    evaluations: int = field(default=0, compare=False)  # instants evaluated: the work it took


class ProfileRejected(ValueError):
    """The profile cannot be installed; the message says why."""


@dataclass(frozen=True)
class _Transaction:
    key: int
    start: dt.datetime
    id_tag: str


@dataclass(frozen=True)
class _Pending:
    """A TxProfile that came with a remote start, waiting for its transaction."""

    profile: Profile
    connector_id: int | None  # None: whichever connector the id tag starts on
    id_tag: str
    deadline: dt.datetime


@dataclass(frozen=True)
class _Amps:
    amps: float
    phases: int | None


def check(profile: Profile, connector_ids: Iterable[int], limits: Limits) -> None:
    """Raise ProfileRejected unless ``profile`` may be installed (OCPP 1.6 §3.13.1, §5.16, §9.4)."""
    s = profile.schedule
    if profile.connector_id != 0 and profile.connector_id not in set(connector_ids):
        raise ProfileRejected(f"no connector {profile.connector_id}")
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.connector_id != 0:
        raise ProfileRejected("ChargePointMaxProfile can only be set on connector 0")
    if profile.purpose is Purpose.TX and profile.connector_id == 0:
        raise ProfileRejected("TxProfile can only be set on a connector > 0")
    if not 0 <= profile.stack_level <= limits.max_stack_level:
        raise ProfileRejected(f"stackLevel {profile.stack_level} outside 0..{limits.max_stack_level}")
    if s.unit not in limits.units:
        raise ProfileRejected(f"charging rate unit {s.unit.value} not allowed")
    if not s.periods or len(s.periods) > limits.max_periods:
        raise ProfileRejected(f"{len(s.periods)} periods, 1..{limits.max_periods} allowed")
    if s.periods[0].start_s != 0:
        raise ProfileRejected("the first period must start at 0")  # §7.14
    starts = [p.start_s for p in s.periods]
    if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
        raise ProfileRejected("period starts must increase")
    for p in s.periods:
        if p.limit < 0 or (p.phases is not None and not 1 <= p.phases <= 3):
            raise ProfileRejected(f"bad period {p}")
    if s.duration_s is not None and s.duration_s <= 0:
        raise ProfileRejected("duration must be > 0")
    if profile.kind is Kind.RECURRING and (profile.recurrency is None or s.start is None):
        raise ProfileRejected("a Recurring profile needs recurrencyKind and startSchedule")
    if profile.valid_from and profile.valid_to and profile.valid_to <= profile.valid_from:
        raise ProfileRejected("validTo is not after validFrom")


def conflicting(new: Profile, installed: Iterable[Profile]) -> Profile | None:
    """OCPP 2.0.1 K01.FR.06 / K01.FR.39: an installed profile (another id) of the same purpose
    and stackLevel on the same connector whose validity overlaps ``new``'s; such a new profile
    is refused rather than replacing it, as 1.6 did. (A TxProfile is always for the transaction
    running on its connector, so the same connector is the same transaction.)"""
    never, forever = dt.datetime.min.replace(tzinfo=dt.timezone.utc), dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    for old in installed:
        if old.id == new.id or (old.purpose, old.stack_level, old.connector_id) != (
                new.purpose, new.stack_level, new.connector_id):
            continue
        if (old.valid_from or never) < (new.valid_to or forever) and (new.valid_from or never) < (old.valid_to or forever):
            return old
    return None


class SmartCharging:
    """The installed profiles of one charge point, and the limits they leave."""

    def __init__(
        self,
        connector_max_a: dict[int, float],
        limits: Limits = Limits(),
        profiles: Iterable[Profile] = (),
    ) -> None:
        self.connector_max_a = dict(connector_max_a)
        self.limits = limits
        self.profiles: list[Profile] = list(profiles)
        self.pending: list[_Pending] = []
        self._transactions: dict[int, _Transaction] = {}

    # ---- installing and clearing ---------------------------------------------------

    def install(self, profile: Profile, *, same_level_replaces: bool = True) -> list[Profile]:
        """Add ``profile``; return the profiles it replaced (OCPP 1.6 §5.16: same id, or same
        purpose and stackLevel on the same connector; with ``same_level_replaces`` False only
        the same id, as OCPP 2.0.1 K01.FR.05 says). Raises ProfileRejected."""
        check(profile, self.connector_max_a, self.limits)
        if profile.purpose is Purpose.TX:
            tx = self._transactions.get(profile.connector_id)
            if tx is None:
                raise ProfileRejected(f"no transaction on connector {profile.connector_id}")  # §3.13.1
            profile = replace(profile, transaction=tx.key)
        replaced = [p for p in self.profiles if _replaces(profile, p) if same_level_replaces or p.id == profile.id]
        if len(self.profiles) - len(replaced) >= self.limits.max_profiles:
            raise ProfileRejected(f"already {len(self.profiles)} profiles installed")
        self.profiles = [p for p in self.profiles if p not in replaced] + [profile]
        return replaced

    def clear(
        self,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: Purpose | None = None,
        stack_level: int | None = None,
    ) -> list[Profile]:
        """OCPP 1.6 §5.7: by id, else every profile matching all the criteria given
        (none given: all). Returns what was removed."""

        def matches(p: Profile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (connector_id is None or p.connector_id == connector_id)
                and (purpose is None or p.purpose is purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        removed = [p for p in self.profiles if matches(p)]
        self.profiles = [p for p in self.profiles if p not in removed]
        return removed

    # ---- transactions --------------------------------------------------------------

    def add_pending(self, profile: Profile, connector_id: int | None, id_tag: str, deadline: dt.datetime) -> None:
        """A TxProfile for the transaction a remote start will begin (OCPP 1.6 §5.11).
        It limits that connector at once, and binds to the transaction when it starts."""
        check(replace(profile, connector_id=connector_id or min(self.connector_max_a)), self.connector_max_a, self.limits)
        if profile.purpose is not Purpose.TX:
            raise ProfileRejected("a remote start's profile must be a TxProfile")
        self.pending = [p for p in self.pending if p.id_tag != id_tag] + [_Pending(profile, connector_id, id_tag, deadline)]

    def drop_pending(self, id_tag: str) -> None:
        self.pending = [p for p in self.pending if p.id_tag != id_tag]

    def expire_pending(self, now: dt.datetime) -> None:
        self.pending = [p for p in self.pending if p.deadline > now]

    def transaction_started(self, connector_id: int, key: int, start: dt.datetime, id_tag: str) -> list[Profile]:
        """A transaction runs on the connector; returns the pending TxProfiles it took
        (now installed)."""
        self._transactions[connector_id] = _Transaction(key, start, id_tag)
        # TxProfiles of an earlier transaction (one that ended while the agent was down) go.
        self.profiles = [
            p for p in self.profiles if not (p.purpose is Purpose.TX and p.connector_id == connector_id and p.transaction != key)
        ]
        bound: list[Profile] = []
        for pending in list(self.pending):
            if pending.id_tag == id_tag and pending.connector_id in (None, connector_id):
                self.pending.remove(pending)
                profile = replace(pending.profile, connector_id=connector_id, transaction=key, installed_at=start)
                self.profiles = [p for p in self.profiles if not _replaces(profile, p)] + [profile]
                bound.append(profile)
        return bound

    def transaction_ended(self, connector_id: int) -> list[Profile]:
        """The connector's transaction is over: its TxProfiles go (§3.13.1). Returns them."""
        self._transactions.pop(connector_id, None)
        gone = [p for p in self.profiles if p.purpose is Purpose.TX and p.connector_id == connector_id]
        self.profiles = [p for p in self.profiles if p not in gone]
        return gone

    def transaction_key(self, connector_id: int) -> int | None:
        tx = self._transactions.get(connector_id)
        return tx.key if tx else None

    # ---- limits --------------------------------------------------------------------

    def limit_at(self, connector_id: int, now: dt.datetime, voltage_v: float = NOMINAL_VOLTAGE_V) -> float | None:
        """The current (A per phase) the profiles allow the connector now; None: no profile limits it."""
        tx = self._transactions.get(connector_id)
        found = self._connector_at(connector_id, _ts(now), tx.start.timestamp() if tx else None, voltage_v)
        return None if found is None else _floor_tenth(found.amps)

    def next_change_after(
        self, connector_id: int, now: dt.datetime, voltage_v: float = NOMINAL_VOLTAGE_V
    ) -> dt.datetime | None:
        """When ``limit_at`` next gives another value (within about a week), else None."""
        tx = self._transactions.get(connector_id)
        tx_start = tx.start.timestamp() if tx else None
        t0 = _ts(now)
        current = self._connector_at(connector_id, t0, tx_start, voltage_v)
        for t in self._breakpoints(self._relevant(connector_id), t0, t0 + HORIZON_S, tx_start):
            if self._connector_at(connector_id, t, tx_start, voltage_v) != current:
                return _dt(t)
        return None

    def composite(
        self,
        connector_id: int,
        start: dt.datetime,
        duration_s: int,
        unit: RateUnit = RateUnit.AMPS,
        voltage_v: float = NOMINAL_VOLTAGE_V,
        *,
        max_periods: int = MAX_COMPOSITE_PERIODS,
    ) -> Composite:
        """OCPP 1.6 §3.13.3-3.13.4 / §5.13: the schedule the connector will follow from
        ``start`` for ``duration_s`` (connector 0: the whole charge point's), merged.
        A connector without a transaction is shown as if one started at ``start``.

        The work is bounded by the profiles, not by ``duration_s``: between two instants
        where a non-recurring profile changes (a period start, an end, validFrom / validTo),
        the merged limit repeats every day or week (the recurrences), so one recurrence is
        evaluated and then repeated (``_Timeline``). At ``max_periods`` periods the
        schedule stops, and its ``duration_s`` says how far it reaches."""
        t0 = _ts(start)
        window = min(max(0, duration_s), MAX_DURATION_S)
        if connector_id == 0:
            relevant = list(self.profiles)
            starts = {id(p): self._start_of(p, t0, every_transaction=True) for p in relevant}
            at = lambda t: self._total_at(t, t0, voltage_v)  # noqa: E731
        else:
            tx = self._transactions.get(connector_id)
            tx_start = tx.start.timestamp() if tx else t0
            relevant = self._relevant(connector_id)
            starts = {id(p): tx_start for p in relevant}
            at = lambda t: self._connector_at(connector_id, t, tx_start, voltage_v, with_max=True, relevant=relevant)  # noqa: E731
        merged = _Merge(t0, unit, voltage_v, max_periods)
        timeline = _Timeline(relevant, starts, t0, t0 + window)
        for t, found in timeline.instants(at, merged):
            if not merged.add(t, found):
                break
        covered = window if merged.end_s is None else merged.end_s
        return Composite(start, covered, unit, tuple(merged.periods), evaluations=timeline.evaluations)

    def _start_of(self, p: Profile, t0: float, *, every_transaction: bool) -> float:
        """The transaction start a Relative ``p`` is read from in a composite."""
        if every_transaction and p.purpose is not Purpose.CHARGE_POINT_MAX:
            tx = self._transactions.get(p.connector_id)
            return tx.start.timestamp() if tx else t0
        return t0

    # ---- evaluation ----------------------------------------------------------------

    def _relevant(self, connector_id: int) -> list[Profile]:
        key = self.transaction_key(connector_id)
        out = [
            p
            for p in self.profiles
            if p.connector_id in (0, connector_id)
            and (p.purpose is not Purpose.TX or (p.connector_id == connector_id and p.transaction == key))
        ]
        if key is None:
            out += [p.profile for p in self.pending if p.connector_id == connector_id]
        return out

    def _connector_at(
        self,
        connector_id: int,
        t: float,
        tx_start: float | None,
        voltage_v: float,
        *,
        with_max: bool = False,
        relevant: list[Profile] | None = None,
    ) -> _Amps | None:
        if relevant is None:
            relevant = self._relevant(connector_id)
        tx = _winner(relevant, Purpose.TX, t, tx_start, voltage_v)
        own = tx if tx is not None else _winner(relevant, Purpose.TX_DEFAULT, t, tx_start, voltage_v, prefer=connector_id)
        cp_max = _winner(relevant, Purpose.CHARGE_POINT_MAX, t, tx_start, voltage_v)
        if cp_max is not None:
            sharing = len(set(self._transactions) | {connector_id})
            cp_max = _Amps(cp_max.amps / sharing, cp_max.phases)
        parts = [own, cp_max]
        if with_max and connector_id in self.connector_max_a:
            parts.append(_Amps(self.connector_max_a[connector_id], None))
        return _smallest(parts)

    def _total_at(self, t: float, t0: float, voltage_v: float) -> _Amps | None:
        """Connector 0: what all connectors together may draw, within ChargePointMaxProfile."""
        total, phases = 0.0, None
        for cid in self.connector_max_a:
            tx = self._transactions.get(cid)
            relevant = self._relevant(cid)
            tx_start = tx.start.timestamp() if tx else t0
            own = _winner(relevant, Purpose.TX, t, tx_start, voltage_v)
            if own is None:
                own = _winner(relevant, Purpose.TX_DEFAULT, t, tx_start, voltage_v, prefer=cid)
            part = _smallest([own, _Amps(self.connector_max_a[cid], None)])
            assert part is not None  # the connector's own maximum is always there
            total += part.amps
            phases = phases or part.phases
        cp_max = _winner(self.profiles, Purpose.CHARGE_POINT_MAX, t, None, voltage_v)
        return _smallest([_Amps(total, phases) if self.connector_max_a else None, cp_max])

    def _breakpoints(
        self, profiles: list[Profile], t0: float, t1: float, tx_start: float | None, *, every_transaction: bool = False
    ) -> list[float]:
        points: set[float] = set()
        for p in profiles:
            start = tx_start
            if every_transaction and p.purpose is not Purpose.CHARGE_POINT_MAX:
                tx = self._transactions.get(p.connector_id)
                start = tx.start.timestamp() if tx else tx_start
            points.update(_profile_breakpoints(p, t0, t1, start))
        return sorted(x for x in points if t0 < x < t1)


# ---- the composite's instants --------------------------------------------------------


class _Merge:
    """Limits at successive instants → composite periods: equal neighbours merged, an
    instant in the same second as the previous one replaces it; at most ``max_periods``."""

    def __init__(self, t0: float, unit: RateUnit, voltage_v: float, max_periods: int) -> None:
        self.t0, self.unit, self.voltage_v, self.max_periods = t0, unit, voltage_v, max_periods
        self.periods: list[CompositePeriod] = []
        self.end_s: int | None = None  # where the schedule stopped, when it is full

    def add(self, t: float, found: _Amps | None) -> bool:
        """False when the schedule is full (``end_s`` then says where it stops)."""
        if found is None:
            return True  # only when no connector maximum is known
        periods = self.periods
        period = CompositePeriod(int(round(t - self.t0)), _in_unit(found, self.unit, self.voltage_v), found.phases)
        if periods and periods[-1].start_s == period.start_s:
            periods.pop()
        if periods and (periods[-1].limit, periods[-1].phases) == (period.limit, period.phases):
            return True
        if len(periods) >= self.max_periods:
            self.end_s = period.start_s
            return False
        periods.append(period)
        return True


class _Timeline:
    """The instants where a composite may change, with the limit at each, in time order.

    Every profile breakpoint in the window would do, but a recurring profile has one per
    period per day or week, however long the window. So the window is cut at the
    *aperiodic* breakpoints (those of Absolute and Relative profiles, and every validFrom /
    validTo); within one such segment only recurring profiles change, and the limit repeats
    every ``cycle`` (a week if any profile recurs weekly, else a day). The first cycle of a
    segment is evaluated; later cycles repeat its changes without evaluating anything, and a
    segment whose cycle changes nothing is skipped. Evaluations are bounded by the number
    of segments times the breakpoints in one cycle, whatever the window's length; repeated
    cycles each add a period, so the merge's period limit bounds them."""

    def __init__(self, profiles: list[Profile], starts: dict[int, float], t0: float, t1: float) -> None:
        self.recurring = [p for p in profiles if p.kind is Kind.RECURRING]
        self.cycle = WEEK_S if any(p.recurrency is Recurrency.WEEKLY for p in self.recurring) else DAY_S
        aperiodic: set[float] = set()
        for p in profiles:
            aperiodic.update(_aperiodic_breakpoints(p, t0, starts[id(p)]))
        self.bounds = [t0, *sorted(x for x in aperiodic if t0 < x < t1), t1]
        self.evaluations = 0

    def instants(self, at: Callable[[float], _Amps | None], merged: _Merge) -> Iterator[tuple[float, _Amps | None]]:
        """(instant, ``at(instant)``) in time order; ``merged`` (which the caller feeds them
        to) tells when repeating a cycle no longer changes the schedule."""
        for a, b in zip(self.bounds, self.bounds[1:], strict=False):
            at_a = self._evaluate(at, a)
            yield a, at_a
            if not self.recurring:
                continue
            first_end = min(b, a + self.cycle)
            points = sorted(
                {x for p in self.recurring for x in _recurring_breakpoints(p, a, first_end) if a <= x < first_end}
            )
            values = []
            for x in points:
                found = at_a if x == a else self._evaluate(at, x)
                values.append(found)
                if x > a:
                    yield x, found
            if first_end >= b or not points:
                continue
            # Later cycles: the same changes, shifted (the limit repeats every cycle here).
            changes = [(x, v) for i, (x, v) in enumerate(zip(points, values, strict=False)) if v != values[i - 1]]
            if not changes:
                continue  # constant from here to b
            k = 1
            while a + k * self.cycle < b:
                shift = k * self.cycle
                before = (len(merged.periods), merged.periods[-2:])
                for x, found in changes:
                    if x + shift >= b:
                        break
                    yield x + shift, found
                if k >= 2 and (len(merged.periods), merged.periods[-2:]) == before:
                    break  # a cycle that changed nothing: neither will any later one
                k += 1

    def _evaluate(self, at: Callable[[float], _Amps | None], t: float) -> _Amps | None:
        self.evaluations += 1
        return at(t)


# ---- one profile ---------------------------------------------------------------------


def _replaces(new: Profile, old: Profile) -> bool:
    return old.id == new.id or (
        old.purpose is new.purpose and old.stack_level == new.stack_level and old.connector_id == new.connector_id
    )


def _recurrence_s(p: Profile) -> int:
    return DAY_S if p.recurrency is Recurrency.DAILY else WEEK_S


def _schedule_start(p: Profile, t: float, tx_start: float | None) -> float:
    s = p.schedule
    if p.kind is Kind.RELATIVE:
        return t if tx_start is None else tx_start
    if p.kind is Kind.RECURRING:
        assert s.start is not None  # a recurring schedule has a start (checked when set)
        anchor, every = _ts(s.start), _recurrence_s(p)
        return anchor + math.floor((t - anchor) / every) * every
    return _ts(s.start or p.installed_at)


def _duration(p: Profile) -> float | None:
    d = p.schedule.duration_s
    if p.kind is Kind.RECURRING:
        return min(d, _recurrence_s(p)) if d is not None else _recurrence_s(p)
    return d


def _period_at(p: Profile, t: float, tx_start: float | None, voltage_v: float) -> _Amps | None:
    """The limit ``p`` sets at ``t`` in A, or None where it is not in effect."""
    if (p.valid_from and t < _ts(p.valid_from)) or (p.valid_to and t >= _ts(p.valid_to)):
        return None
    offset = t - _schedule_start(p, t, tx_start)
    duration = _duration(p)
    if offset < 0 or (duration is not None and offset >= duration):
        return None
    index = bisect.bisect_right(p.schedule.period_starts, offset) - 1
    if index < 0:
        return None  # (check() makes every schedule start with a period at 0)
    period = p.schedule.periods[index]
    limit = period.limit
    s = p.schedule
    if s.min_rate is not None and 0 < limit < s.min_rate:
        limit = 0.0  # the EV cannot charge below its minChargingRate (§7.14)
    if s.unit is RateUnit.WATTS:
        limit = limit / (voltage_v * (period.phases or DEFAULT_PHASES))
    return _Amps(limit, period.phases)


def _profile_breakpoints(p: Profile, t0: float, t1: float, tx_start: float | None) -> list[float]:
    points = [_ts(x) for x in (p.valid_from, p.valid_to) if x is not None]
    if p.kind is Kind.RELATIVE and tx_start is None:
        return points  # read as starting at every instant: only validity changes it
    duration = _duration(p)
    if p.kind is Kind.RECURRING:
        assert p.schedule.start is not None  # a recurring schedule has a start (checked when set)
        anchor, every = _ts(p.schedule.start), _recurrence_s(p)
        k0, k1 = math.floor((t0 - anchor) / every), math.floor((t1 - anchor) / every)
        starts = [anchor + k * every for k in range(k0, k1 + 1)]
    else:
        starts = [_schedule_start(p, t0, tx_start)]
    for start in starts:
        points += [start + q.start_s for q in p.schedule.periods]
        if duration is not None:
            points.append(start + duration)
    return points


def _aperiodic_breakpoints(p: Profile, t0: float, tx_start: float | None) -> list[float]:
    """The instants where ``p`` may change that do not recur: validFrom / validTo, and the
    period starts and end of an Absolute or Relative schedule."""
    points = [_ts(x) for x in (p.valid_from, p.valid_to) if x is not None]
    if p.kind is Kind.RECURRING or (p.kind is Kind.RELATIVE and tx_start is None):
        return points
    start = _schedule_start(p, t0, tx_start)
    points += [start + q.start_s for q in p.schedule.periods]
    if p.schedule.duration_s is not None:
        points.append(start + p.schedule.duration_s)
    return points


def _recurring_breakpoints(p: Profile, lo: float, hi: float) -> list[float]:
    """The period starts and ends of a Recurring ``p`` from the recurrence running at ``lo``
    to the one running at ``hi``."""
    assert p.schedule.start is not None  # check(): a Recurring profile has a startSchedule
    anchor, every = _ts(p.schedule.start), _recurrence_s(p)
    duration = _duration(p) or every
    points: list[float] = []
    for k in range(math.floor((lo - anchor) / every), math.floor((hi - anchor) / every) + 1):
        start = anchor + k * every
        points += [start + q.start_s for q in p.schedule.periods if q.start_s < duration]
        points.append(start + duration)
    return points


def _winner(
    profiles: Iterable[Profile],
    purpose: Purpose,
    t: float,
    tx_start: float | None,
    voltage_v: float,
    *,
    prefer: int | None = None,
) -> _Amps | None:
    """§3.13.2: of the profiles of ``purpose`` in effect at ``t``, the highest stackLevel's
    limit (equal levels: the one on connector ``prefer``)."""
    best: tuple[int, bool] | None = None
    found: _Amps | None = None
    for p in profiles:
        if p.purpose is not purpose:
            continue
        amps = _period_at(p, t, tx_start, voltage_v)
        if amps is None:
            continue
        rank = (p.stack_level, p.connector_id == prefer)
        if best is None or rank > best:
            best, found = rank, amps
    return found


def _smallest(parts: list[_Amps | None]) -> _Amps | None:
    present = [p for p in parts if p is not None]
    return min(present, key=lambda p: p.amps) if present else None


def _in_unit(found: _Amps, unit: RateUnit, voltage_v: float) -> float:
    if unit is RateUnit.AMPS:
        return _floor_tenth(found.amps)
    return _floor_tenth(found.amps * voltage_v * (found.phases or DEFAULT_PHASES))


def _floor_tenth(x: float) -> float:
    """Round down to 0.1 (a limit is never exceeded by rounding; §7.13 limit multipleOf 0.1)."""
    return math.floor(x * 10 + 1e-6) / 10


def _ts(when: dt.datetime) -> float:
    return when.timestamp()


def _dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)


# ---- storage form (JSON-able, for agent/persistence/store.py) ------------------------------------


def to_dict(p: Profile) -> dict[str, Any]:
    s = p.schedule
    return {
        "id": p.id,
        "connector_id": p.connector_id,
        "stack_level": p.stack_level,
        "purpose": p.purpose.value,
        "kind": p.kind.value,
        "recurrency": p.recurrency.value if p.recurrency else None,
        "valid_from": _iso(p.valid_from),
        "valid_to": _iso(p.valid_to),
        "installed_at": _iso(p.installed_at),
        "transaction": p.transaction,
        "schedule": {
            "unit": s.unit.value,
            "duration_s": s.duration_s,
            "start": _iso(s.start),
            "min_rate": s.min_rate,
            "periods": [[q.start_s, q.limit, q.phases] for q in s.periods],
            "schedule_id": s.schedule_id,
        },
    }


def from_dict(d: dict[str, Any]) -> Profile:
    s = d["schedule"]
    return Profile(
        id=d["id"],
        connector_id=d["connector_id"],
        stack_level=d["stack_level"],
        purpose=Purpose(d["purpose"]),
        kind=Kind(d["kind"]),
        recurrency=Recurrency(d["recurrency"]) if d["recurrency"] else None,
        valid_from=_parse(d["valid_from"]),
        valid_to=_parse(d["valid_to"]),
        installed_at=dt.datetime.fromisoformat(d["installed_at"]),
        transaction=d["transaction"],
        schedule=Schedule(
            unit=RateUnit(s["unit"]),
            duration_s=s["duration_s"],
            start=_parse(s["start"]),
            min_rate=s["min_rate"],
            periods=tuple(Period(*q) for q in s["periods"]),
            schedule_id=s.get("schedule_id"),
        ),
    )


def _iso(x: dt.datetime | None) -> str | None:
    return x.isoformat() if x is not None else None


def _parse(x: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(x) if x is not None else None
