"""Functional block K (Smart charging): SetChargingProfile (K01), ClearChargingProfile (K10),
GetChargingProfiles with ReportChargingProfiles after the answer (K09), GetCompositeSchedule
(K08), and the TxProfile of a RequestStartTransaction (F01.FR.08-12).

Only the translation between OCPP 2.0.1 and ``agent/core/smart_charging.py`` lives here: a
2.0.1 profile becomes the neutral ``Profile`` (its EVSE the neutral connector,
ChargingStationMaxProfile the neutral charge point maximum, evseId 0 the whole station), and
the station's charging limits (agent/station/charging_limits.py) apply it as they do 1.6's —
the 5 s PWM update rule and the pause under 6 A included. What 2.0.1 decides differently from
1.6 is decided here, before the neutral install: a TxProfile names its transaction (K01.FR.03),
a profile of another id at the same purpose and stack level is refused rather than replacing
it (K01.FR.06 / K01.FR.39), a schedule's start must fit its kind (K01.FR.40 / K01.FR.41).
Every profile here was set by the CSMS (chargingLimitSource CSO): the station has no energy
management input of its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.services import (
    Kind,
    Period,
    Profile,
    ProfileRejected,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    conflicting,
)
from agent.core.identity import IdToken
from agent.ocpp201.connection import LinkDown

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

# §3.14 ChargingProfilePurposeEnumType → the neutral purpose (ChargingStationExternalConstraints
# is set by an external system, never by the CSMS: K01.FR.22).
PURPOSE = {
    "ChargingStationMaxProfile": Purpose.CHARGE_POINT_MAX,
    "TxDefaultProfile": Purpose.TX_DEFAULT,
    "TxProfile": Purpose.TX,
}
PURPOSE_NAME = {neutral: name for name, neutral in PURPOSE.items()}
LIMIT_SOURCE = "CSO"  # §3.13 ChargingLimitSourceEnumType: every profile here came from the CSMS


class Refused(Exception):
    """A SetChargingProfile the station cannot take: Rejected with this reasonCode (Part 2 App. 5)."""

    def __init__(self, reason_code: str, text: str) -> None:
        super().__init__(text)
        self.reason_code = reason_code


def profile_from_wire(wire: dict[str, Any], evse_id: int, now: dt.datetime) -> Profile:
    """§2.10 ChargingProfileType (snake_case, as the library hands it over) → the neutral Profile.
    Raises Refused for what the schema lets through but this station cannot take."""
    purpose = PURPOSE.get(wire["charging_profile_purpose"])
    if purpose is None:  # K01.FR.22
        raise Refused("InvalidProfile", f"{wire['charging_profile_purpose']} is not set by the CSMS")
    schedules = wire["charging_schedule"]
    if len(schedules) != 1:  # more than one is for an ISO 15118 EV to choose from; none here
        raise Refused("InvalidSchedule", f"{len(schedules)} charging schedules, this station takes one")
    s = schedules[0]
    kind = Kind(wire["charging_profile_kind"])
    start = _time(s.get("start_schedule"))
    if kind is Kind.RELATIVE and start is not None:  # K01.FR.41
        raise Refused("InvalidSchedule", "a Relative schedule has no startSchedule")
    if kind is not Kind.RELATIVE and start is None:  # K01.FR.40
        raise Refused("InvalidSchedule", f"an {kind.value} schedule needs a startSchedule")
    if purpose is Purpose.CHARGE_POINT_MAX and kind is Kind.RELATIVE:  # K01.FR.38
        raise Refused("InvalidProfile", "a ChargingStationMaxProfile cannot be Relative")
    try:
        return Profile(
            id=int(wire["id"]),
            connector_id=evse_id,
            stack_level=int(wire["stack_level"]),
            purpose=purpose,
            kind=kind,
            recurrency=Recurrency(wire["recurrency_kind"]) if wire.get("recurrency_kind") else None,
            valid_from=_time(wire.get("valid_from")),
            valid_to=_time(wire.get("valid_to")),
            installed_at=now,
            schedule=Schedule(
                unit=RateUnit(s["charging_rate_unit"]),
                duration_s=s.get("duration"),
                start=start,
                min_rate=float(s["min_charging_rate"]) if s.get("min_charging_rate") is not None else None,
                periods=tuple(Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
                              for p in s["charging_schedule_period"]),
                schedule_id=int(s["id"]),
            ),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Refused("InvalidProfile", f"malformed charging profile: {exc!r}") from None


def profile_to_wire(profile: Profile, transaction_id: str | None) -> dict[str, Any]:
    """The neutral Profile → §2.10 ChargingProfileType (snake_case, for the library)."""
    s = profile.schedule
    schedule: dict[str, Any] = {
        "id": s.schedule_id if s.schedule_id is not None else profile.id,
        "charging_rate_unit": s.unit.value,
        "charging_schedule_period": [_period(q.start_s, q.limit, q.phases) for q in s.periods],
    }
    if s.start is not None:
        schedule["start_schedule"] = _iso(s.start)
    if s.duration_s is not None:
        schedule["duration"] = s.duration_s
    if s.min_rate is not None:
        schedule["min_charging_rate"] = s.min_rate
    wire: dict[str, Any] = {
        "id": profile.id,
        "stack_level": profile.stack_level,
        "charging_profile_purpose": PURPOSE_NAME[profile.purpose],
        "charging_profile_kind": profile.kind.value,
        "charging_schedule": [schedule],
    }
    if profile.recurrency is not None:
        wire["recurrency_kind"] = profile.recurrency.value
    if profile.valid_from is not None:
        wire["valid_from"] = _iso(profile.valid_from)
    if profile.valid_to is not None:
        wire["valid_to"] = _iso(profile.valid_to)
    if profile.purpose is Purpose.TX and transaction_id is not None:
        wire["transaction_id"] = transaction_id
    return wire


def _period(start_s: int, limit: float, phases: int | None) -> dict[str, Any]:
    period: dict[str, Any] = {"start_period": start_s, "limit": limit}
    if phases is not None:
        period["number_phases"] = phases
    return period


def _time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)  # Python 3.11 reads the "Z"
    except ValueError:
        raise Refused("InvalidValue", f"{text!r} is no date-time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SmartChargingHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.station = adapter.station
        self.limits = adapter.services.charging_limits
        self.clock = adapter.services.clock
        self._reports: dict[str, tuple[int, list[tuple[int, list[dict[str, Any]]]]]] = {}  # by message id

    # K01 SetChargingProfile
    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        try:
            profile = self._profile(evse_id, charging_profile)
            self.limits.install(profile, same_level_replaces=False)  # K01.FR.05: the same id replaces
        except (Refused, ProfileRejected) as exc:
            code = exc.reason_code if isinstance(exc, Refused) else "InvalidProfile"
            log.warning("SetChargingProfile %s on EVSE %d: Rejected (%s): %s", charging_profile.get("id"), evse_id, code, exc)
            return call_result.SetChargingProfile(status="Rejected",
                                                  status_info={"reason_code": code, "additional_info": str(exc)[:512]})
        log.info("SetChargingProfile %d (%s, stack level %d) on EVSE %d: Accepted",
                 profile.id, charging_profile["charging_profile_purpose"], profile.stack_level, evse_id)
        return call_result.SetChargingProfile(status="Accepted")

    def _profile(self, evse_id: int, wire: dict[str, Any]) -> Profile:
        """The neutral profile of a SetChargingProfile, once what 2.0.1 asks of it holds."""
        if evse_id != 0 and evse_id not in self.station.evses():  # K01.FR.28: no such EVSE
            raise Refused("UnknownEvse", f"no EVSE {evse_id}")
        profile = profile_from_wire(wire, evse_id, self.clock.now())
        if profile.purpose is Purpose.CHARGE_POINT_MAX and evse_id != 0:
            raise Refused("InvalidProfile", "a ChargingStationMaxProfile is set on evseId 0")
        if profile.purpose is Purpose.TX:
            if evse_id == 0:  # K01.FR.16
                raise Refused("InvalidProfile", "a TxProfile is set on one EVSE, not on evseId 0")
            transaction = self.station.transaction_on(evse_id)
            if transaction is None:  # K01.FR.09
                raise Refused("TxNotFound", f"no transaction on EVSE {evse_id}")
            wanted = wire.get("transaction_id")
            if wanted is None:  # K01.FR.03
                raise Refused("InvalidProfile", "a TxProfile names its transactionId")
            if wanted != transaction.transaction_id:  # K01.FR.33
                raise Refused("TxNotFound", f"transaction {wanted} is not the one on EVSE {evse_id}")
        elif wire.get("transaction_id") is not None:
            raise Refused("InvalidProfile", "only a TxProfile names a transaction")
        clash = conflicting(profile, self.limits.profiles())  # K01.FR.06 / K01.FR.39
        if clash is not None:
            raise Refused("DuplicateProfile", f"profile {clash.id} has the same purpose and stackLevel "
                                              f"on EVSE {evse_id} for an overlapping time")
        return profile

    # K10 ClearChargingProfile
    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, charging_profile_id: int | None = None,
                                  charging_profile_criteria: dict[str, Any] | None = None, **_: Any) -> Any:
        criteria = charging_profile_criteria or {}
        purpose_name = criteria.get("charging_profile_purpose")
        if purpose_name is not None and purpose_name not in PURPOSE:  # never set by the CSMS, never cleared by it
            cleared = False
        elif charging_profile_id is not None:  # K10: by id, whatever the criteria
            cleared = self.limits.clear(profile_id=charging_profile_id)
        else:  # K10: every profile matching all the criteria given
            cleared = self.limits.clear(connector_id=criteria.get("evse_id"),
                                        purpose=PURPOSE[purpose_name] if purpose_name else None,
                                        stack_level=criteria.get("stack_level"))
        log.info("ClearChargingProfile id=%s criteria=%s: %s", charging_profile_id, criteria,
                 "cleared" if cleared else "none matched")
        return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    # K09 GetChargingProfiles
    @on(Action.get_charging_profiles)
    def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any], evse_id: int | None = None,
                                 call_unique_id: str = "", **_: Any) -> Any:
        found = [p for p in self.limits.profiles() if matches_criterion(p, charging_profile, evse_id)]
        if not found:  # K09: nothing matches the criteria
            return call_result.GetChargingProfiles(status="NoProfiles")
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for p in found:
            transaction = self.station.transaction_on(p.connector_id) if p.purpose is Purpose.TX else None
            by_evse.setdefault(p.connector_id, []).append(
                profile_to_wire(p, transaction.transaction_id if transaction else None))
        self._reports[call_unique_id] = (request_id, sorted(by_evse.items()))
        return call_result.GetChargingProfiles(status="Accepted")

    @after(Action.get_charging_profiles)
    async def after_get_charging_profiles(self, call_unique_id: str = "", **_: Any) -> None:
        """K09: one ReportChargingProfiles per EVSE, with the request's requestId, tbc on all but the last."""
        pending = self._reports.pop(call_unique_id, None)
        if pending is None:
            return
        request_id, groups = pending
        for n, (evse_id, profiles) in enumerate(groups):
            try:
                await self.adapter.call(call.ReportChargingProfiles(
                    request_id=request_id, charging_limit_source=LIMIT_SOURCE, evse_id=evse_id,
                    charging_profile=profiles, tbc=n < len(groups) - 1))
            except LinkDown:
                return
            except (TimeoutError, OCPPError) as exc:
                log.warning("ReportChargingProfiles %d: %r", request_id, exc)

    # K08 GetCompositeSchedule
    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, duration: int, evse_id: int, charging_rate_unit: str | None = None,
                                  **_: Any) -> Any:
        if evse_id != 0 and evse_id not in self.station.evses():  # TC_K_47: an unknown EVSE is Rejected
            return call_result.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "UnknownEvse"})
        if duration <= 0:
            return call_result.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "InvalidValue"})
        unit = RateUnit(charging_rate_unit) if charging_rate_unit else RateUnit.AMPS
        start, composite = self.limits.composite(evse_id, duration, unit)
        if not composite.periods:
            return call_result.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "NoSchedule"})
        schedule = {
            "evse_id": evse_id,
            "duration": composite.duration_s,  # shorter than asked when it has MAX_COMPOSITE_PERIODS periods
            "schedule_start": _iso(start),
            "charging_rate_unit": unit.value,
            "charging_schedule_period": [_period(p.start_s, p.limit, p.phases) for p in composite.periods],
        }
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)


