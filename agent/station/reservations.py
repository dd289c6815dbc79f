"""Reservations (OCPP 1.6 §3.12), version-neutral: the station's side of them.

A reservation of one connector lives in that connector's session (``agent/core/session.py``:
status Reserved, who may start, expiry, end). The reservation of "any connector" (connector
0) is held here; its rules (which connector is kept free for it, whether a start would take
that one, where it moves when its idTag starts) are pure, in
``agent/core/any_connector_reservation.py``. This module keeps the storage and the timing:
every reservation is kept in SQLite (migration 4 in ``agent/persistence/store.py``) so it
survives a restart (one whose expiry passed while the agent was down is dropped), the
any-connector reservation ends at its expiry, and the connector kept for it is marked after
every session event (``update_kept``: on a one-connector charge point, at once; OCTT TC_049).
One any-connector reservation at a time; another one is answered Occupied.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agent.core import any_connector_reservation as any_connector
from agent.core.connector_facts import ConnectorFacts
from agent.core.session import (
    Event,
    KeptForReservation,
    Reservation,
    ReservationCancelled,
    ReservationMade,
    ReserveResult,
    Session,
    admits,
)
from agent.persistence.store import Store
from agent.station.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredReservation:
    reservation_id: int
    connector_id: int  # 0: any connector
    id_tag: str
    parent_id_tag: str | None
    expiry: dt.datetime  # wall clock, UTC

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        """§3.12.1: the incoming idTag or its parent matches the reservation's idTag or parent."""
        return admits(self, id_tag, parent_id_tag)


