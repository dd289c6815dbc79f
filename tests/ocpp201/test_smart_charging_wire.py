"""The 2.0.1 adapter's translation of charging profiles (agent/ocpp201/handlers/smart_charging.py)
to and from the neutral smart charging, without a station: what it takes, what it refuses and why."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.core.smart_charging import Kind, Purpose, RateUnit, Recurrency
from agent.ocpp201.handlers.smart_charging import (
    Refused,
    matches_criterion,
    profile_from_wire,
    profile_to_wire,
)

NOW = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)


def wire(**changes) -> dict:
    schedule = {"id": 7, "charging_rate_unit": "W", "start_schedule": "2026-03-04T11:00:00Z", "duration": 7200,
                "min_charging_rate": 1400.0,
                "charging_schedule_period": [{"start_period": 0, "limit": 7000.0, "number_phases": 1},
                                             {"start_period": 3600, "limit": 11000.0}]}
    body = {"id": 3, "stack_level": 2, "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Recurring", "recurrency_kind": "Daily",
            "valid_from": "2026-03-01T00:00:00Z", "valid_to": "2026-04-01T00:00:00Z", "charging_schedule": [schedule]}
    schedule.update(changes.pop("schedule", {}))
    body.update(changes)
    return body


def test_a_profile_reads_into_the_neutral_form_and_back_unchanged():
    profile = profile_from_wire(wire(), 1, NOW)
    assert (profile.id, profile.connector_id, profile.stack_level) == (3, 1, 2)
    assert (profile.purpose, profile.kind, profile.recurrency) == (Purpose.TX_DEFAULT, Kind.RECURRING, Recurrency.DAILY)
    assert profile.schedule.unit is RateUnit.WATTS and profile.schedule.schedule_id == 7
    assert profile.schedule.start == dt.datetime(2026, 3, 4, 11, 0, tzinfo=dt.UTC)
    assert profile_to_wire(profile, None) == wire()


def test_the_station_maximum_and_a_tx_profile_keep_their_names_and_transaction():
    station_max = profile_from_wire(wire(charging_profile_purpose="ChargingStationMaxProfile"), 0, NOW)
    assert station_max.purpose is Purpose.CHARGE_POINT_MAX
    assert profile_to_wire(station_max, None)["charging_profile_purpose"] == "ChargingStationMaxProfile"
    relative = wire(charging_profile_purpose="TxProfile", charging_profile_kind="Relative",
                    schedule={"start_schedule": None})
    del relative["charging_schedule"][0]["start_schedule"], relative["recurrency_kind"]
    tx = profile_from_wire(relative, 1, NOW)
    assert profile_to_wire(tx, "tx-9") == {**relative, "transaction_id": "tx-9"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"charging_profile_purpose": "ChargingStationExternalConstraints"}, "InvalidProfile"),  # K01.FR.22
        ({"charging_profile_kind": "Relative"}, "InvalidSchedule"),  # K01.FR.41: no startSchedule
        ({"charging_profile_kind": "Absolute", "schedule": {"start_schedule": None}}, "InvalidSchedule"),  # K01.FR.40
        ({"charging_profile_purpose": "ChargingStationMaxProfile", "charging_profile_kind": "Relative",
          "schedule": {"start_schedule": None}}, "InvalidProfile"),  # K01.FR.38
    ],
)
def test_what_the_schema_lets_through_but_the_station_refuses(changes, reason):
    body = wire(**changes)
    body["charging_schedule"][0] = {k: v for k, v in body["charging_schedule"][0].items() if v is not None}
    with pytest.raises(Refused) as refused:
        profile_from_wire(body, 1, NOW)
    assert refused.value.reason_code == reason


def test_a_time_that_is_no_date_time_is_refused():
    with pytest.raises(Refused) as refused:
        profile_from_wire(wire(valid_to="next tuesday"), 1, NOW)
    assert refused.value.reason_code == "InvalidValue"


def test_one_schedule_per_profile_without_iso_15118():
    body = wire()
    body["charging_schedule"].append({**body["charging_schedule"][0], "id": 8})
    with pytest.raises(Refused, match="one"):
        profile_from_wire(body, 1, NOW)


@pytest.mark.parametrize(
    ("criterion", "evse_id", "matches"),
    [
        ({}, None, True),
        ({}, 1, True),
        ({}, 0, False),
        ({"charging_profile_id": [3, 4]}, None, True),
        ({"charging_profile_id": [4]}, None, False),
        ({"charging_profile_purpose": "TxDefaultProfile", "stack_level": 2}, 1, True),
        ({"charging_profile_purpose": "TxProfile"}, 1, False),
        ({"stack_level": 0}, 1, False),
        ({"charging_limit_source": ["CSO", "EMS"]}, 1, True),
        ({"charging_limit_source": ["EMS"]}, 1, False),
    ],
)
def test_get_charging_profiles_criteria_must_all_hold(criterion, evse_id, matches):
    assert matches_criterion(profile_from_wire(wire(), 1, NOW), criterion, evse_id) is matches