def matches_criterion(p: Profile, criterion: dict[str, Any], evse_id: int | None) -> bool:
    """K09: a profile reported for GetChargingProfiles ``criterion`` (every field given must hold)."""
    if evse_id is not None and p.connector_id != evse_id:
        return False
    ids = criterion.get("charging_profile_id")
    if ids is not None and p.id not in ids:
        return False
    purpose = criterion.get("charging_profile_purpose")
    if purpose is not None and PURPOSE.get(purpose) is not p.purpose:
        return False
    if criterion.get("stack_level") is not None and p.stack_level != criterion["stack_level"]:
        return False
    sources = criterion.get("charging_limit_source")
    return sources is None or LIMIT_SOURCE in sources


def remote_start_profile(adapter: Ocpp201Adapter, wire: dict[str, Any], token: IdToken, evse_id: int | None) -> bool:
    """F01.FR.08-12: the TxProfile of a RequestStartTransaction, held for the transaction it starts
    (in force on its EVSE at once); False: the request is Rejected."""
    try:
        if PURPOSE.get(wire.get("charging_profile_purpose", "")) is not Purpose.TX:  # F01.FR.09
            raise Refused("InvalidProfile", "a remote start's profile is a TxProfile")
        if wire.get("transaction_id") is not None:  # F01.FR.10: no transaction exists yet
            raise Refused("InvalidProfile", "a remote start's profile names no transaction")
        evses = list(adapter.station.evses())
        if evse_id is None and len(evses) == 1:
            evse_id = evses[0]
        profile = profile_from_wire(wire, evse_id or 0, adapter.services.clock.now())
        adapter.services.charging_limits.add_pending(profile, evse_id, token.value)
    except (Refused, ProfileRejected) as exc:
        log.warning("RequestStartTransaction %s: charging profile Rejected: %s", token.value, exc)
        return False
    return True
