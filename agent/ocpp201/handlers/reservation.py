"""Functional block H (Reservation): ReserveNow (H01), CancelReservation (H02), and the station's
ReservationStatusUpdate when a reservation ends on its own (H01.FR.20, H04).

The rules live in the session (agent/core/session.py) and agent/station/reservations.py, shared
with OCPP 1.6: a reservation of one EVSE holds it Reserved for the idToken (or its groupIdToken);
one of an unspecified EVSE keeps the last free EVSE for it (H01.FR.07: the EVSEs left free show
Reserved once as many are reserved as are free); the same reservation id replaces the previous
one (H01.FR.02). What is 2.0.1's alone is here: ReservationCtrlr.Enabled and .NonEvseSpecific,
a reservation of a connector type (H01.FR.06), and the words.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import FormatViolationError
from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.ports import ReservationRequest
from agent.core.identity import IdToken, IdTokenType

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

# Part 2 §3.74 ReservationUpdateStatusEnumType, for why a reservation ended without the CSMS
# asking; one used by a transaction or cancelled by the CSMS is not reported.
UPDATE_STATUS = {
    "expired": "Expired",  # H04.FR.01
    "faulted": "Removed",  # H01.FR.20: its EVSE became Faulted
    "unavailable": "Removed",  # H01.FR.20: its EVSE became Unavailable
}


class ReservationHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.station = adapter.station
        self.settings = adapter.services.settings

    # H01 ReserveNow
    @on(Action.reserve_now)
    def on_reserve_now(self, id: int, expiry_date_time: str, id_token: dict[str, Any],
                       evse_id: int | None = None, connector_type: str | None = None,
                       group_id_token: dict[str, Any] | None = None, **_: Any) -> Any:
        status, reason = self._reserve(id, _expiry(expiry_date_time), _token(id_token), evse_id, connector_type,
                                       group_id_token["id_token"] if group_id_token else None)
        log.info("ReserveNow %d: EVSE %s, connector type %s, for %s until %s: %s%s", id, evse_id, connector_type,
                 id_token.get("id_token"), expiry_date_time, status, f" ({reason})" if reason else "")
        return call_result.ReserveNow(status=status, status_info={"reason_code": reason} if reason else None)

    def _reserve(self, reservation_id: int, expiry: dt.datetime, token: IdToken, evse_id: int | None,
                 connector_type: str | None, group: str | None) -> tuple[str, str | None]:
        if not self.settings["reservation_enabled"]:
            return "Rejected", "Disabled"  # H01.FR.01 (ReservationCtrlr.Enabled false)
        evses = self.station.evses()
        if evse_id is not None and evse_id not in evses:
            return "Rejected", "UnknownEvse"
        if evse_id is None:
            if connector_type is not None:
                typed = self.adapter.evses_with_connector_type(connector_type)
                if not typed:
                    return "Rejected", "UnknownConnectorType"  # H01.FR.06: none of this type
                if len(typed) < len(evses):
                    # Only some EVSEs have the type: the reservation holds the first free one.
                    for candidate in typed:
                        result = self.station.reserve(ReservationRequest(reservation_id, candidate, token, expiry, group))
                        if result.value == "Accepted" or candidate == typed[-1]:
                            return result.value, None
            elif not self.settings["reservation_non_evse_specific"]:
                return "Rejected", "NoEvseSpecified"  # H01.FR.19
        result = self.station.reserve(ReservationRequest(reservation_id, evse_id, token, expiry, group, connector_type))
        return result.value, None

    # H02 CancelReservation
    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        cancelled = self.station.cancel_reservation(reservation_id)  # H02.FR.01 / H02.FR.02
        log.info("CancelReservation %d: %s", reservation_id, "Accepted" if cancelled else "Rejected (no such reservation)")
        return call_result.CancelReservation(status="Accepted" if cancelled else "Rejected")


def status_update(reservation_id: int, why: str) -> Any | None:
    """The ReservationStatusUpdateRequest for a reservation that ended (``why`` as the station
    says it), or None when 2.0.1 does not report that end."""
    status = UPDATE_STATUS.get(why)
    if status is None:
        return None
    return call.ReservationStatusUpdate(reservation_id=reservation_id, reservation_update_status=status)


def _token(wire: dict[str, Any]) -> IdToken:
    try:
        kind = IdTokenType(wire["type"])
    except ValueError:
        kind = IdTokenType.CENTRAL
    return IdToken(wire["id_token"], kind)


def _expiry(text: str) -> dt.datetime:
    """expiryDateTime (dateTime, Part 2 §2.1); a time without a zone is taken as UTC."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormatViolationError(details={"expiryDateTime": f"not a date-time: {text!r}"}) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)
