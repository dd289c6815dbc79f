"""The composite schedule as ``agent/core/smart_charging.py`` computed it before it was made
independent of the requested duration: every profile breakpoint in the window evaluated
in turn. Kept as the oracle of the property test in test_composite_schedule.py; it is
slow on long windows by design (its work grows with the duration)."""

from __future__ import annotations

import datetime as dt
import math

from agent.core.smart_charging import (
    DAY_S,
    DEFAULT_PHASES,
    NOMINAL_VOLTAGE_V,
    WEEK_S,
    CompositePeriod,
    Kind,
    Profile,
    Purpose,
    RateUnit,
    Recurrency,
    SmartCharging,
)


class _Amps(tuple):
    """(amps, phases)"""

    @property
    def amps(self) -> float:
        return self[0]

    @property
    def phases(self) -> int | None:
        return self[1]


def reference_composite(
    sc: SmartCharging,
    tx_starts: dict[int, dt.datetime],
    connector_id: int,
    start: dt.datetime,
    duration_s: int,
    unit: RateUnit = RateUnit.AMPS,
    voltage_v: float = NOMINAL_VOLTAGE_V,
) -> tuple[CompositePeriod, ...]:
    """``tx_starts``: the start of the transaction running on each connector (as told to
    ``sc.transaction_started``)."""
    ref = _Reference(sc, {c: s.timestamp() for c, s in tx_starts.items()})
    t0 = start.timestamp()
    t1 = t0 + duration_s
    if connector_id == 0:
        relevant = list(sc.profiles)
        at = lambda t: ref.total_at(t, t0, voltage_v)  # noqa: E731
        tx_start = t0
    else:
        tx_start = ref.tx.get(connector_id, t0)
        relevant = ref.relevant(connector_id)
        at = lambda t: ref.connector_at(connector_id, t, tx_start, voltage_v, with_max=True)  # noqa: E731
    periods: list[CompositePeriod] = []
    for t in [t0, *ref.breakpoints(relevant, t0, t1, tx_start, every_transaction=connector_id == 0)]:
        found = at(t)
        if found is None:
            continue
        period = CompositePeriod(int(round(t - t0)), _in_unit(found, unit, voltage_v), found.phases)
        if periods and periods[-1].start_s == period.start_s:
            periods.pop()
        if periods and (periods[-1].limit, periods[-1].phases) == (period.limit, period.phases):
            continue
        periods.append(period)
    return tuple(periods)


class _Reference:
    def __init__(self, sc: SmartCharging, tx: dict[int, float]) -> None:
        self.sc = sc
        self.tx = tx

    def relevant(self, connector_id: int) -> list[Profile]:
        key = self.sc.transaction_key(connector_id)
        out = [
            p
            for p in self.sc.profiles
            if p.connector_id in (0, connector_id)
            and (p.purpose is not Purpose.TX or (p.connector_id == connector_id and p.transaction == key))
        ]
        if key is None:
            out += [p.profile for p in self.sc.pending if p.connector_id == connector_id]
        return out

    def connector_at(self, connector_id, t, tx_start, voltage_v, *, with_max=False):
        relevant = self.relevant(connector_id)
        tx = _winner(relevant, Purpose.TX, t, tx_start, voltage_v)
        own = tx if tx is not None else _winner(relevant, Purpose.TX_DEFAULT, t, tx_start, voltage_v, prefer=connector_id)
        cp_max = _winner(relevant, Purpose.CHARGE_POINT_MAX, t, tx_start, voltage_v)
        if cp_max is not None:
            sharing = len(set(self.tx) | {connector_id})
            cp_max = _Amps((cp_max.amps / sharing, cp_max.phases))
        parts = [own, cp_max]
        if with_max and connector_id in self.sc.connector_max_a:
            parts.append(_Amps((self.sc.connector_max_a[connector_id], None)))
        return _smallest(parts)

    def total_at(self, t, t0, voltage_v):
        total, phases = 0.0, None
        for cid in self.sc.connector_max_a:
            relevant = self.relevant(cid)
            tx_start = self.tx.get(cid, t0)
            own = _winner(relevant, Purpose.TX, t, tx_start, voltage_v)
            if own is None:
                own = _winner(relevant, Purpose.TX_DEFAULT, t, tx_start, voltage_v, prefer=cid)
            part = _smallest([own, _Amps((self.sc.connector_max_a[cid], None))])
            total += part.amps
            phases = phases or part.phases
        cp_max = _winner(self.sc.profiles, Purpose.CHARGE_POINT_MAX, t, None, voltage_v)
        return _smallest([_Amps((total, phases)) if self.sc.connector_max_a else None, cp_max])

    def breakpoints(self, profiles, t0, t1, tx_start, *, every_transaction=False):
        points: set[float] = set()
        for p in profiles:
            start = tx_start
            if every_transaction and p.purpose is not Purpose.CHARGE_POINT_MAX:
                start = self.tx.get(p.connector_id, tx_start)
            points.update(_profile_breakpoints(p, t0, t1, start))
        return sorted(x for x in points if t0 < x < t1)


def _ts(when: dt.datetime) -> float:
    return when.timestamp()


def _recurrence_s(p: Profile) -> int:
    return DAY_S if p.recurrency is Recurrency.DAILY else WEEK_S


def _schedule_start(p: Profile, t: float, tx_start: float | None) -> float:
    s = p.schedule
    if p.kind is Kind.RELATIVE:
        return t if tx_start is None else tx_start
    if p.kind is Kind.RECURRING:
        anchor, every = _ts(s.start), _recurrence_s(p)
        return anchor + math.floor((t - anchor) / every) * every
    return _ts(s.start or p.installed_at)


def _duration(p: Profile) -> float | None:
    d = p.schedule.duration_s
    if p.kind is Kind.RECURRING:
        return min(d, _recurrence_s(p)) if d is not None else _recurrence_s(p)
    return d


def _period_at(p: Profile, t: float, tx_start: float | None, voltage_v: float):
    if (p.valid_from and t < _ts(p.valid_from)) or (p.valid_to and t >= _ts(p.valid_to)):
        return None
    offset = t - _schedule_start(p, t, tx_start)
    duration = _duration(p)
    if offset < 0 or (duration is not None and offset >= duration):
        return None
    period = [q for q in p.schedule.periods if q.start_s <= offset][-1]
    limit = period.limit
    s = p.schedule
    if s.min_rate is not None and 0 < limit < s.min_rate:
        limit = 0.0
    if s.unit is RateUnit.WATTS:
        limit = limit / (voltage_v * (period.phases or DEFAULT_PHASES))
    return _Amps((limit, period.phases))


def _profile_breakpoints(p: Profile, t0: float, t1: float, tx_start: float | None) -> list[float]:
    points = [_ts(x) for x in (p.valid_from, p.valid_to) if x is not None]
    if p.kind is Kind.RELATIVE and tx_start is None:
        return points
    duration = _duration(p)
    if p.kind is Kind.RECURRING:
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


def _winner(profiles, purpose, t, tx_start, voltage_v, *, prefer=None):
    best = None
    found = None
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


def _smallest(parts):
    present = [p for p in parts if p is not None]
    return min(present, key=lambda p: p.amps) if present else None


def _in_unit(found, unit: RateUnit, voltage_v: float) -> float:
    if unit is RateUnit.AMPS:
        return _floor_tenth(found.amps)
    return _floor_tenth(found.amps * voltage_v * (found.phases or DEFAULT_PHASES))


def _floor_tenth(x: float) -> float:
    return math.floor(x * 10 + 1e-6) / 10
