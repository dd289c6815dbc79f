"""OCTT module 23, Smart Charging (OCPP 1.6 §3.13, §5.16 SetChargingProfile, §5.5 ClearChargingProfile,
§5.7 GetCompositeSchedule). A limit shows as the current the EVSE board offers (its PWM)."""

from __future__ import annotations

import datetime as dt

from tests.conformance.conftest import VALID
from tests.conformance.steps import charging
from tests.conformance.strict_csms import CallErrorReply


def profile(profile_id: int, purpose: str, limit: float, *, stack_level: int = 0, transaction_id: int | None = None,
            kind: str = "Absolute") -> dict:
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    body = {
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }
    if kind == "Absolute":
        body["chargingSchedule"]["startSchedule"] = start.isoformat(timespec="seconds").replace("+00:00", "Z")
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    return body


async def set_profile(csms, connector_id: int, body: dict) -> str:
    reply = await csms.call("SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": body})
    return reply["status"]


async def board_offers(station, amps: float, timeout: float = 10.0) -> None:
    await station.sim.wait_for(lambda s: s["evses"][0]["current_limit_a"] == amps, timeout=timeout)


async def test_TC_056_central_smart_charging_tx_default_profile(station, csms):
    await station.boot()
    assert await set_profile(csms, 1, profile(1, "TxDefaultProfile", 10)) == "Accepted"
    await charging(station, csms)
    await board_offers(station, 10)


async def test_TC_057_central_smart_charging_tx_profile(station, csms):
    await station.boot()
    transaction_id = await charging(station, csms)
    await board_offers(station, 16)
    assert await set_profile(csms, 1, profile(2, "TxProfile", 8, transaction_id=transaction_id)) == "Accepted"
    await board_offers(station, 8)


async def test_TC_058_1_central_smart_charging_no_ongoing_transaction(station, csms):
    await station.boot()
    assert await set_profile(csms, 1, profile(3, "TxProfile", 8)) == "Rejected"


async def test_TC_058_2_central_smart_charging_wrong_transaction_id(station, csms):
    await station.boot()
    transaction_id = await charging(station, csms)
    assert await set_profile(csms, 1, profile(4, "TxProfile", 8, transaction_id=transaction_id + 1)) == "Rejected"
    assert station.evse()["current_limit_a"] == 16


async def test_TC_059_remote_start_transaction_with_charging_profile(station, csms):
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_status("Preparing", after=mark)
    request = {"connectorId": 1, "idTag": VALID, "chargingProfile": profile(5, "TxProfile", 7)}
    assert await csms.call("RemoteStartTransaction", request) == {"status": "Accepted"}
    await csms.wait_call("StartTransaction", after=mark)
    await csms.wait_status("Charging", after=mark)
    await board_offers(station, 7)


async def test_TC_060_remote_start_transaction_with_charging_profile_rejected(station, csms):
    await station.boot()
    request = {"connectorId": 1, "idTag": VALID, "chargingProfile": profile(6, "TxDefaultProfile", 7)}
    try:
        reply = await csms.call("RemoteStartTransaction", request)
    except CallErrorReply as error:  # the OCTT accepts either
        assert error.code == "PropertyConstraintViolation"
    else:
        assert reply == {"status": "Rejected"}
    assert not csms.calls_of("StartTransaction")


async def test_TC_066_get_composite_schedule(station, csms):
    await station.boot()
    assert await set_profile(csms, 1, profile(7, "TxDefaultProfile", 11)) == "Accepted"
    reply = await csms.call("GetCompositeSchedule", {"connectorId": 1, "duration": 600, "chargingRateUnit": "A"})
    assert reply["status"] == "Accepted" and reply["connectorId"] == 1
    schedule = reply["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "A"
    assert schedule["chargingSchedulePeriod"][0]["limit"] == 11


async def test_TC_067_clear_charging_profile(station, csms):
    await station.boot()
    assert await set_profile(csms, 1, profile(8, "TxDefaultProfile", 9)) == "Accepted"
    assert await csms.call("ClearChargingProfile", {"id": 8}) == {"status": "Accepted"}
    assert await csms.call("ClearChargingProfile", {"id": 8}) == {"status": "Unknown"}
    await charging(station, csms)
    await board_offers(station, 16)  # no limit left


async def test_TC_072_stacking_charging_profiles(station, csms):
    await station.boot()
    assert await set_profile(csms, 1, profile(9, "TxDefaultProfile", 14, stack_level=0)) == "Accepted"
    assert await set_profile(csms, 1, profile(10, "TxDefaultProfile", 9, stack_level=1)) == "Accepted"
    reply = await csms.call("GetCompositeSchedule", {"connectorId": 1, "duration": 300, "chargingRateUnit": "A"})
    assert reply["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 9  # the higher stack level wins
    await charging(station, csms)
    await board_offers(station, 9)
    assert await csms.call("ClearChargingProfile", {"id": 10}) == {"status": "Accepted"}
    await board_offers(station, 14)


async def test_TC_082_central_smart_charging_tx_default_profile_with_ongoing_transaction(station, csms):
    await station.boot()
    await charging(station, csms)
    await board_offers(station, 16)
    assert await set_profile(csms, 1, profile(11, "TxDefaultProfile", 12)) == "Accepted"
    await board_offers(station, 12)  # the running transaction follows the new default at once
