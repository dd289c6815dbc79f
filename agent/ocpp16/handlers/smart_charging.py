"""Smart Charging profile of OCPP 1.6J (§3.13): SetChargingProfile (§5.16),
ClearChargingProfile (§5.7), GetCompositeSchedule (§5.13), and the charging profile of
a RemoteStartTransaction (§5.11).

Only the translation between OCPP 1.6 messages and ``agent/core/smart_charging.py`` lives
here; what a profile means is decided there, and applied by the station's charging limits
(agent/backend/services.py ChargingLimitsPort).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.datatypes import ChargingSchedule, ChargingSchedulePeriod
from ocpp.v16.enums import (
    Action,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    GetCompositeScheduleStatus,
)

from agent.backend.ports import StationPort
from agent.backend.services import (
    ChargingLimitsPort,
    ClockPort,
    Kind,
    Period,
    Profile,
    ProfileRejected,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
)

if TYPE_CHECKING:
    from agent.ocpp16.adapter import Ocpp16Adapter

log = logging.getLogger(__name__)


def profile_from_ocpp(wire: dict[str, Any], connector_id: int, now: dt.datetime) -> Profile:
    """§7.8 csChargingProfiles (snake_case keys, as the library hands them over) → Profile.
    Raises ProfileRejected for what the schema lets through but the profile cannot be."""
    try:
        s = wire["charging_schedule"]
        return Profile(
            id=int(wire["charging_profile_id"]),
            connector_id=connector_id,
            stack_level=int(wire["stack_level"]),
            purpose=Purpose(wire["charging_profile_purpose"]),
            kind=Kind(wire["charging_profile_kind"]),
            recurrency=Recurrency(wire["recurrency_kind"]) if wire.get("recurrency_kind") else None,
            valid_from=_time(wire.get("valid_from")),
            valid_to=_time(wire.get("valid_to")),
            installed_at=now,
            schedule=Schedule(
                unit=RateUnit(s["charging_rate_unit"]),
                duration_s=s.get("duration"),
                start=_time(s.get("start_schedule")),
                min_rate=float(s["min_charging_rate"]) if s.get("min_charging_rate") is not None else None,
                periods=tuple(
                    Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
                    for p in s["charging_schedule_period"]
                ),
            ),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ProfileRejected(f"malformed charging profile: {exc!r}") from None


def _time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class SmartChargingHandlers:
    def __init__(self, station: StationPort, limits: ChargingLimitsPort, clock: ClockPort) -> None:
        self.station = station
        self.limits = limits
        self.clock = clock

    # §5.16 SetChargingProfile
    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        try:
            profile = profile_from_ocpp(cs_charging_profiles, connector_id, self.clock.now())
            if profile.purpose is Purpose.TX:
                self._check_transaction_id(connector_id, cs_charging_profiles.get("transaction_id"))
            self.limits.install(profile)
        except ProfileRejected as exc:
            log.warning("SetChargingProfile on connector %d: Rejected: %s", connector_id, exc)
            return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
        log.info(
            "SetChargingProfile %d (%s, stack level %d) on connector %d: Accepted",
            profile.id, profile.purpose.value, profile.stack_level, connector_id,
        )
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    def _check_transaction_id(self, connector_id: int, transaction_id: int | None) -> None:
        """§7.8: a TxProfile's transactionId, when given, must be the connector's transaction."""
        transaction = self.station.transaction_on(connector_id)
        if transaction is None:
            raise ProfileRejected(f"no transaction on connector {connector_id}")
        # Not confirmed yet (StartTransaction.conf on its way, or started offline): cannot tell.
        if transaction_id is not None and transaction.backend_id is not None and transaction.backend_id != str(transaction_id):
            raise ProfileRejected(f"transaction {transaction_id} is not running on connector {connector_id}")

    # §5.7 ClearChargingProfile
    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
    ) -> Any:
        cleared = self.limits.clear(
            profile_id=id,
            connector_id=connector_id,
            purpose=Purpose(charging_profile_purpose) if charging_profile_purpose else None,
            stack_level=stack_level,
        )
        log.info("ClearChargingProfile id=%s connector=%s purpose=%s stackLevel=%s: %s",
                 id, connector_id, charging_profile_purpose, stack_level, "cleared" if cleared else "none matched")
        status = ClearChargingProfileStatus.accepted if cleared else ClearChargingProfileStatus.unknown
        return call_result.ClearChargingProfile(status=status)

    # §5.13 GetCompositeSchedule
    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id: int, duration: int, charging_rate_unit: str | None = None) -> Any:
        if (connector_id != 0 and connector_id not in self.station.evses()) or duration <= 0:
            return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.rejected)
        unit = RateUnit(charging_rate_unit) if charging_rate_unit else RateUnit.AMPS
        start, composite = self.limits.composite(connector_id, duration, unit)
        if not composite.periods:
            return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.rejected)
        schedule = ChargingSchedule(
            charging_rate_unit=unit.value,
            duration=composite.duration_s,  # shorter than asked when it has MAX_COMPOSITE_PERIODS periods
            start_schedule=_iso(start),
            charging_schedule_period=[
                ChargingSchedulePeriod(start_period=p.start_s, limit=p.limit, number_phases=p.phases)
                for p in composite.periods
            ],
        )
        return call_result.GetCompositeSchedule(
            status=GetCompositeScheduleStatus.accepted,
            connector_id=connector_id,
            schedule_start=_iso(start),
            charging_schedule=schedule,
        )


# §5.11 RemoteStartTransaction.req chargingProfile: a TxProfile for the transaction it starts
def remote_start_profile(adapter: Ocpp16Adapter, wire: dict[str, Any] | None, id_tag: str, connector_id: int | None) -> bool:
    """Hold the profile for the remote start's transaction; False: Reject the request."""
    if wire is None:
        return True
    try:
        if wire.get("transaction_id") is not None:
            raise ProfileRejected("a remote start's profile cannot name a transaction")
        profile = profile_from_ocpp(wire, connector_id or 0, adapter.services.clock.now())
        evses = list(adapter.station.evses())
        if connector_id is None and len(evses) == 1:
            connector_id = evses[0]
        adapter.services.charging_limits.add_pending(profile, connector_id, id_tag)
    except ProfileRejected as exc:
        log.warning("RemoteStartTransaction %s: charging profile Rejected: %s", id_tag, exc)
        return False
    return True
