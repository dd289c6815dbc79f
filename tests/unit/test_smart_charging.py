"""The pure smart-charging rules (agent/core/smart_charging.py), OCPP 1.6 §3.13, without an event loop."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from agent.core.smart_charging import (
    Kind,
    Limits,
    Period,
    Profile,
    ProfileRejected,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    SmartCharging,
    conflicting,
    from_dict,
    to_dict,
)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


def at(**delta) -> dt.datetime:
    return T0 + dt.timedelta(**delta)


def profile(
    pid: int = 1,
    *,
    connector: int = 1,
    purpose: Purpose = Purpose.TX_DEFAULT,
    kind: Kind = Kind.ABSOLUTE,
    stack: int = 0,
    periods: list[tuple] = ((0, 16.0),),
    unit: RateUnit = RateUnit.AMPS,
    start: dt.datetime | None = T0,
    duration: int | None = None,
    recurrency: Recurrency | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    min_rate: float | None = None,
) -> Profile:
    return Profile(
        id=pid,
        connector_id=connector,
        stack_level=stack,
        purpose=purpose,
        kind=kind,
        recurrency=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        installed_at=T0,
        schedule=Schedule(
            unit=unit,
            periods=tuple(Period(*p) for p in periods),
            duration_s=duration,
            start=start,
            min_rate=min_rate,
        ),
    )


def station(*profiles: Profile, connectors=(1,), max_a: float = 32.0, limits: Limits | None = None) -> SmartCharging:
    sc = SmartCharging({c: max_a for c in connectors}, limits or Limits())
    for p in profiles:
        sc.install(p)
    return sc


# ---- no profile, one profile -------------------------------------------------------


def test_no_profile_is_no_limit():
    sc = station()
    assert sc.limit_at(1, T0) is None
    assert sc.next_change_after(1, T0) is None


def test_absolute_periods_apply_in_turn():
    sc = station(profile(periods=[(0, 10.0), (600, 6.0), (1200, 16.0)]))
    assert sc.limit_at(1, at(seconds=-1)) is None  # before startSchedule
    assert sc.limit_at(1, T0) == 10.0
    assert sc.limit_at(1, at(seconds=599)) == 10.0
    assert sc.limit_at(1, at(seconds=600)) == 6.0
    assert sc.limit_at(1, at(hours=5)) == 16.0  # no duration: the last period goes on
    assert sc.next_change_after(1, at(seconds=1)) == at(seconds=600)
    assert sc.next_change_after(1, at(seconds=600)) == at(seconds=1200)
    assert sc.next_change_after(1, at(seconds=1300)) is None


def test_duration_ends_the_schedule():
    sc = station(profile(periods=[(0, 10.0)], duration=3600))
    assert sc.limit_at(1, at(seconds=3599)) == 10.0
    assert sc.limit_at(1, at(seconds=3600)) is None
    assert sc.next_change_after(1, T0) == at(seconds=3600)


def test_valid_from_and_valid_to_bound_the_profile():
    sc = station(profile(start=at(days=-1), valid_from=at(hours=1), valid_to=at(hours=2), periods=[(0, 8.0)]))
    assert sc.limit_at(1, T0) is None
    assert sc.limit_at(1, at(hours=1)) == 8.0
    assert sc.limit_at(1, at(hours=2)) is None
    assert sc.next_change_after(1, T0) == at(hours=1)
    assert sc.next_change_after(1, at(hours=1)) == at(hours=2)


def test_absolute_without_start_schedule_starts_when_installed():
    sc = station(profile(start=None, periods=[(0, 6.0), (60, 12.0)]))
    assert sc.limit_at(1, T0) == 6.0
    assert sc.limit_at(1, at(seconds=60)) == 12.0


# ---- precedence ---------------------------------------------------------------------


def test_highest_stack_level_wins_where_it_is_in_effect():
    # As OCPP 1.6 §3.13.2 / the test case TC_072: the higher level for its duration, then the lower.
    sc = station(
        profile(1, stack=0, periods=[(0, 6.0), (100, 8.0), (200, 10.0)], duration=400),
        profile(2, stack=1, periods=[(0, 7.0), (100, 9.0)], duration=150),
    )
    assert sc.limit_at(1, T0) == 7.0
    assert sc.limit_at(1, at(seconds=100)) == 9.0
    assert sc.limit_at(1, at(seconds=150)) == 8.0
    assert sc.limit_at(1, at(seconds=200)) == 10.0
    assert sc.limit_at(1, at(seconds=400)) is None
    composite = sc.composite(1, T0, 400)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 7.0), (100, 9.0), (150, 8.0), (200, 10.0)]


def test_a_higher_stack_level_may_raise_the_limit():
    sc = station(profile(1, stack=0, periods=[(0, 6.0)]), profile(2, stack=3, periods=[(0, 20.0)]))
    assert sc.limit_at(1, T0) == 20.0


def test_connector_tx_default_replaces_connector_zero_for_that_connector():
    sc = station(
        profile(1, connector=0, periods=[(0, 10.0)]),
        profile(2, connector=2, periods=[(0, 12.0)]),
        connectors=(1, 2),
    )
    assert sc.limit_at(1, T0) == 10.0
    assert sc.limit_at(2, T0) == 12.0
    # At a higher stack level the connector-0 profile wins again.
    sc.install(profile(3, connector=0, stack=2, periods=[(0, 8.0)]))
    assert sc.limit_at(2, T0) == 8.0


def test_tx_profile_overrides_tx_default_and_goes_with_its_transaction():
    sc = station(profile(1, periods=[(0, 10.0)]))
    with pytest.raises(ProfileRejected):
        sc.install(profile(2, purpose=Purpose.TX, periods=[(0, 20.0)]))  # no transaction yet
    sc.transaction_started(1, key=7, start=T0, id_tag="TAG")
    sc.install(profile(2, purpose=Purpose.TX, periods=[(0, 20.0)]))
    assert sc.limit_at(1, T0) == 20.0
    assert [p.id for p in sc.transaction_ended(1)] == [2]
    assert sc.limit_at(1, T0) == 10.0


def test_charge_point_max_limits_every_connector_and_is_shared():
    sc = station(
        profile(1, connector=0, purpose=Purpose.CHARGE_POINT_MAX, periods=[(0, 20.0)]),
        profile(2, connector=0, periods=[(0, 16.0)]),
        connectors=(1, 2),
    )
    assert sc.limit_at(1, T0) == 16.0
    sc.install(profile(3, connector=0, purpose=Purpose.CHARGE_POINT_MAX, stack=1, periods=[(0, 12.0)]))
    assert sc.limit_at(1, T0) == 12.0
    # Two transactions share the charge point's maximum equally.
    sc.transaction_started(1, 1, T0, "A")
    sc.transaction_started(2, 2, T0, "B")
    assert sc.limit_at(1, T0) == 6.0 and sc.limit_at(2, T0) == 6.0


def test_same_purpose_and_stack_level_replaces_and_same_id_replaces():
    sc = station(profile(1, periods=[(0, 10.0)]))
    replaced = sc.install(profile(2, periods=[(0, 11.0)]))  # same purpose, level and connector
    assert [p.id for p in replaced] == [1] and sc.limit_at(1, T0) == 11.0
    replaced = sc.install(profile(2, stack=4, periods=[(0, 12.0)]))  # same id
    assert [p.id for p in replaced] == [2] and [p.id for p in sc.profiles] == [2]


def test_without_same_level_replacing_only_the_same_id_replaces():
    """OCPP 2.0.1 K01.FR.05: only the id replaces; two profiles of one level may then coexist
    (the adapter refuses those whose validity overlaps, K01.FR.06)."""
    sc = station(profile(1, periods=[(0, 10.0)], valid_to=at(hours=1)))
    replaced = sc.install(profile(2, periods=[(0, 11.0)], valid_from=at(hours=1)), same_level_replaces=False)
    assert replaced == [] and [p.id for p in sc.profiles] == [1, 2]
    assert sc.limit_at(1, T0) == 10.0 and sc.limit_at(1, at(hours=2)) == 11.0
    replaced = sc.install(profile(2, stack=3, periods=[(0, 12.0)]), same_level_replaces=False)
    assert [p.id for p in replaced] == [2] and [p.id for p in sc.profiles] == [1, 2]


@pytest.mark.parametrize(
    ("new", "clash"),
    [
        (profile(2), 1),  # same purpose, level and connector, both valid for ever
        (profile(1, periods=[(0, 6.0)]), None),  # the same id replaces, it does not clash
        (profile(2, stack=1), None),
        (profile(2, connector=0), None),
        (profile(2, purpose=Purpose.CHARGE_POINT_MAX, connector=0), None),
        (profile(2, valid_from=at(hours=1)), None),  # begins when the installed one ends
        (profile(2, valid_from=at(minutes=59)), 1),
        (profile(2, valid_to=at(hours=-1)), None),  # over before the installed one begins
        (profile(2, valid_to=T0), None),  # ends when the installed one begins
        (profile(2, valid_to=at(minutes=1)), 1),
    ],
)
def test_overlapping_profiles_of_one_level_conflict(new, clash):
    installed = [profile(1, valid_from=T0, valid_to=at(hours=1))]
    found = conflicting(new, installed)
    assert (found.id if found else None) == clash


# ---- kinds ----------------------------------------------------------------------------


def test_recurring_daily_across_midnight():
    # Every night 22:00-06:00 at 6 A, else 16 A; anchored on an earlier day.
    anchor = dt.datetime(2026, 1, 1, 22, 0, tzinfo=UTC)
    sc = station(
        profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=anchor, periods=[(0, 6.0), (8 * 3600, 16.0)])
    )
    night = dt.datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    assert sc.limit_at(1, night) == 6.0
    assert sc.limit_at(1, night + dt.timedelta(hours=2)) == 6.0  # after midnight
    assert sc.limit_at(1, dt.datetime(2026, 3, 5, 6, 0, tzinfo=UTC)) == 16.0
    assert sc.limit_at(1, dt.datetime(2026, 3, 5, 21, 59, tzinfo=UTC)) == 16.0
    assert sc.next_change_after(1, night) == dt.datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
    assert sc.next_change_after(1, dt.datetime(2026, 3, 5, 7, 0, tzinfo=UTC)) == dt.datetime(2026, 3, 5, 22, 0, tzinfo=UTC)
    # The recurrence also runs before its anchor (today's 18:00 anchor governs this morning).
    later = station(
        profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=at(hours=10), periods=[(0, 6.0), (8 * 3600, 16.0)])
    )
    assert later.limit_at(1, at(hours=-8)) == 6.0  # 04:00: yesterday's 22:00 night
    composite = sc.composite(1, dt.datetime(2026, 3, 4, 20, 0, tzinfo=UTC), 12 * 3600)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 16.0), (7200, 6.0), (36000, 16.0)]


def test_recurring_daily_with_duration_leaves_a_gap():
    sc = station(
        profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=T0, duration=3600, periods=[(0, 8.0)])
    )
    assert sc.limit_at(1, at(days=3, minutes=30)) == 8.0
    assert sc.limit_at(1, at(days=3, hours=2)) is None
    assert sc.next_change_after(1, at(days=3, hours=2)) == at(days=4)


def test_recurring_weekly_across_the_week_boundary():
    # From Sunday 20:00 for 14 h (into Monday): 6 A; the rest of the week 16 A.
    sunday = dt.datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    assert sunday.weekday() == 6
    sc = station(
        profile(kind=Kind.RECURRING, recurrency=Recurrency.WEEKLY, start=sunday, periods=[(0, 6.0), (14 * 3600, 16.0)])
    )
    assert sc.limit_at(1, dt.datetime(2026, 3, 8, 23, 0, tzinfo=UTC)) == 6.0  # next Sunday
    assert sc.limit_at(1, dt.datetime(2026, 3, 9, 9, 59, tzinfo=UTC)) == 6.0  # Monday morning
    assert sc.limit_at(1, dt.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)) == 16.0
    assert sc.limit_at(1, dt.datetime(2026, 3, 14, 12, 0, tzinfo=UTC)) == 16.0  # Saturday
    assert sc.next_change_after(1, dt.datetime(2026, 3, 10, 0, 0, tzinfo=UTC)) == dt.datetime(2026, 3, 15, 20, 0, tzinfo=UTC)


def test_relative_starts_at_the_transaction_start():
    sc = station(profile(kind=Kind.RELATIVE, start=None, periods=[(0, 6.0), (1800, 16.0)]))
    # Without a transaction: as if one started now (its first period), and nothing changes.
    assert sc.limit_at(1, at(hours=5)) == 6.0
    assert sc.next_change_after(1, at(hours=5)) is None
    sc.transaction_started(1, key=3, start=at(minutes=10), id_tag="TAG")
    assert sc.limit_at(1, at(minutes=39)) == 6.0
    assert sc.limit_at(1, at(minutes=40)) == 16.0
    assert sc.next_change_after(1, at(minutes=11)) == at(minutes=40)
    # The composite of an idle connector shows a transaction starting at its start.
    sc.transaction_ended(1)
    composite = sc.composite(1, T0, 3600)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 6.0), (1800, 16.0)]


# ---- units, minChargingRate -------------------------------------------------------------


def test_watts_become_amps_with_phases_and_voltage():
    sc = station(profile(unit=RateUnit.WATTS, periods=[(0, 11000.0), (60, 3680.0, 1)]))
    assert sc.limit_at(1, T0) == 15.9  # 11 kW / (3 × 230 V), rounded down
    assert sc.limit_at(1, at(seconds=60)) == 16.0  # 3.68 kW on one phase
    assert sc.limit_at(1, T0, voltage_v=220.0) == 16.6


def test_composite_in_watts_and_amps():
    sc = station(profile(unit=RateUnit.AMPS, periods=[(0, 10.0), (60, 16.0, 1)]))
    watts = sc.composite(1, T0, 120, RateUnit.WATTS)
    assert watts.unit is RateUnit.WATTS
    assert [(p.start_s, p.limit, p.phases) for p in watts.periods] == [(0, 6900.0, None), (60, 3680.0, 1)]
    sc2 = station(profile(unit=RateUnit.WATTS, periods=[(0, 6900.0)]))
    assert [(p.start_s, p.limit) for p in sc2.composite(1, T0, 60, RateUnit.AMPS).periods] == [(0, 10.0)]


def test_min_charging_rate_below_it_means_no_charging():
    sc = station(profile(periods=[(0, 4.0), (60, 8.0)], min_rate=6.0))
    assert sc.limit_at(1, T0) == 0.0
    assert sc.limit_at(1, at(seconds=60)) == 8.0


# ---- composite ---------------------------------------------------------------------------


def test_composite_merges_equal_neighbours_and_is_capped_by_the_connector_maximum():
    sc = station(
        profile(1, periods=[(0, 40.0), (60, 10.0), (120, 10.0), (180, 20.0)]),
        max_a=16.0,
    )
    composite = sc.composite(1, T0, 300)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 16.0), (60, 10.0), (180, 16.0)]
    assert composite.start == T0 and composite.duration_s == 300


def test_composite_without_profiles_is_the_connector_maximum():
    sc = station(max_a=16.0)
    assert [(p.start_s, p.limit) for p in sc.composite(1, T0, 600).periods] == [(0, 16.0)]


def test_composite_tx_over_default_limited_by_charge_point_max():
    sc = station(
        profile(1, connector=0, purpose=Purpose.CHARGE_POINT_MAX, periods=[(0, 30.0), (300, 12.0)]),
        profile(2, periods=[(0, 10.0)]),
    )
    sc.transaction_started(1, 5, T0, "T")
    sc.install(profile(3, purpose=Purpose.TX, periods=[(0, 20.0), (600, 25.0)], start=T0))
    composite = sc.composite(1, T0, 900)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 20.0), (300, 12.0)]


def test_composite_of_connector_zero_is_the_charge_point_total():
    sc = station(
        profile(1, connector=0, purpose=Purpose.CHARGE_POINT_MAX, periods=[(0, 40.0), (600, 20.0)]),
        profile(2, connector=1, periods=[(0, 16.0)]),
        connectors=(1, 2),
        max_a=32.0,
    )
    composite = sc.composite(0, T0, 1200)
    # 16 A (connector 1) + 32 A (connector 2) = 48 A, capped at 40 A, then 20 A.
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 40.0), (600, 20.0)]
    sc.clear(purpose=Purpose.CHARGE_POINT_MAX)
    assert [(p.start_s, p.limit) for p in sc.composite(0, T0, 1200).periods] == [(0, 48.0)]


def test_composite_starts_mid_period():
    sc = station(profile(periods=[(0, 10.0), (3600, 12.0)]))
    composite = sc.composite(1, at(minutes=30), 3600)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 10.0), (1800, 12.0)]


# ---- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        profile(connector=1, purpose=Purpose.CHARGE_POINT_MAX),  # only on connector 0
        profile(connector=0, purpose=Purpose.TX),  # never on connector 0
        profile(connector=9),  # no such connector
        profile(stack=11),  # above ChargeProfileMaxStackLevel
        profile(stack=-1),
        profile(periods=[(10, 6.0)]),  # the first period starts at 0
        profile(periods=[(0, 6.0), (0, 8.0)]),  # starts must increase
        profile(periods=[(0, -1.0)]),
        profile(periods=[(0, 6.0, 4)]),
        profile(periods=[(i * 60, 6.0) for i in range(49)]),  # above ChargingScheduleMaxPeriods
        profile(kind=Kind.RECURRING, recurrency=None),
        profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=None),
        profile(valid_from=at(hours=1), valid_to=T0),
        profile(valid_from=T0, valid_to=T0),  # valid for no time at all
        profile(duration=0),
    ],
)
def test_invalid_profiles_are_rejected(bad):
    sc = station()
    with pytest.raises(ProfileRejected):
        sc.install(bad)
    assert sc.profiles == []


def test_units_not_allowed_are_rejected():
    sc = station(limits=Limits(units=frozenset({RateUnit.AMPS})))
    with pytest.raises(ProfileRejected):
        sc.install(profile(unit=RateUnit.WATTS))


def test_more_profiles_than_allowed_are_rejected_but_replacing_is_fine():
    sc = station(*(profile(i, stack=i) for i in range(3)), limits=Limits(max_profiles=3))
    with pytest.raises(ProfileRejected):
        sc.install(profile(10, stack=5))
    sc.install(profile(1, stack=1, periods=[(0, 9.0)]))
    assert len(sc.profiles) == 3


# ---- clearing ----------------------------------------------------------------------------


@pytest.fixture
def four():
    sc = station(
        profile(1, connector=0, purpose=Purpose.CHARGE_POINT_MAX, stack=0),
        profile(2, connector=0, purpose=Purpose.TX_DEFAULT, stack=0),
        profile(3, connector=1, purpose=Purpose.TX_DEFAULT, stack=1),
        profile(4, connector=2, purpose=Purpose.TX_DEFAULT, stack=1),
        connectors=(1, 2),
    )
    return sc


@pytest.mark.parametrize(
    "criteria, cleared",
    [
        ({}, [1, 2, 3, 4]),
        ({"profile_id": 3}, [3]),
        ({"profile_id": 3, "connector_id": 2}, [3]),  # an id clears that profile; the rest is ignored
        ({"profile_id": 99}, []),
        ({"connector_id": 0}, [1, 2]),
        ({"connector_id": 1}, [3]),
        ({"purpose": Purpose.TX_DEFAULT}, [2, 3, 4]),
        ({"stack_level": 1}, [3, 4]),
        ({"connector_id": 0, "purpose": Purpose.TX_DEFAULT}, [2]),
        ({"purpose": Purpose.TX_DEFAULT, "stack_level": 0}, [2]),
        ({"connector_id": 2, "stack_level": 1}, [4]),
        ({"connector_id": 0, "purpose": Purpose.CHARGE_POINT_MAX, "stack_level": 0}, [1]),
        ({"connector_id": 1, "purpose": Purpose.CHARGE_POINT_MAX}, []),
        ({"purpose": Purpose.TX}, []),
    ],
)
def test_clear_filters(four, criteria, cleared):
    removed = four.clear(**criteria)
    assert sorted(p.id for p in removed) == cleared
    assert sorted(p.id for p in four.profiles) == sorted({1, 2, 3, 4} - set(cleared))


# ---- remote start's profile, storage form ---------------------------------------------------


def test_a_remote_start_profile_limits_its_connector_and_binds_to_the_transaction():
    sc = station(profile(1, periods=[(0, 16.0)]), connectors=(1, 2))
    tx_profile = profile(5, connector=0, purpose=Purpose.TX, start=None, kind=Kind.RELATIVE, periods=[(0, 8.0)])
    sc.add_pending(tx_profile, 1, "TAG", deadline=at(minutes=2))
    assert sc.limit_at(1, T0) == 8.0  # in place before the transaction begins
    assert sc.limit_at(2, T0) is None
    bound = sc.transaction_started(1, key=4, start=at(seconds=5), id_tag="TAG")
    assert [(p.id, p.connector_id, p.transaction) for p in bound] == [(5, 1, 4)]
    assert sc.limit_at(1, at(seconds=6)) == 8.0
    sc.transaction_ended(1)
    assert sc.limit_at(1, at(seconds=7)) == 16.0


def test_a_remote_start_profile_for_any_connector_binds_by_id_tag_and_expires():
    sc = station(connectors=(1, 2))
    tx_profile = profile(5, connector=0, purpose=Purpose.TX, periods=[(0, 8.0)])
    sc.add_pending(tx_profile, None, "TAG", deadline=at(minutes=2))
    assert sc.transaction_started(1, key=1, start=T0, id_tag="OTHER") == []
    assert [p.connector_id for p in sc.transaction_started(2, key=2, start=T0, id_tag="TAG")] == [2]
    sc.add_pending(profile(6, connector=0, purpose=Purpose.TX), None, "LATE", deadline=at(minutes=2))
    sc.expire_pending(at(minutes=3))
    assert sc.pending == []
    with pytest.raises(ProfileRejected):
        sc.add_pending(profile(7, connector=0), 1, "X", deadline=at(minutes=2))  # not a TxProfile


def test_tx_profiles_of_a_transaction_that_ended_meanwhile_are_dropped():
    sc = station()
    sc.transaction_started(1, key=1, start=T0, id_tag="A")
    sc.install(profile(2, purpose=Purpose.TX, periods=[(0, 8.0)]))
    restarted = SmartCharging({1: 32.0}, Limits(), sc.profiles)
    restarted.transaction_started(1, key=2, start=at(hours=1), id_tag="B")
    assert restarted.profiles == []


def test_storage_form_round_trips():
    p = profile(
        9, kind=Kind.RECURRING, recurrency=Recurrency.WEEKLY, valid_from=T0, valid_to=at(days=30),
        unit=RateUnit.WATTS, periods=[(0, 7000.0, 1), (3600, 11000.0)], duration=7200, min_rate=1400.0,
    )
    assert from_dict(to_dict(p)) == p
    with_id = dataclasses.replace(p, schedule=dataclasses.replace(p.schedule, schedule_id=4))
    assert from_dict(to_dict(with_id)) == with_id
    stored_before = to_dict(p)
    del stored_before["schedule"]["schedule_id"]  # written before OCPP 2.0.1 kept schedule ids
    assert from_dict(stored_before) == p


def test_a_tx_profile_stored_for_its_transaction_is_restored_for_it():
    p = dataclasses.replace(profile(3, purpose=Purpose.TX, kind=Kind.RELATIVE, start=None), transaction=17)
    stored = to_dict(p)
    assert stored["recurrency"] is None and stored["valid_from"] is None and stored["schedule"]["start"] is None
    restored = from_dict(stored)
    assert restored == p and restored.transaction == 17


def test_a_clash_is_found_behind_profiles_that_do_not_clash():
    installed = [profile(1, stack=2), profile(2, connector=0), profile(3, valid_to=at(hours=1))]
    found = conflicting(profile(4, valid_from=at(minutes=30)), installed)
    assert found is not None and found.id == 3


@pytest.mark.parametrize(
    "fine",
    [
        profile(stack=10),  # ChargeProfileMaxStackLevel itself
        profile(periods=[(0, 0.0)]),  # a limit of 0 pauses charging
        profile(duration=1),
        profile(valid_from=T0, valid_to=at(seconds=1)),
    ],
)
def test_profiles_at_the_edge_of_the_rules_are_accepted(fine):
    sc = station()
    assert sc.install(fine) == [] and sc.profiles == [fine]


def test_a_new_remote_start_profile_for_one_id_tag_keeps_the_others():
    sc = station(connectors=(1, 2))
    sc.add_pending(profile(5, connector=0, purpose=Purpose.TX, periods=[(0, 8.0)]), 1, "A", deadline=at(minutes=2))
    sc.add_pending(profile(6, connector=0, purpose=Purpose.TX, periods=[(0, 6.0)]), 2, "B", deadline=at(minutes=2))
    sc.add_pending(profile(7, connector=0, purpose=Purpose.TX, periods=[(0, 10.0)]), 1, "A", deadline=at(minutes=2))
    assert sc.limit_at(1, T0) == 10.0 and sc.limit_at(2, T0) == 6.0
    assert [p.id for p in sc.transaction_started(2, key=1, start=T0, id_tag="B")] == [6]


def test_a_remote_start_profile_goes_when_its_deadline_comes():
    sc = station()
    sc.add_pending(profile(5, connector=0, purpose=Purpose.TX, periods=[(0, 8.0)]), 1, "A", deadline=at(minutes=2))
    sc.expire_pending(at(minutes=1))
    assert sc.limit_at(1, T0) == 8.0
    sc.expire_pending(at(minutes=2))
    assert sc.pending == [] and sc.limit_at(1, T0) is None


def test_the_next_change_of_a_relative_profile_counts_from_the_transaction_start():
    sc = station()
    sc.transaction_started(1, key=1, start=T0, id_tag="A")
    sc.install(profile(2, purpose=Purpose.TX, kind=Kind.RELATIVE, start=None, periods=[(0, 16.0), (600, 8.0), (1800, 16.0)]))
    assert sc.limit_at(1, at(minutes=12)) == 8.0
    assert sc.next_change_after(1, at(minutes=12)) == at(minutes=30)


def test_the_next_change_of_a_watts_profile_is_found():
    sc = station(profile(1, unit=RateUnit.WATTS, periods=[(0, 11040.0), (3600, 4140.0)]))
    assert sc.limit_at(1, T0) == 16.0
    assert sc.next_change_after(1, T0) == at(hours=1)


def test_composite_of_connector_zero_counts_each_connectors_own_limit():
    sc = station(
        profile(1, connector=0, periods=[(0, 16.0)]),  # TxDefault for every connector ...
        profile(2, connector=2, periods=[(0, 10.0)]),  # ... but connector 2 has its own
        connectors=(1, 2),
        max_a=32.0,
    )
    sc.transaction_started(1, key=1, start=at(minutes=-5), id_tag="A")
    # Connector 1's transaction has a TxProfile in W, read from the transaction start: 8 A, then 6 A.
    sc.install(profile(3, purpose=Purpose.TX, kind=Kind.RELATIVE, start=None, unit=RateUnit.WATTS,
                       periods=[(0, 5520.0), (600, 4140.0)]))
    assert sc.limit_at(1, T0) == 8.0
    composite = sc.composite(0, T0, 1200)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 18.0), (300, 16.0)]
