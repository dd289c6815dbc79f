"""Smart Charging (OCPP 1.6 §3.13) through ocpp-csms: profiles reach the board's PWM current."""

from __future__ import annotations

import datetime as dt

from ocpp.v16 import call
from ocpp.v16.datatypes import ChargingProfile, ChargingSchedule, ChargingSchedulePeriod
from ocpp_csms import BootEvent, TransactionStartedEvent, TransactionStoppedEvent

from tests.integration.test_session_flow import booted, evse, status_reached

MAX_A = 16  # connectors.max_current_a in the test config


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def now() -> dt.datetime:
    # The agent takes its time from ocpp-csms (BootNotification.conf), which runs on this machine.
    return dt.datetime.now(dt.timezone.utc)


def profile(pid, purpose, periods, *, kind="Absolute", start=None, stack=0, unit="A", duration=None, transaction_id=None):
    return ChargingProfile(
        charging_profile_id=pid,
        stack_level=stack,
        charging_profile_purpose=purpose,
        charging_profile_kind=kind,
        transaction_id=transaction_id,
        charging_schedule=ChargingSchedule(
            charging_rate_unit=unit,
            duration=duration,
            start_schedule=_iso(start) if start else None,
            charging_schedule_period=[ChargingSchedulePeriod(start_period=s, limit=a) for s, a in periods],
        ),
    )


async def set_profile(cp, connector_id, p) -> str:
    return (await cp.async_call(call.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=p))).status


async def start_session(sim, csms, tag="TAG-1"):
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    assert await cp.async_remote_start_transaction(tag, connector_id=1) == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    return started.transaction


async def test_tx_default_profile_limits_the_board_until_cleared(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    hour_ago = now() - dt.timedelta(hours=1)
    assert await set_profile(cp, 0, profile(1, "TxDefaultProfile", [(0, 10.0)], start=hour_ago)) == "Accepted"

    await start_session(sim, csms)
    state = await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 10.0, timeout=10)
    assert evse(state)["contactor_closed"]

    result = await cp.async_call(call.GetCompositeSchedule(connector_id=1, duration=600, charging_rate_unit="A"))
    assert result.status == "Accepted" and result.connector_id == 1
    schedule = result.charging_schedule
    assert schedule["charging_rate_unit"] == "A" and schedule["duration"] == 600
    assert [(p["start_period"], p["limit"]) for p in schedule["charging_schedule_period"]] == [(0, 10.0)]
    start = dt.datetime.fromisoformat(result.schedule_start.replace("Z", "+00:00"))
    assert abs((start - now()).total_seconds()) < 5
    watts = await cp.async_call(call.GetCompositeSchedule(connector_id=1, duration=600, charging_rate_unit="W"))
    assert [p["limit"] for p in watts.charging_schedule["charging_schedule_period"]] == [6900.0]  # 10 A × 3 × 230 V
    total = await cp.async_call(call.GetCompositeSchedule(connector_id=0, duration=600))
    assert total.status == "Accepted"
    assert [p["limit"] for p in total.charging_schedule["charging_schedule_period"]] == [10.0]
    unknown = await cp.async_call(call.GetCompositeSchedule(connector_id=7, duration=600))
    assert unknown.status == "Rejected"

    assert (await cp.async_call(call.ClearChargingProfile(id=1))).status == "Accepted"
    await sim.wait_for(lambda s: evse(s)["current_limit_a"] == MAX_A, timeout=15)
    assert (await cp.async_call(call.ClearChargingProfile())).status == "Unknown"


