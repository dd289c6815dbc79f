"""GetCompositeSchedule's pure computation (agent/core/smart_charging.py, OCPP 1.6 §3.13.4 / §5.13):
the work it takes is bounded by the profiles, not by the duration asked for, and the result
is the one the former computation (every breakpoint evaluated, tests/unit/composite_reference.py)
gave. No event loop."""

from __future__ import annotations

import datetime as dt
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.core.smart_charging import (
    DAY_S,
    MAX_COMPOSITE_PERIODS,
    MAX_DURATION_S,
    WEEK_S,
    Kind,
    Period,
    Profile,
    ProfileRejected,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    SmartCharging,
)
from tests.unit.composite_reference import reference_composite

UTC = dt.timezone.utc
MUTATION_RUN = bool(os.environ.get("EVSE_MUTATION_RUN"))  # set by .ci/mutation_gate.py
T0 = dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def recurring(pid: int, periods: list[tuple[int, float]], *, stack: int = 0, connector: int = 1,
              purpose: Purpose = Purpose.TX_DEFAULT, recurrency: Recurrency = Recurrency.DAILY,
              anchor_s: int = 0, valid_to: dt.datetime | None = None) -> Profile:
    return Profile(
        id=pid, connector_id=connector, stack_level=stack, purpose=purpose, kind=Kind.RECURRING,
        recurrency=recurrency, installed_at=T0, valid_to=valid_to,
        schedule=Schedule(RateUnit.AMPS, tuple(Period(s, a) for s, a in periods), start=at(anchor_s)),
    )


def absolute(pid: int, periods: list[tuple[int, float]], *, stack: int = 0, connector: int = 1,
             start_s: int = 0, duration: int | None = None) -> Profile:
    return Profile(
        id=pid, connector_id=connector, stack_level=stack, purpose=Purpose.TX_DEFAULT, kind=Kind.ABSOLUTE,
        installed_at=T0, schedule=Schedule(RateUnit.AMPS, tuple(Period(s, a) for s, a in periods),
                                           start=at(start_s), duration_s=duration),
    )


def busy_station() -> SmartCharging:
    """Profiles that change often: every recurrence of every period is a breakpoint."""
    sc = SmartCharging({1: 32.0, 2: 32.0})
    for pid in range(1, 6):  # daily, 48 half-hour periods, breakpoints apart from each other
        periods = [(i * 1800, 6.0 + (i * 7 + pid) % 20) for i in range(48)]
        sc.install(recurring(pid, periods, stack=pid, connector=1 if pid % 2 else 2, anchor_s=37 * pid))
    sc.install(recurring(9, [(0, 30.0), (5 * 3600, 40.0)], connector=0, purpose=Purpose.CHARGE_POINT_MAX,
                         recurrency=Recurrency.WEEKLY, anchor_s=11))
    sc.install(absolute(10, [(0, 10.0), (3600, 12.0), (7200, 14.0)], stack=9, start_s=600, duration=4 * 3600))
    sc.transaction_started(2, key=1, start=at(-300), id_tag="TAG")
    return sc


def test_the_work_does_not_grow_with_the_duration():
    sc = busy_station()
    for connector in (0, 1, 2):
        week = sc.composite(connector, T0, WEEK_S + DAY_S)
        # Bounded by the profiles: the breakpoints of one recurrence per segment between the
        # non-recurring breakpoints (here: the absolute profile's 5), never by the window.
        breakpoints_per_week = 7 * sum(len(p.schedule.periods) + 1 for p in sc.profiles if p.kind is Kind.RECURRING)
        bound = (5 + 1) * (breakpoints_per_week + 1)
        assert week.evaluations <= bound
        for duration in (60 * DAY_S, 365 * DAY_S, MAX_DURATION_S):
            longer = sc.composite(connector, T0, duration)
            assert longer.evaluations == week.evaluations, (connector, duration)
            assert len(longer.periods) <= MAX_COMPOSITE_PERIODS
            # Every period within the first week is the week's; the schedule says how far it reaches.
            assert longer.periods[: len(week.periods)] == week.periods
            assert 0 < longer.duration_s <= duration


def test_a_full_schedule_stops_where_its_last_period_ends():
    sc = SmartCharging({1: 32.0})
    sc.install(recurring(1, [(0, 6.0), (3600, 16.0)]))  # two changes a day
    composite = sc.composite(1, T0, MAX_DURATION_S)
    assert len(composite.periods) == MAX_COMPOSITE_PERIODS
    # 1024 periods = 512 days; the 1025th would start at day 512.
    assert composite.duration_s == 512 * DAY_S
    assert composite.periods[-1] .start_s == 511 * DAY_S + 3600
    short = sc.composite(1, T0, 3 * DAY_S)
    assert short.duration_s == 3 * DAY_S and len(short.periods) == 6


