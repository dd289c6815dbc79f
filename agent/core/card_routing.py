"""Which connector a presented card goes to, and which one a remote start without one picks.

The station has one card reader for all its connectors (OCPP 1.6 names no connector for a
card), so the card is routed by what the connectors are doing. Pure: facts in
(``agent.core.connector_facts.ConnectorFacts``, one per connector, in connector order), an
EVSE id out.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.core.connector_facts import ConnectorFacts


def connector_for_card(connectors: Sequence[ConnectorFacts], id_tag: str, parent_id_tag: str | None = None) -> int:
    """The EVSE a card goes to, the first that applies:

    1. the one whose transaction the card (or a card of its group) started: the tap stops it
       (OCPP 1.6 §5.16);
    2. the one reserved for the card or its group (OCPP 1.6 §3.12);
    3. among the connectors not reserved for another idTag (all of them when each one is):
       one with an EV plugged in that waits for a card;
    4. one that waits for a card, EV or not;
    5. the first.
    """
    for conn in connectors:
        if conn.started_by(id_tag, parent_id_tag):
            return conn.evse_id
    for conn in connectors:
        if conn.reservation is not None and not conn.reserved_for_other(id_tag, parent_id_tag):
            return conn.evse_id
    open_to_card = [c for c in connectors if not c.reserved_for_other(id_tag, parent_id_tag)] or list(connectors)
    for conn in open_to_card:
        if conn.plugged and conn.waiting_for_card:
            return conn.evse_id
    for conn in open_to_card:
        if conn.waiting_for_card:
            return conn.evse_id
    return open_to_card[0].evse_id


def connector_for_remote_start(connectors: Sequence[ConnectorFacts], id_tag: str,
                               parent_id_tag: str | None = None) -> int | None:
    """The EVSE a remote start names none of (OCPP 1.6 §5.11 without connectorId; 2.0.1 F01
    without evseId) goes to: of those that wait for a card and are not reserved for another
    idTag (OCPP 1.6 §3.12), one reserved for this idTag first, then one with an EV plugged
    in, then the first; None when there is none."""
    candidates = [c for c in connectors if c.waiting_for_card and not c.reserved_for_other(id_tag, parent_id_tag)]
    candidates.sort(key=lambda c: (c.reservation is None, not c.plugged))  # stable: connector order within
    return candidates[0].evse_id if candidates else None