async def test_a_limit_under_6a_pauses_and_a_later_period_resumes(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    tx = await start_session(sim, csms)
    await csms.recorder.wait_for(status_reached(csms, "Charging"))
    mark = len(csms.recorder.events)
    # 0 A for 15 s, then 10 A: a TxProfile for the running transaction.
    pause = profile(7, "TxProfile", [(0, 0.0), (15, 10.0)], start=now(), transaction_id=tx.transaction_id)
    assert await set_profile(cp, 1, pause) == "Accepted"

    await csms.recorder.wait_for(status_reached(csms, "SuspendedEVSE"), after=mark, timeout=15)
    state = await sim.wait_for(lambda s: not evse(s)["contactor_closed"], timeout=5)
    assert evse(state)["current_limit_a"] == 0 and evse(state)["plugged"]
    await csms.recorder.wait_for(status_reached(csms, "Charging"), after=mark, timeout=30)
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 10.0, timeout=5)
    assert not csms.recorder.of(TransactionStoppedEvent)  # the same transaction went on

    # The TxProfile goes with its transaction: the next one charges at the maximum.
    assert await cp.async_remote_stop_transaction(tx.transaction_id) == "Accepted"
    await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    composite = await cp.async_call(call.GetCompositeSchedule(connector_id=1, duration=60))
    assert [p["limit"] for p in composite.charging_schedule["charging_schedule_period"]] == [float(MAX_A)]


async def test_set_charging_profile_rejections_and_keys(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    t = now()
    # TxProfile without a transaction; purposes on the wrong connector; limits of §9.4.
    assert await set_profile(cp, 1, profile(1, "TxProfile", [(0, 8.0)], start=t)) == "Rejected"
    assert await set_profile(cp, 1, profile(2, "ChargePointMaxProfile", [(0, 8.0)], start=t)) == "Rejected"
    assert await set_profile(cp, 0, profile(3, "TxProfile", [(0, 8.0)], start=t)) == "Rejected"
    assert await set_profile(cp, 3, profile(4, "TxDefaultProfile", [(0, 8.0)], start=t)) == "Rejected"
    config = await cp.async_get_configuration(
        ["ChargeProfileMaxStackLevel", "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled",
         "ChargingScheduleAllowedChargingRateUnit", "SupportedFeatureProfiles"]
    )
    assert all(v.readonly for v in config.values.values())
    assert config.values["ChargingScheduleAllowedChargingRateUnit"].value == "Current,Power"
    assert "SmartCharging" in config.values["SupportedFeatureProfiles"].value.split(",")
    max_stack = int(config.values["ChargeProfileMaxStackLevel"].value)
    max_periods = int(config.values["ChargingScheduleMaxPeriods"].value)
    max_profiles = int(config.values["MaxChargingProfilesInstalled"].value)
    too_deep = profile(5, "TxDefaultProfile", [(0, 8.0)], start=t, stack=max_stack + 1)
    assert await set_profile(cp, 1, too_deep) == "Rejected"
    too_long = profile(6, "TxDefaultProfile", [(i * 60, 8.0) for i in range(max_periods + 1)], start=t)
    assert await set_profile(cp, 1, too_long) == "Rejected"
    recurring_without_kind = profile(7, "TxDefaultProfile", [(0, 8.0)], kind="Recurring", start=t)
    assert await set_profile(cp, 1, recurring_without_kind) == "Rejected"
    for i in range(max_profiles):
        p = profile(100 + i, "TxDefaultProfile", [(0, 16.0)], start=t, stack=i % (max_stack + 1))
        assert await set_profile(cp, i // (max_stack + 1), p) == "Accepted", i
    one_more = profile(999, "ChargePointMaxProfile", [(0, 32.0)], start=t, stack=max_stack)
    assert await set_profile(cp, 0, one_more) == "Rejected"
    # Replacing one (same id) is fine at the maximum.
    assert await set_profile(cp, 0, profile(100, "TxDefaultProfile", [(0, 12.0)], start=t)) == "Accepted"
    # Clearing with filters: connector 1, stack level 0 → one profile; then all TxDefault ones.
    assert (await cp.async_call(call.ClearChargingProfile(connector_id=1, stack_level=0))).status == "Accepted"
    assert (await cp.async_call(call.ClearChargingProfile(connector_id=1, stack_level=0))).status == "Unknown"
    cleared = await cp.async_call(call.ClearChargingProfile(charging_profile_purpose="TxDefaultProfile"))
    assert cleared.status == "Accepted"
    assert (await cp.async_call(call.ClearChargingProfile())).status == "Unknown"


async def test_remote_start_charging_profile_applies_to_its_transaction(sim, csms, make_agent):
    await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    sim.plug(1)
    await csms.recorder.wait_for(status_reached(csms, "Preparing"))
    not_tx = profile(3, "TxDefaultProfile", [(0, 8.0)], kind="Relative")
    request = call.RemoteStartTransaction(id_tag="TAG-9", connector_id=1, charging_profile=not_tx)
    assert (await cp.async_call(request)).status == "Rejected"
    tx_profile = profile(4, "TxProfile", [(0, 8.0)], kind="Relative")
    request = call.RemoteStartTransaction(id_tag="TAG-9", connector_id=1, charging_profile=tx_profile)
    assert (await cp.async_call(request)).status == "Accepted"
    started = await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStartedEvent))
    # The limit is in place when the PWM starts: the board never offers more.
    state = await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)
    assert evse(state)["current_limit_a"] == 8.0
    composite = await cp.async_call(call.GetCompositeSchedule(connector_id=1, duration=60))
    assert [p["limit"] for p in composite.charging_schedule["charging_schedule_period"]] == [8.0]
    # It is this transaction's profile: a clear by purpose finds it.
    assert await cp.async_remote_stop_transaction(started.transaction.transaction_id) == "Accepted"
    await csms.recorder.wait_for(lambda e: isinstance(e, TransactionStoppedEvent))
    assert (await cp.async_call(call.ClearChargingProfile(charging_profile_purpose="TxProfile"))).status == "Unknown"