class ReservationDesk:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        monotonic: Callable[[], float],
        sessions: Mapping[int, Session],
        dispatch: Callable[[int, Event], None],
        restored: Callable[[int], bool] = lambda evse_id: False,
    ) -> None:
        """``sessions``: each EVSE's session (read, never changed here); ``dispatch`` feeds an
        EVSE's session an event; ``restored``: whether a transaction found open in storage at
        start is still to be resolved on that EVSE."""
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._sessions = sessions
        self._dispatch = dispatch
        self._restored = restored
        self._any: StoredReservation | None = None
        self._updating_kept = False
        # Told (reservation id, why) when a reservation ends: "used", "expired", "cancelled",
        # "faulted", "unavailable" (OCPP 2.0.1 H01.FR.20 / H04 report some of them).
        self.on_ended: Callable[[int, str], None] = lambda _reservation_id, _why: None

    # ---- what the backend asks -------------------------------------------------------

    def reserve(
        self, connector_id: int, id_tag: str, parent_id_tag: str | None, expiry: dt.datetime, reservation_id: int
    ) -> ReserveResult:
        """§5.13 ReserveNow; a reservation with the same id is replaced, wherever it was."""
        new = StoredReservation(reservation_id, connector_id, id_tag, parent_id_tag, expiry.astimezone(dt.timezone.utc))
        held = self._any_reservation()
        if connector_id == 0:
            result = any_connector.reserve_result(
                (s.reserve_result(reservation_id) for s in self._sessions.values()),
                held_by_another=held is not None and held.reservation_id != reservation_id,
            )
        else:
            session = self._sessions.get(connector_id)
            if session is None:
                return ReserveResult.REJECTED
            result = session.reserve_result(reservation_id)
            if result is ReserveResult.ACCEPTED and held is not None and held.reservation_id != reservation_id:
                if any_connector.keeps(self._facts(), held, connector_id):
                    result = ReserveResult.OCCUPIED  # the last free connector is kept for connector 0's
        if result is not ReserveResult.ACCEPTED:
            return result
        self._remove_elsewhere(reservation_id, connector_id)
        self._put(new)
        if connector_id == 0:
            self._any = new
            self.update_kept()
        else:
            self._dispatch(connector_id, ReservationMade(self._for_session(new)))
        log.info("reservation %d: connector %d for %s until %s", reservation_id, connector_id, id_tag, new.expiry)
        return result

    def cancel(self, reservation_id: int) -> bool:
        """§5.1 CancelReservation: False when no reservation has this id."""
        held = self._any_reservation()
        if held is not None and held.reservation_id == reservation_id:
            self._any = None
            self._delete(reservation_id, 0)
            log.info("reservation %d (any connector) cancelled", reservation_id)
            self.on_ended(reservation_id, "cancelled")
            self.update_kept()
            return True
        for evse_id, session in self._sessions.items():
            r = session.reservation
            if r is not None and r.reservation_id == reservation_id:
                self._dispatch(evse_id, ReservationCancelled(reservation_id))
                return True
        return False

    # ---- what the station tells ------------------------------------------------------

    def restore(self) -> None:
        """At start: reservations from storage back into the sessions; expired ones are dropped."""
        now = self._clock.now()
        for r in self._stored():
            if r.expiry <= now:
                why = "expired while the agent was down"
            elif r.connector_id == 0:
                self._any, why = r, None
            elif r.connector_id not in self._sessions:
                why = "no such connector"
            elif self._restored(r.connector_id):
                why = "a transaction was open on its connector"
            else:
                self._dispatch(r.connector_id, ReservationMade(self._for_session(r)))
                why = None
            if why is None:
                log.info("reservation %d on connector %d restored", r.reservation_id, r.connector_id)
            else:
                log.info("reservation %d dropped: %s", r.reservation_id, why)
                self._delete(r.reservation_id, r.connector_id)

    def ended(self, connector_id: int, reservation_id: int, why: str) -> None:
        """A session ended its reservation (used, expired, cancelled, ...)."""
        log.info("reservation %d on connector %d ended: %s", reservation_id, connector_id, why)
        self._delete(reservation_id, connector_id)
        self.on_ended(reservation_id, why)

    def refuses(self, evse_id: int, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """Would a start by ``id_tag`` on ``evse_id`` take the connector kept for connector 0's reservation?"""
        held = self._any_reservation()
        return any_connector.refuses(self._facts(), held, evse_id, id_tag, parent_id_tag)

    def group_holding(self, evse_id: int) -> str | None:
        """The parentIdTag of the reservation holding ``evse_id`` (its own, or connector 0's when
        it is the last free connector), if that reservation names one."""
        return any_connector.group_holding(self._facts(), self._any_reservation(), evse_id)

    def claim(self, evse_id: int, id_tag: str, parent_id_tag: str | None = None) -> None:
        """The reserved idTag is about to start on ``evse_id``: the any-connector reservation moves there."""
        held = self._any_reservation()
        if held is None or not any_connector.moves_to(self._facts_of(evse_id), held, id_tag, parent_id_tag):
            return
        moved = StoredReservation(held.reservation_id, evse_id, held.id_tag, held.parent_id_tag, held.expiry)
        self._any = None
        self._put(moved)
        self._dispatch(evse_id, ReservationMade(self._for_session(moved)))
        log.info("reservation %d (any connector) taken up on connector %d", held.reservation_id, evse_id)

    def update_kept(self) -> None:
        """Mark the connector kept for connector 0's reservation (the last free one), and
        unmark the others; after every session event (``Station.dispatch``)."""
        if self._updating_kept:
            return
        if self._any is None and not any(s.kept_for_reservation for s in self._sessions.values()):
            return
        self._updating_kept = True
        try:
            kept = any_connector.kept_connector(self._facts(), self._any_reservation())
            for evse_id, session in self._sessions.items():
                if session.kept_for_reservation != (evse_id == kept):
                    self._dispatch(evse_id, KeptForReservation(evse_id == kept))
        finally:
            self._updating_kept = False

    # ---- inside ----------------------------------------------------------------------

    def _facts(self) -> list[ConnectorFacts]:
        return [ConnectorFacts.of(evse_id, session) for evse_id, session in self._sessions.items()]

    def _facts_of(self, evse_id: int) -> ConnectorFacts:
        return ConnectorFacts.of(evse_id, self._sessions[evse_id])

    def _any_reservation(self) -> StoredReservation | None:
        """Connector 0's reservation, ended when it expired or no connector can serve it (§3.12.1)."""
        held = self._any
        if held is None:
            return None
        why = None
        if held.expiry <= self._clock.now():
            why = "expired"
        elif all(s.faults for s in self._sessions.values()):
            why = "faulted"  # no connector can serve it (§3.12.1)
        elif all(s.faults or not s.available for s in self._sessions.values()):
            why = "unavailable"
        if why is None:
            return held
        log.info("reservation %d (any connector) ended: %s", held.reservation_id, why)
        self._any = None
        self._delete(held.reservation_id, 0)
        self.on_ended(held.reservation_id, why)
        return None

    def _remove_elsewhere(self, reservation_id: int, connector_id: int) -> None:
        if self._any is not None and self._any.reservation_id == reservation_id and connector_id != 0:
            self._any = None
        for evse_id, session in self._sessions.items():
            r = session.reservation
            if evse_id != connector_id and r is not None and r.reservation_id == reservation_id:
                self._dispatch(evse_id, ReservationCancelled(reservation_id))

    def _for_session(self, r: StoredReservation) -> Reservation:
        remaining_s = (r.expiry - self._clock.now()).total_seconds()
        return Reservation(r.reservation_id, r.id_tag, r.parent_id_tag, self._monotonic() + remaining_s)

    # ---- storage (table ``reservations``) ----------------------------------------------

    def _put(self, r: StoredReservation) -> None:
        with self._store.atomic():
            self._store.execute(
                "INSERT OR REPLACE INTO reservations(reservation_id, connector_id, id_tag, parent_id_tag, expiry)"
                " VALUES (?,?,?,?,?)",
                (r.reservation_id, r.connector_id, r.id_tag, r.parent_id_tag, r.expiry.isoformat()),
            )

    def _delete(self, reservation_id: int, connector_id: int) -> None:
        # By connector too: a reservation moved elsewhere under the same id is not touched.
        with self._store.atomic():
            self._store.execute(
                "DELETE FROM reservations WHERE reservation_id=? AND connector_id=?", (reservation_id, connector_id)
            )

    def _stored(self) -> list[StoredReservation]:
        rows = self._store.execute("SELECT * FROM reservations ORDER BY reservation_id").fetchall()
        return [
            StoredReservation(
                r["reservation_id"],
                r["connector_id"],
                r["id_tag"],
                r["parent_id_tag"],
                dt.datetime.fromisoformat(r["expiry"]),
            )
            for r in rows
        ]
