"""OCTT 2.0.1 block K (Smart charging): SetChargingProfile with ChargingStationMaxProfile,
TxDefaultProfile and TxProfile, stack levels, recurring schedules, validity and startSchedule
(K01), ClearChargingProfile (K10), GetChargingProfiles / ReportChargingProfiles (K09),
GetCompositeSchedule (K08) and a RequestStartTransaction with a TxProfile (F01), with the
strict backend checking every message both ways.

A limit shows as the current the EVSE board offers (its PWM duty cycle); the station's
connector is rated 16 A, which is what it offers with no profile. The station has one EVSE:
evseId 0 is the station as a whole."""

from __future__ import annotations

import datetime as dt

from tests.conformance.conftest import VALID

MAX_A = 16  # [[connectors]] max_current_a of the station under test


def iso(seconds_from_now: float = 0.0) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def profile(profile_id: int, purpose: str, limit: float, *, stack_level: int = 0, kind: str = "Absolute",
            start: str | None = None, transaction_id: str | None = None, duration: int | None = None,
            recurrency: str | None = None, valid_from: str | None = None, valid_to: str | None = None,
            unit: str = "A", periods: list[tuple[int, float]] | None = None) -> dict:
    """A ChargingProfileType with one schedule; Absolute and Recurring ones start a minute ago
    unless ``start`` says otherwise (K01.FR.40: they need a startSchedule)."""
    schedule: dict = {"id": profile_id, "chargingRateUnit": unit,
                      "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in (periods or [(0, limit)])]}
    if kind != "Relative":
        schedule["startSchedule"] = start or iso(-60)
    if duration is not None:
        schedule["duration"] = duration
    body: dict = {"id": profile_id, "stackLevel": stack_level, "chargingProfilePurpose": purpose,
                  "chargingProfileKind": kind, "chargingSchedule": [schedule]}
    for key, value in (("transactionId", transaction_id), ("recurrencyKind", recurrency),
                       ("validFrom", valid_from), ("validTo", valid_to)):
        if value is not None:
            body[key] = value
    return body


async def set_profile(csms, evse_id: int, body: dict) -> str:
    reply = await csms.call("SetChargingProfile", {"evseId": evse_id, "chargingProfile": body})
    return reply["status"]


async def accepted(csms, evse_id: int, body: dict) -> None:
    assert await set_profile(csms, evse_id, body) == "Accepted"


async def board_offers(station, amps: float, timeout: float = 20.0) -> None:
    """The EVSE board offers ``amps`` (its PWM), within the 5 s a PWM change may take."""
    await station.sim.wait_for(lambda s: s["evses"][0]["current_limit_a"] == amps, timeout=timeout)


async def charging(station, csms) -> str:
    """Reusable state EnergyTransferStarted: the valid idToken, the EV plugged in, energy flowing;
    the transactionId."""
    mark = csms.mark()
    await station.tap(VALID)
    station.plug()
    started = await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    return started["transactionInfo"]["transactionId"]


async def reported(csms, request: dict) -> list[dict]:
    """GetChargingProfiles Accepted; the ReportChargingProfiles it brought (up to tbc false)."""
    mark = csms.mark()
    assert await csms.call("GetChargingProfiles", request) == {"status": "Accepted"}
    await csms.wait_call("ReportChargingProfiles", lambda p: not p.get("tbc", False), after=mark)
    reports = csms.calls_of("ReportChargingProfiles", after=mark)
    assert all(r["requestId"] == request["requestId"] and r["chargingLimitSource"] == "CSO" for r in reports)
    return reports


def reported_ids(reports: list[dict]) -> list[tuple[int, int]]:
    """(evseId, profile id) of every profile reported, in order."""
    return [(r["evseId"], p["id"]) for r in reports for p in r["chargingProfile"]]


async def no_profiles(csms, request: dict) -> None:
    mark = csms.mark()
    assert await csms.call("GetChargingProfiles", request) == {"status": "NoProfiles"}
    await csms.barrier()
    assert not csms.calls_of("ReportChargingProfiles", after=mark)


async def composite(csms, evse_id: int = 1, duration: int = 300) -> dict:
    reply = await csms.call("GetCompositeSchedule", {"evseId": evse_id, "duration": duration, "chargingRateUnit": "A"})
    assert reply["status"] == "Accepted", reply
    schedule = reply["schedule"]
    assert schedule["evseId"] == evse_id and schedule["chargingRateUnit"] == "A"
    return schedule


def limits(schedule: dict) -> list[float]:
    return [p["limit"] for p in schedule["chargingSchedulePeriod"]]


# ---- SetChargingProfile (K01) ----------------------------------------------------------------------


async def test_TC_K_01_set_tx_default_profile_specific_evse(station, csms):
    """K01: a TxDefaultProfile on EVSE 1 is Accepted and limits the next transaction there."""
    await station.boot()
    await accepted(csms, 1, profile(101, "TxDefaultProfile", 10))
    await charging(station, csms)
    await board_offers(station, 10)


async def test_TC_K_02_set_tx_profile_without_ongoing_transaction(station, csms):
    """K01.FR.09: a TxProfile for an EVSE without a transaction is Rejected, nothing installed."""
    await station.boot()
    assert await set_profile(csms, 1, profile(102, "TxProfile", 8, transaction_id="no-such-tx")) == "Rejected"
    await no_profiles(csms, {"requestId": 1, "chargingProfile": {}})


async def test_TC_K_03_set_charging_station_max_profile(station, csms):
    """K01: a ChargingStationMaxProfile (evseId 0) caps what the station's EVSEs may draw."""
    await station.boot()
    await accepted(csms, 0, profile(103, "ChargingStationMaxProfile", 8))
    assert await set_profile(csms, 1, profile(104, "ChargingStationMaxProfile", 8)) == "Rejected"  # only on 0
    await charging(station, csms)
    await board_offers(station, 8)


async def test_TC_K_04_replace_charging_profile_with_same_id(station, csms):
    """K01.FR.05: a profile with the id of an installed one replaces it (here at another stack level)."""
    await station.boot()
    await accepted(csms, 1, profile(105, "TxDefaultProfile", 10, stack_level=0))
    await accepted(csms, 1, profile(105, "TxDefaultProfile", 7, stack_level=1))
    reports = await reported(csms, {"requestId": 4, "chargingProfile": {"chargingProfileId": [105]}})
    assert reported_ids(reports) == [(1, 105)]
    replaced = reports[0]["chargingProfile"][0]
    assert replaced["stackLevel"] == 1 and replaced["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 7
    await charging(station, csms)
    await board_offers(station, 7)


# ---- ClearChargingProfile (K10) ----------------------------------------------------------------------


async def test_TC_K_05_clear_charging_profile_with_id(station, csms):
    await station.boot()
    await accepted(csms, 1, profile(106, "TxDefaultProfile", 10))
    assert await csms.call("ClearChargingProfile", {"chargingProfileId": 106}) == {"status": "Accepted"}
    await no_profiles(csms, {"requestId": 5, "chargingProfile": {}})


async def test_TC_K_06_clear_charging_profile_with_stack_level_and_purpose(station, csms):
    await station.boot()
    await accepted(csms, 1, profile(107, "TxDefaultProfile", 10, stack_level=2))
    criteria = {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}
    assert await csms.call("ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {"status": "Accepted"}
    await no_profiles(csms, {"requestId": 6, "chargingProfile": {}})


async def test_TC_K_07_clear_charging_profile_unknown_stack_level_and_purpose(station, csms):
    """K10: criteria that match no profile: Unknown, and the installed one stays."""
    await station.boot()
    await accepted(csms, 1, profile(108, "TxDefaultProfile", 10, stack_level=0))
    criteria = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 5}
    assert await csms.call("ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {"status": "Unknown"}
    criteria = {"chargingProfilePurpose": "ChargingStationMaxProfile", "stackLevel": 0}
    assert await csms.call("ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {"status": "Unknown"}
    assert reported_ids(await reported(csms, {"requestId": 7, "chargingProfile": {}})) == [(1, 108)]


async def test_TC_K_08_clear_charging_profile_without_previous_profile(station, csms):
    await station.boot()
    assert await csms.call("ClearChargingProfile", {"chargingProfileId": 109}) == {"status": "Unknown"}
    criteria = {"chargingProfilePurpose": "TxDefaultProfile"}
    assert await csms.call("ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {"status": "Unknown"}


async def test_TC_K_09_clear_tx_default_profile_with_ongoing_transaction(station, csms):
    """K10: the running transaction follows at once: the board offers the full current again."""
    await station.boot()
    await accepted(csms, 1, profile(110, "TxDefaultProfile", 8))
    await charging(station, csms)
    await board_offers(station, 8)
    assert await csms.call("ClearChargingProfile", {"chargingProfileId": 110}) == {"status": "Accepted"}
    await board_offers(station, MAX_A)


async def test_TC_K_10_set_tx_default_profile_all_evse(station, csms):
    """K01: a TxDefaultProfile on evseId 0 applies to every EVSE, and is reported on evseId 0."""
    await station.boot()
    await accepted(csms, 0, profile(111, "TxDefaultProfile", 9))
    assert reported_ids(await reported(csms, {"requestId": 10, "evseId": 0, "chargingProfile": {}})) == [(0, 111)]
    await charging(station, csms)
    await board_offers(station, 9)


async def test_TC_K_11_tx_profile_on_all_evse_at_once_rejected(station, csms):
    """K01.FR.16: a TxProfile on evseId 0 is Rejected, even with a transaction running."""
    await station.boot()
    transaction_id = await charging(station, csms)
    assert await set_profile(csms, 0, profile(112, "TxProfile", 8, transaction_id=transaction_id)) == "Rejected"
    await no_profiles(csms, {"requestId": 11, "chargingProfile": {}})
    assert station.evse()["current_limit_a"] == MAX_A


async def test_TC_K_13_charging_profile_persistent_over_reboot(station, csms):
    await station.boot()
    await accepted(csms, 1, profile(113, "TxDefaultProfile", 11))
    mark = csms.mark()
    await station.restart()
    await station.booted(after=mark)
    assert reported_ids(await reported(csms, {"requestId": 13, "chargingProfile": {}})) == [(1, 113)]
    await charging(station, csms)
    await board_offers(station, 11)


async def test_TC_K_14_set_charging_profile_unknown_evse(station, csms):
    await station.boot()
    assert await set_profile(csms, 5, profile(114, "TxDefaultProfile", 10)) == "Rejected"
    await no_profiles(csms, {"requestId": 14, "chargingProfile": {}})


async def test_TC_K_16_set_tx_profile_unknown_transaction_id(station, csms):
    """K01.FR.33: a TxProfile naming another transaction than the EVSE's is Rejected; so is one
    naming none (K01.FR.03)."""
    await station.boot()
    await charging(station, csms)
    assert await set_profile(csms, 1, profile(115, "TxProfile", 8, transaction_id="not-this-one")) == "Rejected"
    assert await set_profile(csms, 1, profile(115, "TxProfile", 8)) == "Rejected"
    await no_profiles(csms, {"requestId": 16, "chargingProfile": {}})
    assert station.evse()["current_limit_a"] == MAX_A


async def test_TC_K_19_set_recurring_charging_profile(station, csms):
    """K01: a Daily profile that started yesterday at this time is in force today; a Weekly one
    too. (The composite over two days shows it recur.)"""
    await station.boot()
    yesterday = iso(-86400 - 60)
    await accepted(csms, 1, profile(116, "TxDefaultProfile", 10, kind="Recurring", recurrency="Daily",
                                    start=yesterday, duration=3600))
    await accepted(csms, 0, profile(117, "ChargingStationMaxProfile", 12, kind="Recurring", recurrency="Weekly",
                                    start=iso(-7 * 86400 - 60)))
    schedule = await composite(csms, 1, duration=2 * 86400)
    # 10 A for the hour from this time each day (the third day's begins a minute before the end),
    # else the weekly 12 A
    assert limits(schedule) == [10, 12, 10, 12, 10]
    starts = [p["startPeriod"] for p in schedule["chargingSchedulePeriod"]]
    assert starts[3] - starts[1] == 86400
    # The longest composite there is: the work is bounded by the periods (at most 1024), not by
    # the duration; the answer says how far its periods reach.
    longest = await composite(csms, 1, duration=2**31 - 1)
    assert len(longest["chargingSchedulePeriod"]) == 1024 and longest["duration"] < 2**31 - 1
    await charging(station, csms)
    await board_offers(station, 10)


async def test_TC_K_21_set_charging_profile_valid_from(station, csms):
    """K01: a profile whose validFrom lies ahead limits from then on, not before."""
    await station.boot()
    await charging(station, csms)
    await accepted(csms, 1, profile(118, "TxDefaultProfile", 10, valid_from=iso(8)))
    assert limits(await composite(csms)) == [MAX_A, 10]
    assert station.evse()["current_limit_a"] == MAX_A
    await board_offers(station, 10)


async def test_TC_K_22_set_charging_profile_valid_to(station, csms):
    """K01: a profile limits until its validTo; then the full current again."""
    await station.boot()
    await charging(station, csms)
    await accepted(csms, 1, profile(119, "TxDefaultProfile", 10, valid_to=iso(12)))
    assert limits(await composite(csms)) == [10, MAX_A]
    await board_offers(station, 10)
    await board_offers(station, MAX_A)


async def test_TC_K_23_set_charging_profile_start_schedule(station, csms):
    """K01: an Absolute schedule starting ahead limits from its startSchedule on."""
    await station.boot()
    await charging(station, csms)
    await accepted(csms, 1, profile(120, "TxDefaultProfile", 10, start=iso(8)))
    assert limits(await composite(csms)) == [MAX_A, 10]
    assert station.evse()["current_limit_a"] == MAX_A
    await board_offers(station, 10)


async def test_TC_K_24_clear_stack_level_and_purpose_for_multiple_profiles(station, csms):
    """K10: criteria without evseId clear every matching profile (here on evseId 0 and EVSE 1)."""
    await station.boot()
    await accepted(csms, 0, profile(121, "TxDefaultProfile", 10, stack_level=1))
    await accepted(csms, 1, profile(122, "TxDefaultProfile", 9, stack_level=1))
    await accepted(csms, 1, profile(123, "TxDefaultProfile", 8, stack_level=0))
    criteria = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}
    assert await csms.call("ClearChargingProfile", {"chargingProfileCriteria": criteria}) == {"status": "Accepted"}
    assert reported_ids(await reported(csms, {"requestId": 24, "chargingProfile": {}})) == [(1, 123)]


async def test_TC_K_28_set_tx_default_profile_with_transaction_ongoing(station, csms):
    """K01: the running transaction follows a new TxDefaultProfile at once."""
    await station.boot()
    await charging(station, csms)
    await board_offers(station, MAX_A)
    await accepted(csms, 1, profile(124, "TxDefaultProfile", 12))
    await board_offers(station, 12)


async def test_TC_K_60_set_tx_profile_with_ongoing_transaction(station, csms):
    """K01: a TxProfile for the EVSE's transaction limits it, above its TxDefaultProfile; a second
    one at the same stack level is refused (K01.FR.39). A period under 6 A pauses the transaction
    (no PWM, contactor open) and the next period resumes it, as in 1.6."""
    await station.boot()
    await accepted(csms, 1, profile(125, "TxDefaultProfile", 12))
    transaction_id = await charging(station, csms)
    await board_offers(station, 12)
    mark = csms.mark()
    await accepted(csms, 1, profile(126, "TxProfile", 0, start=iso(), periods=[(0, 0.0), (12, 8.0)],
                                    transaction_id=transaction_id))
    await station.sim.wait_for(lambda s: not s["evses"][0]["contactor_closed"] and s["evses"][0]["current_limit_a"] == 0,
                               timeout=15)
    await station.sim.wait_for(lambda s: s["evses"][0]["contactor_closed"] and s["evses"][0]["current_limit_a"] == 8,
                               timeout=30)
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    assert await set_profile(csms, 1, profile(127, "TxProfile", 6, kind="Relative",
                                              transaction_id=transaction_id)) == "Rejected"


# ---- GetChargingProfiles (K09) -----------------------------------------------------------------------


async def two_levels(csms) -> None:
    """A ChargingStationMaxProfile on evseId 0 and a TxDefaultProfile on EVSE 1."""
    await accepted(csms, 0, profile(130, "ChargingStationMaxProfile", 14))
    await accepted(csms, 1, profile(131, "TxDefaultProfile", 10))


async def test_TC_K_29_get_charging_profiles_evse_0(station, csms):
    """K09: evseId 0 reports the profiles of the station itself only."""
    await station.boot()
    await two_levels(csms)
    reports = await reported(csms, {"requestId": 29, "evseId": 0, "chargingProfile": {}})
    assert reported_ids(reports) == [(0, 130)]
    assert reports[0]["chargingProfile"][0]["chargingProfilePurpose"] == "ChargingStationMaxProfile"


async def test_TC_K_30_get_charging_profiles_evse_specific(station, csms):
    await station.boot()
    await two_levels(csms)
    reports = await reported(csms, {"requestId": 30, "evseId": 1, "chargingProfile": {}})
    assert reported_ids(reports) == [(1, 131)]
    sent = reports[0]["chargingProfile"][0]
    assert sent["chargingProfilePurpose"] == "TxDefaultProfile" and sent["chargingSchedule"][0]["id"] == 131


async def test_TC_K_31_get_charging_profiles_without_evse(station, csms):
    """K09: no evseId: every profile, one report per EVSE, tbc on all but the last."""
    await station.boot()
    await two_levels(csms)
    reports = await reported(csms, {"requestId": 31, "chargingProfile": {}})
    assert reported_ids(reports) == [(0, 130), (1, 131)]
    assert [r.get("tbc", False) for r in reports] == [True, False]


async def test_TC_K_32_get_charging_profiles_by_id(station, csms):
    await station.boot()
    await two_levels(csms)
    assert reported_ids(await reported(csms, {"requestId": 32, "chargingProfile": {"chargingProfileId": [131]}})) == [
        (1, 131)]
    await no_profiles(csms, {"requestId": 33, "chargingProfile": {"chargingProfileId": [999]}})


async def test_TC_K_33_get_charging_profiles_evse_and_stack_level(station, csms):
    await station.boot()
    await accepted(csms, 1, profile(132, "TxDefaultProfile", 10, stack_level=0))
    await accepted(csms, 1, profile(133, "TxDefaultProfile", 9, stack_level=1))
    request = {"requestId": 33, "evseId": 1, "chargingProfile": {"stackLevel": 1}}
    assert reported_ids(await reported(csms, request)) == [(1, 133)]


async def test_TC_K_34_get_charging_profiles_evse_and_limit_source(station, csms):
    """K09: the CSMS's profiles are reported under source CSO; none comes from an EMS."""
    await station.boot()
    await two_levels(csms)
    request = {"requestId": 34, "evseId": 1, "chargingProfile": {"chargingLimitSource": ["CSO"]}}
    assert reported_ids(await reported(csms, request)) == [(1, 131)]
    await no_profiles(csms, {"requestId": 35, "evseId": 1, "chargingProfile": {"chargingLimitSource": ["EMS", "SO"]}})


async def test_TC_K_35_get_charging_profiles_evse_and_purpose(station, csms):
    """K09: by purpose; a TxProfile is reported with its transactionId."""
    await station.boot()
    await accepted(csms, 1, profile(134, "TxDefaultProfile", 12))
    transaction_id = await charging(station, csms)
    await accepted(csms, 1, profile(135, "TxProfile", 10, transaction_id=transaction_id))
    reports = await reported(csms, {"requestId": 35, "evseId": 1, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}})
    assert reported_ids(reports) == [(1, 135)]
    assert reports[0]["chargingProfile"][0]["transactionId"] == transaction_id


async def test_TC_K_36_get_charging_profiles_evse_purpose_and_stack_level(station, csms):
    await station.boot()
    await accepted(csms, 1, profile(136, "TxDefaultProfile", 12, stack_level=0))
    await accepted(csms, 1, profile(137, "TxDefaultProfile", 11, stack_level=1))
    transaction_id = await charging(station, csms)
    await accepted(csms, 1, profile(138, "TxProfile", 10, stack_level=1, transaction_id=transaction_id))
    request = {"requestId": 36, "evseId": 1,
               "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}}
    assert reported_ids(await reported(csms, request)) == [(1, 137)]


# ---- RequestStartTransaction with a charging profile (F01) ---------------------------------------------


async def test_TC_K_37_remote_start_with_charging_profile(station, csms):
    """F01.FR.08: the TxProfile of the request limits the transaction it starts, and is reported
    with that transaction's id."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    request = {"idToken": {"idToken": VALID, "type": "ISO14443"}, "remoteStartId": 37, "evseId": 1,
               "chargingProfile": profile(139, "TxProfile", 7, kind="Relative")}
    assert await csms.call("RequestStartTransaction", request) == {"status": "Accepted"}
    started = await csms.wait_transaction_event("Started", after=mark)
    await station.energy_flows()
    await board_offers(station, 7)
    reports = await reported(csms, {"requestId": 37, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}})
    assert reported_ids(reports) == [(1, 139)]
    assert reports[0]["chargingProfile"][0]["transactionId"] == started["transactionInfo"]["transactionId"]


# ---- GetCompositeSchedule (K08) ------------------------------------------------------------------------


async def test_TC_K_39_get_composite_schedule_without_profiles(station, csms):
    """K08: no profile installed: the EVSE's own limit for the whole duration."""
    await station.boot()
    schedule = await composite(csms, 1, duration=400)
    assert schedule["duration"] == 400 and schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": MAX_A}]


async def test_TC_K_40_get_composite_schedule_stacking(station, csms):
    """K08: the higher stack level wins while it lasts, then the lower one."""
    await station.boot()
    start = iso()
    await accepted(csms, 1, profile(140, "TxDefaultProfile", 14, stack_level=0, start=start))
    await accepted(csms, 1, profile(141, "TxDefaultProfile", 9, stack_level=1, start=start, duration=120))
    schedule = await composite(csms, 1, duration=300)
    assert limits(schedule) == [9, 14]
    assert 100 <= schedule["chargingSchedulePeriod"][1]["startPeriod"] <= 120


async def test_TC_K_41_get_composite_schedule_combining_purposes(station, csms):
    """K08: TxProfile over TxDefaultProfile, both within the ChargingStationMaxProfile."""
    await station.boot()
    await accepted(csms, 0, profile(142, "ChargingStationMaxProfile", 12))
    await accepted(csms, 1, profile(143, "TxDefaultProfile", 14))
    transaction_id = await charging(station, csms)
    await accepted(csms, 1, profile(144, "TxProfile", 8, start=iso(), duration=120, transaction_id=transaction_id))
    schedule = await composite(csms, 1, duration=300)
    assert limits(schedule) == [8, 12]
    await board_offers(station, 8)


async def test_TC_K_47_get_composite_schedule_unknown_evse(station, csms):
    await station.boot()
    reply = await csms.call("GetCompositeSchedule", {"evseId": 9, "duration": 300})
    assert reply["status"] == "Rejected" and "schedule" not in reply