async def test_profiles_survive_an_agent_restart(sim, csms, make_agent):
    agent = await make_agent(csms.port, card_reader=False)
    await booted(csms)
    cp = csms.charge_points["CP-TEST-1"]
    daily = profile(
        11, "ChargePointMaxProfile", [(0, 9.0)], kind="Recurring", start=now() - dt.timedelta(hours=1)
    )
    daily.recurrency_kind = "Daily"
    assert await set_profile(cp, 0, daily) == "Accepted"
    await agent.kill()
    mark = len(csms.recorder.events)
    await agent.start()
    await csms.recorder.wait_for(lambda e: isinstance(e, BootEvent), after=mark, timeout=20)
    composite = await cp.async_call(call.GetCompositeSchedule(connector_id=1, duration=60))
    assert [p["limit"] for p in composite.charging_schedule["charging_schedule_period"]] == [9.0]
    await start_session(sim, csms)
    await sim.wait_for(lambda s: evse(s)["current_limit_a"] == 9.0, timeout=10)
    assert (await cp.async_call(call.ClearChargingProfile(id=11))).status == "Accepted"


async def test_composite_schedule_at_the_longest_duration_is_answered(sim, raw_csms, make_agent):
    # A 32-bit duration (68 years) over two daily profiles of 48 periods: every day of them used
    # to be evaluated, stalling the agent far beyond its answer (OCPP 1.6 §5.13).
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    anchor = now() - dt.timedelta(hours=1)
    for pid, stack, shift in ((1, 0, 0), (2, 1, 600)):
        periods = [{"startPeriod": i * 1800, "limit": 6.0 + (i * 7 + pid) % 10} for i in range(48)]
        wire = {
            "chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Recurring", "recurrencyKind": "Daily",
            "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": _iso(anchor + dt.timedelta(seconds=shift)),
                                 "chargingSchedulePeriod": periods, "duration": 86400 - 3600 * pid},
        }
        reply = await raw_csms.response_to(await raw_csms.call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": wire}))
        assert reply[2] == {"status": "Accepted"}
    longest = 2**31 - 1
    reply = await raw_csms.response_to(await raw_csms.call("GetCompositeSchedule", {"connectorId": 1, "duration": longest}))
    assert reply[2]["status"] == "Accepted"
    schedule = reply[2]["chargingSchedule"]
    periods = schedule["chargingSchedulePeriod"]
    # As many periods as a schedule may have (1024); its duration says how far they reach.
    assert len(periods) == 1024
    assert periods[-1]["startPeriod"] < schedule["duration"] < longest
    assert all(a["startPeriod"] < b["startPeriod"] for a, b in zip(periods, periods[1:], strict=False))
    # A short one over the same profiles is whole.
    reply = await raw_csms.response_to(await raw_csms.call("GetCompositeSchedule", {"connectorId": 1, "duration": 3600}))
    assert reply[2]["chargingSchedule"]["duration"] == 3600