def test_a_recurrence_hidden_by_a_higher_profile_costs_one_cycle():
    # A daily profile under a constant higher one for a year: nothing changes, little is evaluated.
    sc = SmartCharging({1: 32.0})
    sc.install(recurring(1, [(i * 1800, 6.0 + i % 7) for i in range(48)]))
    sc.install(absolute(2, [(0, 10.0)], stack=5, start_s=-60))
    composite = sc.composite(1, T0, 365 * DAY_S)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 10.0)]
    assert composite.evaluations <= 48 + 2


# ---- the same result as before ----------------------------------------------------------

offsets = st.integers(-3 * DAY_S, 3 * DAY_S)


@st.composite
def profiles(draw, pid: int) -> Profile:
    purpose = draw(st.sampled_from(list(Purpose)))
    connector = {Purpose.CHARGE_POINT_MAX: st.just(0), Purpose.TX: st.sampled_from([1, 2])}.get(
        purpose, st.sampled_from([0, 1, 2]))
    kind = draw(st.sampled_from(list(Kind)))
    gaps = draw(st.lists(st.integers(1, 2 * DAY_S), max_size=4))
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    periods = tuple(
        Period(s, draw(st.integers(0, 80)) / 2, draw(st.sampled_from([None, 1, 3]))) for s in starts
    )
    valid_from = draw(st.none() | offsets.map(at))
    valid_to = draw(st.none() | offsets.map(at))
    if valid_from and valid_to and valid_to <= valid_from:
        valid_to = None
    return Profile(
        id=pid,
        connector_id=draw(connector),
        stack_level=draw(st.integers(0, 3)),
        purpose=purpose,
        kind=kind,
        recurrency=draw(st.sampled_from(list(Recurrency))) if kind is Kind.RECURRING else None,
        valid_from=valid_from,
        valid_to=valid_to,
        installed_at=at(draw(offsets)) + dt.timedelta(microseconds=draw(st.integers(0, 999_999))),
        schedule=Schedule(
            unit=draw(st.sampled_from(list(RateUnit))),
            periods=periods,
            duration_s=draw(st.none() | st.integers(60, 3 * DAY_S)),
            # Whole seconds, as startSchedule comes from the wire.
            start=at(draw(offsets)) if kind is Kind.RECURRING or draw(st.booleans()) else None,
            min_rate=draw(st.none() | st.sampled_from([6.0, 8.0])),
        ),
    )


@st.composite
def stations(draw):
    sc = SmartCharging({1: draw(st.sampled_from([16.0, 32.0])), 2: 32.0})
    tx_starts = {}
    for connector in (1, 2):
        if draw(st.booleans()):
            start = at(draw(offsets)) + dt.timedelta(microseconds=draw(st.integers(0, 999_999)))
            sc.transaction_started(connector, key=connector, start=start, id_tag=f"TAG{connector}")
            tx_starts[connector] = start
    for pid in range(1, draw(st.integers(1, 6)) + 1):
        try:
            sc.install(draw(profiles(pid)))
        except ProfileRejected:
            pass  # e.g. a TxProfile for a connector without a transaction
    return sc, tx_starts


# .ci/mutation runs this for every mutant of smart_charging.py: fewer examples there, and
# always the same ones, so that a mutation score does not move by chance.
@settings(max_examples=50 if MUTATION_RUN else 400, derandomize=MUTATION_RUN, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    station=stations(),
    connector=st.sampled_from([0, 1, 2]),
    start_s=offsets,
    microseconds=st.integers(0, 999_999),
    duration=st.integers(1, 16 * DAY_S),
    unit=st.sampled_from(list(RateUnit)),
    max_periods=st.sampled_from([3, 20, MAX_COMPOSITE_PERIODS]),
)
def test_the_composite_is_the_one_every_breakpoint_gave(station, connector, start_s, microseconds, duration, unit, max_periods):
    sc, tx_starts = station
    start = at(start_s) + dt.timedelta(microseconds=microseconds)
    expected = reference_composite(sc, tx_starts, connector, start, duration, unit, 229.0)
    got = sc.composite(connector, start, duration, unit, 229.0, max_periods=max_periods)
    assert got.periods == expected[:max_periods]
    if len(expected) > max_periods:
        assert got.duration_s == expected[max_periods].start_s
    else:
        assert got.duration_s == duration
