"""Reservation profile requests (OCPP 1.6 §3.12, §5.13 ReserveNow, §5.1 CancelReservation).

The rules live in the session, ``agent/core/any_connector_reservation.py`` (connector 0) and
``agent/station/reservations.py`` (storage, expiry); here the 1.6 messages are
mapped onto the station port's ``reserve`` / ``cancel_reservation``. The Reserved status
and its end reach the backend through StatusNotification like any other status.
"""

from __future__ import annotations

import datetime as dt
import logging

from ocpp.exceptions import FormatViolationError
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, CancelReservationStatus, ReservationStatus

from agent.backend.ports import ReservationRequest, StationPort
from agent.core.identity import central
from agent.ocpp16.keys import RESERVE_CONNECTOR_ZERO_SUPPORTED

log = logging.getLogger(__name__)


class ReservationHandlers:
    def __init__(self, station: StationPort) -> None:
        self.station = station

    # §5.13 ReserveNow
    @on(Action.reserve_now)
    def on_reserve_now(
        self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int, parent_id_tag: str | None = None
    ):
        if connector_id == 0 and not RESERVE_CONNECTOR_ZERO_SUPPORTED:
            status = ReservationStatus.rejected  # §3.12.1 ReserveConnectorZeroSupported
        else:
            result = self.station.reserve(ReservationRequest(
                reservation_id, connector_id or None, central(id_tag), _expiry(expiry_date), parent_id_tag))
            status = ReservationStatus(result.value)
        log.info("ReserveNow %d: connector %d for %s until %s: %s",
                 reservation_id, connector_id, id_tag, expiry_date, status)
        return call_result.ReserveNow(status=status)

    # §5.1 CancelReservation
    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int):
        cancelled = self.station.cancel_reservation(reservation_id)
        log.info("CancelReservation %d: %s", reservation_id, cancelled)
        status = CancelReservationStatus.accepted if cancelled else CancelReservationStatus.rejected
        return call_result.CancelReservation(status=status)


def _expiry(text: str) -> dt.datetime:
    """expiryDate (§7.x dateTime); a time without a zone is taken as UTC."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormatViolationError(details={"expiryDate": f"not a date-time: {text!r}"}) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)
