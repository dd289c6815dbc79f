"""What the station-level rules know of each connector: facts read from its session at one moment.

The rules that look across connectors (``agent/core/card_routing.py``: where a card or a remote
start goes; ``agent/core/any_connector_reservation.py``: the reservation of any connector) take
a list of these, one per connector, and return a decision: no session is changed, nothing
is read later, so they are tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.session import Reservation, Session, admits


@dataclass(frozen=True)
class ConnectorFacts:
    evse_id: int
    can_start: bool  # a transaction could start now (``Session.can_start``)
    plugged: bool = False  # an EV is plugged in
    authorized: bool = False  # a card or remote start was accepted: the session waits for the EV
    authorizing: bool = False  # a card's Authorize was sent, its answer is not there yet
    transaction_id_tag: str | None = None  # the idTag of the transaction running here
    transaction_parent_id_tag: str | None = None  # and its group (OCPP 1.6 §5.16)
    reservation: Reservation | None = None  # the connector's own reservation (OCPP 1.6 §3.12)
    serviceable: bool = True  # neither faulted nor unavailable
    # A transaction runs here that nobody authorized yet (OCPP 2.0.1 TxStartPoint EVConnected,
    # ``Session.awaits_authorization``): a card or a remote start goes to it.
    awaits_authorization: bool = False

    @classmethod
    def of(cls, evse_id: int, session: Session) -> ConnectorFacts:
        tx = session.transaction
        return cls(
            evse_id=evse_id,
            can_start=session.can_start(),
            plugged=session.plugged,
            authorized=session.authorized is not None,
            authorizing=session.pending_auth is not None,
            transaction_id_tag=tx.id_tag if tx is not None else None,
            transaction_parent_id_tag=tx.parent_id_tag if tx is not None else None,
            reservation=session.reservation,
            serviceable=not session.faults and session.available,
            awaits_authorization=session.awaits_authorization(),
        )

    @property
    def waiting_for_card(self) -> bool:
        """Could start, and no card or remote start is accepted here yet."""
        return (self.can_start or self.awaits_authorization) and not self.authorized

    def reserved_for_other(self, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """OCPP 1.6 §3.12.1: reserved, and neither ``id_tag`` nor its group is the reservation's."""
        return self.reservation is not None and not admits(self.reservation, id_tag, parent_id_tag)

    def started_by(self, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """The transaction here was started by ``id_tag`` or by a card of its group (OCPP 1.6 §5.16)."""
        if self.transaction_id_tag is None:
            return False
        return self.transaction_id_tag == id_tag or bool(
            parent_id_tag and self.transaction_parent_id_tag == parent_id_tag
        )
