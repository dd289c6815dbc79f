"""The reservation of any connector (OCPP 1.6 §3.12.1, ReserveNow with connectorId 0), as rules.

"The Charge Point SHALL NOT reserve a specific connector, but make sure that at any time during
the validity of the reservation, one connector remains available for the reserved idTag." So:

- a connector is *free* when a transaction could start on it now, with no card or remote start
  accepted or being authorized there, and no reservation of its own other than this one;
- the last free connector is *kept* for the reserved idTag (it shows Reserved): a start by
  another idTag there is refused, and so is a reservation of that connector for another id;
- when the reserved idTag (or its group) starts on a connector, the reservation *moves* there
  first, so that connector's session uses it and its StartTransaction carries the reservationId;
- it ends when every connector is faulted or unavailable (and at its expiry, which the caller
  keeps: time is not read here).

Pure: ``agent.core.connector_facts.ConnectorFacts`` in, decisions out;
``agent/station/reservations.py`` stores the reservation, watches its expiry and dispatches
what these rules decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from agent.core.connector_facts import ConnectorFacts
from agent.core.session import HeldFor, ReserveResult, admits


class Held(HeldFor, Protocol):
    """The reservation of any connector: its id, and the idTag and group it is held for."""

    @property
    def reservation_id(self) -> int: ...


def free_connectors(connectors: Sequence[ConnectorFacts], held: Held) -> list[int]:
    """The EVSEs that could take the reserved idTag now."""
    return [
        c.evse_id
        for c in connectors
        if c.can_start
        and not c.authorized
        and not c.authorizing
        and (c.reservation is None or c.reservation.reservation_id == held.reservation_id)
    ]


def kept_connector(connectors: Sequence[ConnectorFacts], held: Held | None) -> int | None:
    """The connector kept for the reservation (it shows Reserved): the last free one, if one is."""
    if held is None:
        return None
    free = free_connectors(connectors, held)
    return free[0] if len(free) == 1 else None


def keeps(connectors: Sequence[ConnectorFacts], held: Held | None, evse_id: int) -> bool:
    """``evse_id`` is the last free connector, kept for the reservation."""
    return held is not None and free_connectors(connectors, held) == [evse_id]


def refuses(connectors: Sequence[ConnectorFacts], held: Held | None, evse_id: int, id_tag: str,
            parent_id_tag: str | None = None) -> bool:
    """A start by ``id_tag`` on ``evse_id`` would take the connector kept for another idTag's reservation."""
    if held is None or admits(held, id_tag, parent_id_tag):
        return False
    return keeps(connectors, held, evse_id)


def moves_to(connector: ConnectorFacts, held: Held | None, id_tag: str, parent_id_tag: str | None = None) -> bool:
    """The reserved idTag (or its group) is about to start on ``connector``: the reservation
    moves there (not onto a connector with a reservation of its own, nor one that cannot start)."""
    return (held is not None and admits(held, id_tag, parent_id_tag) and connector.reservation is None
            and connector.can_start)


def group_holding(connectors: Sequence[ConnectorFacts], held: Held | None, evse_id: int) -> str | None:
    """The parentIdTag of the reservation holding ``evse_id``: its own reservation's, else this
    one's when it keeps that connector; None when neither names a group."""
    for c in connectors:
        if c.evse_id == evse_id and c.reservation is not None:
            return c.reservation.parent_id_tag
    return held.parent_id_tag if held is not None and keeps(connectors, held, evse_id) else None


def cannot_be_served(connectors: Iterable[ConnectorFacts]) -> bool:
    """Every connector is faulted or unavailable: the reservation ends (§3.12.1)."""
    return all(not c.serviceable for c in connectors)


def reserve_result(results: Iterable[ReserveResult], held_by_another: bool) -> ReserveResult:
    """The answer to ReserveNow for any connector, from each connector's own answer
    (``Session.reserve_result``): Occupied while another such reservation is held (one at a
    time); else Accepted when any connector can be reserved, then Occupied, Faulted,
    Unavailable."""
    if held_by_another:
        return ReserveResult.OCCUPIED
    results = set(results)
    for result in (ReserveResult.ACCEPTED, ReserveResult.OCCUPIED, ReserveResult.FAULTED):
        if result in results:
            return result
    return ReserveResult.UNAVAILABLE
