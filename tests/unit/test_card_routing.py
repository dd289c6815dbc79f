"""Which connector a card goes to and which one a remote start picks (agent/core/card_routing.py):
plain facts in, an EVSE id out; no session, no event loop."""

from agent.core.card_routing import connector_for_card, connector_for_remote_start
from agent.core.connector_facts import ConnectorFacts
from agent.core.session import AuthorizationResult, CardPresented, PilotChanged, Reservation, Session, Tick
from drivers.interfaces import PilotState


def free(evse_id: int, **facts) -> ConnectorFacts:
    return ConnectorFacts(evse_id, can_start=True, **facts)


def charging(evse_id: int, id_tag: str, parent: str | None = None) -> ConnectorFacts:
    return ConnectorFacts(evse_id, can_start=False, plugged=True, transaction_id_tag=id_tag,
                          transaction_parent_id_tag=parent)


def reserved(evse_id: int, id_tag: str, parent: str | None = None, **facts) -> ConnectorFacts:
    return free(evse_id, reservation=Reservation(9, id_tag, parent, 1e9), **facts)


def test_a_card_goes_to_its_own_transaction_or_its_groups():
    conns = [free(1, plugged=True), charging(2, "CARD"), charging(3, "OTHER", parent="FLEET")]
    assert connector_for_card(conns, "CARD") == 2  # a tap stops it
    assert connector_for_card(conns, "MATE", "FLEET") == 3  # OCPP 1.6 §5.16: the same group
    assert connector_for_card(conns, "MATE", None) == 1  # group unknown: a new session


def test_a_card_goes_to_the_connector_reserved_for_it():
    conns = [free(1, plugged=True), reserved(2, "CARD"), reserved(3, "X", parent="FLEET")]
    assert connector_for_card(conns, "CARD") == 2
    assert connector_for_card(conns, "MATE", "FLEET") == 3


def test_a_card_prefers_a_plugged_ev_waiting_then_a_free_connector_never_anothers_reservation():
    waiting = [free(1), free(2, plugged=True)]
    assert connector_for_card(waiting, "CARD") == 2
    assert connector_for_card([free(1, authorized=True, plugged=True), free(2)], "CARD") == 2
    # Connector 1 is reserved for someone else: the card goes to 2 even with an EV waiting at 1.
    assert connector_for_card([reserved(1, "OTHER", plugged=True), free(2)], "CARD") == 2
    # Nothing can start: the first connector not reserved for another (it will say why not).
    busy = [reserved(1, "OTHER"), charging(2, "X"), charging(3, "Y")]
    assert connector_for_card(busy, "CARD") == 2
    # Every one reserved for others: the first of all.
    assert connector_for_card([reserved(1, "A"), reserved(2, "B")], "CARD") == 1


def test_a_remote_start_without_a_connector_picks_its_reservation_then_a_plugged_ev():
    conns = [free(1), free(2, plugged=True), reserved(3, "CARD")]
    assert connector_for_remote_start(conns, "CARD") == 3
    assert connector_for_remote_start(conns, "OTHER") == 2  # not 3: reserved for CARD
    assert connector_for_remote_start([free(1), free(2)], "CARD") == 1
    assert connector_for_remote_start([charging(1, "X"), free(2, authorized=True)], "CARD") is None
    assert connector_for_remote_start([reserved(1, "X", parent="FLEET")], "CARD", "FLEET") == 1


def test_facts_are_read_from_a_session():
    s = Session(max_current_a=16)
    s.handle(Tick(), 0)
    assert ConnectorFacts.of(4, s) == ConnectorFacts(4, can_start=True)
    s.handle(PilotChanged(PilotState.B), 1)
    s.handle(CardPresented("CARD"), 2)
    assert ConnectorFacts.of(4, s) == ConnectorFacts(4, can_start=True, plugged=True, authorizing=True)
    s.handle(AuthorizationResult("CARD", True, "FLEET"), 3)  # plugged: the transaction starts
    facts = ConnectorFacts.of(4, s)
    assert not facts.can_start and facts.started_by("MATE", "FLEET") and facts.transaction_id_tag == "CARD"
