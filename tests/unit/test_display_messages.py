"""OCPP 2.0.1 display messages: the pure rule of which one a display shows
(agent/core/display_messages.py), the stored messages (agent/station/display_messages.py) and the
NotifyDisplayMessages pages (agent/ocpp201/handlers/display_messages.py); no event loop."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.core.display_messages import (
    DisplayMessage,
    MessagePriority,
    MessageState,
    Situation,
    current,
    ended,
    matching,
    state_of,
    visible,
)
from agent.core.session import ConnectorStatus
from agent.ocpp201.handlers.display_messages import message_info, notify_pages
from agent.persistence.store import Store
from agent.station.display_messages import DisplayMessages

T0 = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
ALWAYS, IN_FRONT, NORMAL = MessagePriority.ALWAYS_FRONT, MessagePriority.IN_FRONT, MessagePriority.NORMAL_CYCLE


def msg(message_id: int, priority: MessagePriority = NORMAL, order: int = 0, **fields) -> DisplayMessage:
    return DisplayMessage(message_id, priority, f"text {message_id}", order=order or message_id, **fields)


def idle(now: dt.datetime = T0, elapsed_s: float = 0.0, evse_id: int = 1) -> Situation:
    return Situation(evse_id, MessageState.IDLE, None, now, elapsed_s)


def charging(transaction_id: str = "tx-1", now: dt.datetime = T0) -> Situation:
    return Situation(1, MessageState.CHARGING, transaction_id, now)


@pytest.mark.parametrize(("status", "running", "state"), [
    (ConnectorStatus.AVAILABLE, False, MessageState.IDLE),
    (ConnectorStatus.PREPARING, False, MessageState.IDLE),
    (ConnectorStatus.RESERVED, False, MessageState.IDLE),
    (ConnectorStatus.CHARGING, True, MessageState.CHARGING),
    (ConnectorStatus.SUSPENDED_EV, True, MessageState.CHARGING),
    (ConnectorStatus.FINISHING, False, MessageState.IDLE),
    (ConnectorStatus.UNAVAILABLE, False, MessageState.UNAVAILABLE),
    (ConnectorStatus.FAULTED, True, MessageState.FAULTED),
])
def test_state_of_an_evse(status, running, state):
    assert state_of(status, running) is state


def test_time_window_start_inclusive_end_exclusive():
    m = msg(1, start=T0, end=T0 + dt.timedelta(minutes=5))
    assert not visible(m, idle(T0 - dt.timedelta(seconds=1)))
    assert visible(m, idle(T0))
    assert visible(m, idle(T0 + dt.timedelta(seconds=299)))
    assert not visible(m, idle(T0 + dt.timedelta(minutes=5)))


def test_state_transaction_and_evse_must_match():
    assert visible(msg(1, state=MessageState.IDLE), idle())
    assert not visible(msg(1, state=MessageState.CHARGING), idle())
    assert visible(msg(1, state=MessageState.CHARGING), charging())
    assert visible(msg(1, transaction_id="tx-1"), charging("tx-1"))
    assert not visible(msg(1, transaction_id="tx-1"), charging("tx-2"))
    assert not visible(msg(1, transaction_id="tx-1"), idle())
    assert visible(msg(1, evse_id=1), idle(evse_id=1))
    assert not visible(msg(1, evse_id=2), idle(evse_id=1))


def test_ended_after_end_time_or_when_its_transaction_is_over():
    running = {"tx-1"}.__contains__
    assert not ended(msg(1), T0, running)
    assert ended(msg(1, end=T0), T0, running)
    assert not ended(msg(1, end=T0 + dt.timedelta(seconds=1)), T0, running)
    assert not ended(msg(1, transaction_id="tx-1"), T0, running)
    assert ended(msg(1, transaction_id="tx-2"), T0, running)
    assert not ended(msg(1, start=T0 + dt.timedelta(days=1)), T0, running)  # not started is not ended


def test_the_newest_always_front_wins_and_is_not_cycled():
    messages = [msg(1, ALWAYS, order=2), msg(2, ALWAYS, order=5), msg(3, ALWAYS, order=3)]
    for elapsed in (0.0, 5.0, 10.0, 100.0):
        assert current(messages, idle(elapsed_s=elapsed), ALWAYS).id == 2


def test_in_front_and_normal_cycle_messages_take_turns_in_the_order_set():
    messages = [msg(1, IN_FRONT, order=3), msg(2, IN_FRONT, order=1), msg(3, NORMAL)]
    shown = [current(messages, idle(elapsed_s=t), IN_FRONT, cycle_s=5.0).id for t in (0.0, 4.9, 5.0, 9.9, 10.0)]
    assert shown == [2, 2, 1, 1, 2]
    assert current(messages, idle(), NORMAL).id == 3
    assert current(messages, idle(), ALWAYS) is None


def test_only_visible_messages_take_part_in_the_cycle():
    later = T0 + dt.timedelta(minutes=1)
    messages = [msg(1, IN_FRONT), msg(2, IN_FRONT, start=later)]
    assert {current(messages, idle(elapsed_s=t), IN_FRONT).id for t in (0.0, 5.0, 10.0)} == {1}
    assert {current(messages, idle(later, t), IN_FRONT).id for t in (0.0, 5.0)} == {1, 2}


def test_while_a_fault_is_shown_only_faulted_state_messages_and_always_front():
    faulted = Situation(1, MessageState.FAULTED, None, T0)
    messages = [msg(1, IN_FRONT), msg(2, NORMAL, state=MessageState.FAULTED), msg(3, ALWAYS)]
    assert current(messages, faulted, IN_FRONT, fault_shown=True) is None
    assert current(messages, faulted, NORMAL, fault_shown=True).id == 2
    assert current(messages, faulted, ALWAYS, fault_shown=True).id == 3
    assert current(messages, faulted, IN_FRONT).id == 1


def test_matching_needs_every_criterion():
    messages = [msg(3, IN_FRONT, state=MessageState.IDLE), msg(1, NORMAL), msg(2, IN_FRONT)]
    assert [m.id for m in matching(messages)] == [1, 2, 3]
    assert [m.id for m in matching(messages, ids=[3, 9])] == [3]
    assert [m.id for m in matching(messages, priority=IN_FRONT)] == [2, 3]
    assert [m.id for m in matching(messages, ids=[3], state=MessageState.CHARGING)] == []
    assert [m.id for m in matching(messages, ids=[2], priority=IN_FRONT, state=None)] == [2]


class Now:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at


def test_stored_messages_survive_a_restart_replace_by_id_and_end(tmp_path):
    now, running = Now(), {"tx-1"}
    store = Store(tmp_path / "db")
    board = DisplayMessages(store, now, running.__contains__, max_messages=3)
    board.put(msg(1, IN_FRONT, state=MessageState.IDLE, start=T0, end=T0 + dt.timedelta(hours=1)))
    board.put(msg(2, transaction_id="tx-1", evse_id=1))
    board.put(DisplayMessage(1, ALWAYS, "replaced"))  # O06
    assert [(m.id, m.priority, m.content) for m in board.all()] == [(1, ALWAYS, "replaced"), (2, NORMAL, "text 2")]
    assert board.full(3) is False and board.full(1) is False
    board.put(msg(3))
    assert board.full(4) and not board.full(3)
    store.close()

    store = Store(tmp_path / "db")
    again = DisplayMessages(store, now, running.__contains__, max_messages=3)
    assert [(m.id, m.content, m.transaction_id, m.evse_id) for m in again.all()] == [
        (1, "replaced", None, None), (2, "text 2", "tx-1", 1), (3, "text 3", None, None)]
    assert current(again.all(), idle(), ALWAYS).content == "replaced"
    assert max(m.order for m in again.all()) == again.all()[2].order  # the newest stays the newest
    running.clear()  # tx-1 ended: its message goes (O02)
    assert [m.id for m in again.all()] == [1, 3]
    assert again.clear(3) and not again.clear(3)
    store.close()
    assert [m.id for m in DisplayMessages(Store(tmp_path / "db"), now, running.__contains__).all()] == [1]


def test_a_message_past_its_end_is_removed(tmp_path):
    now = Now()
    board = DisplayMessages(Store(tmp_path / "db"), now, lambda _tx: False)
    board.put(msg(1, end=T0 + dt.timedelta(seconds=10)))
    assert board.find(ids=[1])
    now.at = T0 + dt.timedelta(seconds=10)
    assert board.find() == [] and board.all_ids() == set()


def test_notify_pages_carry_the_request_id_and_tbc_on_all_but_the_last():
    messages = [msg(n, start=T0, state=MessageState.IDLE) for n in range(1, 10)]
    pages = notify_pages(7, messages, per_page=4)
    assert [(p["request_id"], len(p["message_info"]), p["tbc"]) for p in pages] == [(7, 4, True), (7, 4, True), (7, 1, False)]
    assert message_info(messages[0]) == {
        "id": 1, "priority": "NormalCycle", "state": "Idle", "start_date_time": "2026-12-05T12:00:00Z",
        "message": {"format": "UTF8", "content": "text 1"}}


def test_the_driver_reads_them_by_priority_state_and_time_beside_the_stations_own_texts(tmp_path):
    """agent/ui/notes.py DriverInfo: a 2.0.1 message takes its priority's place among the station's
    texts; a fault hides all but AlwaysFront and the Faulted state's."""
    from agent.core.pricing import Pricing
    from agent.core.session import Fault, FaultRaised
    from agent.ui.displays import ScreenNotes
    from agent.ui.notes import DriverInfo, MessageBoard
    from tests.unit.test_charging_limits import T0 as NOW
    from tests.unit.test_charging_limits import make_station

    station, conn, clock, mono = make_station(tmp_path)
    notes = ScreenNotes(mono)
    stored = DisplayMessages(station.store, clock.now, lambda _tx: False)
    info = DriverInfo(station, notes, Pricing(), MessageBoard(mono), online=lambda: True,
                      idle_text={"": "Welcome"}, monotonic=mono, scheduled=stored)
    info.refresh()
    assert notes.message(1) == "Welcome"
    stored.put(DisplayMessage(1, NORMAL, "Later", start=NOW + dt.timedelta(minutes=1)))
    stored.put(DisplayMessage(2, IN_FRONT, "When charging", state=MessageState.CHARGING))
    stored.put(DisplayMessage(3, NORMAL, "Out of order", state=MessageState.FAULTED))
    info.refresh()
    assert notes.message(1) == "Welcome"  # none is for now, here
    clock.at = NOW + dt.timedelta(minutes=1)
    info.refresh()
    assert notes.message(1) == "Later"  # NormalCycle before the idle text
    station.dispatch(conn.id, FaultRaised(Fault.BOARD_COMM))
    info.refresh()
    assert notes.message(1) == "Out of order"
    stored.put(DisplayMessage(4, ALWAYS, "Call 0800 123"))
    info.refresh()
    assert notes.message(1) == "Call 0800 123"
