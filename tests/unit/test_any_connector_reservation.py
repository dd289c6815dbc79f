"""The reservation of any connector, OCPP 1.6 §3.12.1 (agent/core/any_connector_reservation.py):
plain facts in, decisions out; no session, no storage, no event loop."""

from dataclasses import dataclass

from agent.core import any_connector_reservation as rules
from agent.core.connector_facts import ConnectorFacts
from agent.core.session import Reservation, ReserveResult


@dataclass(frozen=True)
class Held:
    reservation_id: int = 5
    id_tag: str = "RESERVED"
    parent_id_tag: str | None = "FLEET"


HELD = Held()


def free(evse_id: int, **facts) -> ConnectorFacts:
    return ConnectorFacts(evse_id, can_start=True, **facts)


def busy(evse_id: int) -> ConnectorFacts:
    return ConnectorFacts(evse_id, can_start=False, plugged=True, transaction_id_tag="SOMEONE")


def test_free_connectors_could_take_the_reserved_idtag_now():
    conns = [
        free(1),
        busy(2),
        free(3, authorized=True),  # someone's card accepted, waiting for the EV
        free(4, authorizing=True),  # someone's Authorize under way
        free(5, reservation=Reservation(7, "X", None, 1e9)),  # its own reservation
        free(6, reservation=Reservation(5, "RESERVED", None, 1e9)),  # this one, moved there
        ConnectorFacts(7, can_start=False, serviceable=False),
    ]
    assert rules.free_connectors(conns, HELD) == [1, 6]


def test_the_last_free_connector_is_kept_and_a_start_by_another_idtag_there_refused():
    two = [free(1), free(2)]
    assert rules.kept_connector(two, HELD) is None  # two free: either may go
    assert not rules.refuses(two, HELD, 1, "OTHER")
    one_left = [free(1), busy(2)]
    assert rules.kept_connector(one_left, HELD) == 1 and rules.keeps(one_left, HELD, 1)
    assert rules.refuses(one_left, HELD, 1, "OTHER")
    assert not rules.refuses(one_left, HELD, 1, "RESERVED")  # its own idTag
    assert not rules.refuses(one_left, HELD, 1, "MATE", "FLEET")  # its group
    assert not rules.refuses(one_left, None, 1, "OTHER")  # no reservation held
    assert rules.kept_connector(one_left, None) is None
    assert rules.kept_connector([busy(1), busy(2)], HELD) is None  # none free: none kept


def test_the_reservation_moves_where_its_idtag_starts():
    assert rules.moves_to(free(1), HELD, "RESERVED")
    assert rules.moves_to(free(1), HELD, "MATE", "FLEET")
    assert not rules.moves_to(free(1), HELD, "OTHER")
    assert not rules.moves_to(free(1, reservation=Reservation(7, "RESERVED", None, 1e9)), HELD, "RESERVED")
    assert not rules.moves_to(busy(1), HELD, "RESERVED")
    assert not rules.moves_to(free(1), None, "RESERVED")


def test_the_group_holding_a_connector():
    own = free(1, reservation=Reservation(7, "X", "CREW", 1e9))
    assert rules.group_holding([own, busy(2)], HELD, 1) == "CREW"  # its own reservation first
    assert rules.group_holding([free(1), busy(2)], HELD, 1) == "FLEET"  # kept for this one
    assert rules.group_holding([free(1), free(2)], HELD, 1) is None  # not kept
    assert rules.group_holding([free(1), busy(2)], Held(parent_id_tag=None), 1) is None


def test_it_ends_when_no_connector_can_serve_it():
    assert not rules.cannot_be_served([busy(1), ConnectorFacts(2, can_start=False, serviceable=False)])
    assert rules.cannot_be_served([ConnectorFacts(1, can_start=False, serviceable=False)] * 2)


def test_the_answer_to_a_reservation_of_any_connector():
    A, O, F, U = ReserveResult.ACCEPTED, ReserveResult.OCCUPIED, ReserveResult.FAULTED, ReserveResult.UNAVAILABLE
    assert rules.reserve_result([U, F, A], held_by_another=False) is A
    assert rules.reserve_result([U, F, O], held_by_another=False) is O
    assert rules.reserve_result([U, F], held_by_another=False) is F
    assert rules.reserve_result([U], held_by_another=False) is U
    assert rules.reserve_result([A], held_by_another=True) is O  # one at a time
