"""Reservations (OCPP 1.6 §3.12), version-neutral: the station's side of them.

A reservation of one connector lives in that connector's session (``agent/core/session.py``:
status Reserved, who may start, expiry, end). This module answers reservation
requests, keeps every reservation in SQLite (migration 4 in ``agent/persistence/store.py``) so it
survives a restart (one whose expiry passed while the agent was down is dropped), and
implements the reservation of "any connector" (connector 0):

- The station holds that reservation itself. It keeps one connector free for the reserved
  idTag: a start by another idTag is refused when it would take the last free connector
  (free: could start a transaction now, with no authorization or reservation of its own).
  That last free connector shows Reserved while it is the one kept (``update_kept``): on a
  one-connector charge point, at once (OCTT TC_049).
- When the reserved idTag (or its group) starts on a connector, the reservation moves
  onto that connector first, so the session ends it and its StartTransaction carries
  the reservationId.
- One any-connector reservation at a time; another one is answered Occupied.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.station.clock import Clock
from agent.core.session import KeptForReservation, Reservation, ReservationCancelled, ReservationMade, ReserveResult
from agent.persistence.store import Store

if TYPE_CHECKING:
    from agent.core.session import Event
    from agent.station.station import Connector

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
        return bool(({id_tag, parent_id_tag} & {self.id_tag, self.parent_id_tag}) - {None})


class ReservationDesk:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        monotonic: Callable[[], float],
        connectors: dict[int, Connector],
        dispatch: Callable[[Connector, Event], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._connectors = connectors
        self._dispatch = dispatch
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
        if connector_id == 0:
            result = self._any_result(reservation_id)
        else:
            conn = self._connectors.get(connector_id)
            if conn is None:
                return ReserveResult.REJECTED
            result = conn.session.reserve_result(reservation_id)
            held = self._any_reservation()
            if result is ReserveResult.ACCEPTED and held is not None and held.reservation_id != reservation_id:
                if self._free(held) == [conn]:
                    result = ReserveResult.OCCUPIED  # the last free connector is kept for connector 0's
        if result is not ReserveResult.ACCEPTED:
            return result
        self._remove_elsewhere(reservation_id, connector_id)
        self._put(new)
        if connector_id == 0:
            self._any = new
            self.update_kept()
        else:
            self._dispatch(self._connectors[connector_id], ReservationMade(self._for_session(new)))
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
        for conn in self._connectors.values():
            r = conn.session.reservation
            if r is not None and r.reservation_id == reservation_id:
                self._dispatch(conn, ReservationCancelled(reservation_id))
                return True
        return False

    # ---- what the station tells ------------------------------------------------------

    def restore(self) -> None:
        """At start: reservations from storage back into the sessions; expired ones are dropped."""
        now = self._clock.now()
        for r in self._stored():
            conn = self._connectors.get(r.connector_id)
            if r.expiry <= now:
                why = "expired while the agent was down"
            elif r.connector_id == 0:
                self._any, why = r, None
            elif conn is None:
                why = "no such connector"
            elif conn.restored is not None:
                why = "a transaction was open on its connector"
            else:
                self._dispatch(conn, ReservationMade(self._for_session(r)))
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

    def refuses(self, conn: Connector, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """Would a start by ``id_tag`` on ``conn`` take the connector kept for connector 0's reservation?"""
        held = self._any_reservation()
        if held is None or held.admits(id_tag, parent_id_tag):
            return False
        return self._free(held) == [conn]

    def group_holding(self, conn: Connector) -> str | None:
        """The parentIdTag of the reservation holding ``conn`` (its own, or connector 0's when
        it is the last free connector), if that reservation names one."""
        if conn.session.reservation is not None:
            return conn.session.reservation.parent_id_tag
        held = self._any_reservation()
        if held is not None and self._free(held) == [conn]:
            return held.parent_id_tag
        return None

    def claim(self, conn: Connector, id_tag: str, parent_id_tag: str | None = None) -> None:
        """The reserved idTag is about to start on ``conn``: the any-connector reservation moves there."""
        held = self._any_reservation()
        if held is None or not held.admits(id_tag, parent_id_tag) or conn.session.reservation is not None:
            return
        if not conn.session.can_start():
            return
        moved = StoredReservation(held.reservation_id, conn.id, held.id_tag, held.parent_id_tag, held.expiry)
        self._any = None
        self._put(moved)
        self._dispatch(conn, ReservationMade(self._for_session(moved)))
        log.info("reservation %d (any connector) taken up on connector %d", held.reservation_id, conn.id)

    def update_kept(self) -> None:
        """Mark the connector kept for connector 0's reservation (the last free one), and
        unmark the others; after every session event (``Station.dispatch``)."""
        if self._updating_kept:
            return
        kept_before = [c for c in self._connectors.values() if c.session.kept_for_reservation]
        if self._any is None and not kept_before:
            return
        self._updating_kept = True
        try:
            held = self._any_reservation()
            free = self._free(held) if held is not None else []
            kept = free[0] if len(free) == 1 else None
            for conn in self._connectors.values():
                if conn.session.kept_for_reservation != (conn is kept):
                    self._dispatch(conn, KeptForReservation(conn is kept))
        finally:
            self._updating_kept = False

    # ---- inside ----------------------------------------------------------------------

    def _any_reservation(self) -> StoredReservation | None:
        """Connector 0's reservation, ended when it expired or no connector can serve it (§3.12.1)."""
        held = self._any
        if held is None:
            return None
        why = None
        if held.expiry <= self._clock.now():
            why = "expired"
        elif all(c.session.faults for c in self._connectors.values()):
            why = "faulted"  # no connector can serve it
        elif all(c.session.faults or not c.session.available for c in self._connectors.values()):
            why = "unavailable"
        if why is None:
            return held
        log.info("reservation %d (any connector) ended: %s", held.reservation_id, why)
        self._any = None
        self._delete(held.reservation_id, 0)
        self.on_ended(held.reservation_id, why)
        return None

    def _any_result(self, reservation_id: int) -> ReserveResult:
        held = self._any_reservation()
        if held is not None and held.reservation_id != reservation_id:
            return ReserveResult.OCCUPIED
        results = {c.session.reserve_result(reservation_id) for c in self._connectors.values()}
        for result in (ReserveResult.ACCEPTED, ReserveResult.OCCUPIED, ReserveResult.FAULTED):
            if result in results:
                return result
        return ReserveResult.UNAVAILABLE

    def _free(self, held: StoredReservation) -> list[Connector]:
        return [
            c
            for c in self._connectors.values()
            if c.session.can_start()
            and c.session.authorized is None
            and c.session.pending_auth is None
            and (c.session.reservation is None or c.session.reservation.reservation_id == held.reservation_id)
        ]

    def _remove_elsewhere(self, reservation_id: int, connector_id: int) -> None:
        if self._any is not None and self._any.reservation_id == reservation_id and connector_id != 0:
            self._any = None
        for conn in self._connectors.values():
            r = conn.session.reservation
            if conn.id != connector_id and r is not None and r.reservation_id == reservation_id:
                self._dispatch(conn, ReservationCancelled(reservation_id))

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
