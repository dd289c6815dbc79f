"""The outbox pump reads the next message while the current one is in flight, and still
sends each once, in order, one at a time; which confirmations it syncs to disk."""

from __future__ import annotations

import asyncio

from agent.backend.outbox import SYNC_AT_LEAST_EVERY_S, OutboxPump, Refused
from agent.persistence.store import StorageError, Store


class RecordingStore(Store):
    """The real store, noting whether each confirmation was synced."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.confirmations: list[tuple[str, bool]] = []

    def delivered(self, seq, *, remote_tx_id=None, local_tx_id=None, durable=False):
        kind = self.execute("SELECT kind FROM outbox WHERE seq=?", (seq,)).fetchone()[0]
        self.confirmations.append((kind, durable or remote_tx_id is not None))
        super().delivered(seq, remote_tx_id=remote_tx_id, local_tx_id=local_tx_id, durable=durable)


class Channel:
    """An OutboxChannel (the adapters' side, our own interface) answering each message itself."""

    def __init__(self) -> None:
        self.rendered: list[int] = []
        self.prepared: list[int] = []
        self.sent: list[tuple[int, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    def render(self, message):
        self.rendered.append(message.seq)
        return ("request", message.seq)

    def prepare(self, message, request):
        self.prepared.append(message.seq)
        return ("prepared", message.seq)

    async def send(self, message, request, apply):
        assert request[1] == message.seq
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.sent.append((message.seq, request[0]))
        await asyncio.sleep(0)  # the backend answers later
        self.in_flight -= 1
        apply({"transaction_id": 7})
        return {"transaction_id": 7}

    def backend_id(self, message, answer):
        return answer["transaction_id"] if message.kind == "tx_started" else None

    def delivered(self, message, answer):
        pass


async def replay(store: Store, channel, *, interval_s: float = 0.01,
                 sync_every_s: float = SYNC_AT_LEAST_EVERY_S) -> None:
    """Run the pump over ``channel`` until every queued message was delivered."""
    pump = OutboxPump(store, lambda: 3, lambda: interval_s, sync_every_s)
    task = asyncio.create_task(pump.run(channel))
    try:
        await asyncio.wait_for(pump.drain(10), 10)
    finally:
        task.cancel()


async def test_a_backlog_goes_once_in_order_each_read_ahead_while_the_previous_waits(tmp_path):
    store = RecordingStore(tmp_path / "db")
    local = store.begin_transaction(1, "AA", 0, "t0", {})
    for n in range(20):
        store.queue_meter_values(local, {"n": n})
    store.end_transaction(local, 600, "t1", "Local", {})
    queued = [row[0] for row in store.execute("SELECT seq FROM outbox ORDER BY seq")]
    channel = Channel()
    await replay(store, channel, sync_every_s=3600)
    assert [seq for seq, _ in channel.sent] == queued  # each once, in order
    assert channel.most_in_flight == 1  # one CALL at a time
    # Everything after the first was read and made ready while the one before it was in flight.
    assert [how for _, how in channel.sent] == ["request"] + ["prepared"] * (len(queued) - 1)
    assert store.outbox_length() == 0 and store.transaction(local).remote_id == 7
    # Start and stop synced, the meter values between them not (at least one an hour here).
    assert store.confirmations[0] == ("tx_started", True) and store.confirmations[-1] == ("tx_ended", True)
    assert not any(synced for _, synced in store.confirmations[1:-1])


async def test_the_last_message_of_a_backlog_is_synced(tmp_path):
    store = RecordingStore(tmp_path / "db")
    local = store.begin_transaction(1, "AA", 0, "t0", {})
    store.queue_meter_values(local, {"n": 1})
    await replay(store, Channel())
    assert store.confirmations == [("tx_started", True), ("tx_updated", True)]


class MeddlingChannel(Channel):
    """Runs ``during(seq)`` while a message is in flight (after the next was read ahead), and
    refuses the seqs in ``refuse`` once each."""

    def __init__(self, during=None, refuse=()) -> None:
        super().__init__()
        self.during = during or (lambda seq: None)
        self.refuse = set(refuse)

    async def send(self, message, request, apply):
        self.sent.append((message.seq, request[0]))
        await asyncio.sleep(0)  # the look-ahead runs here
        self.during(message.seq)
        if message.seq in self.refuse:
            self.refuse.discard(message.seq)
            raise Refused("CALLERROR InternalError")
        apply({"transaction_id": 7})
        return {"transaction_id": 7}


async def test_a_message_read_ahead_and_then_dropped_is_not_sent(tmp_path):
    store = Store(tmp_path / "db", max_queued=3)
    local = store.begin_transaction(1, "AA", 0, "t0", {})
    store.queue_meter_values(local, {"n": 1})
    store.queue_meter_values(local, {"n": 2})
    start, first, second = [row[0] for row in store.execute("SELECT seq FROM outbox ORDER BY seq")]
    # While the start is in flight (the first MeterValues read ahead), the outbox is full and
    # gives up its oldest MeterValues for a new one: the one read ahead.
    channel = MeddlingChannel(during=lambda seq: seq == start and store.queue_meter_values(local, {"n": 3}))
    await replay(store, channel)
    sent = [seq for seq, _ in channel.sent]
    assert first not in sent and sent[:2] == [start, second] and len(sent) == 3


async def test_a_refused_message_goes_again_before_the_one_read_ahead(tmp_path):
    store = Store(tmp_path / "db")
    local = store.begin_transaction(1, "AA", 0, "t0", {})
    store.queue_meter_values(local, {"n": 1})
    store.queue_meter_values(local, {"n": 2})
    start, first, second = [row[0] for row in store.execute("SELECT seq FROM outbox ORDER BY seq")]
    channel = MeddlingChannel(refuse={first})
    await replay(store, channel, interval_s=0.001)
    assert [seq for seq, _ in channel.sent] == [start, first, first, second]


class FollowingChannel(Channel):
    """Like the OCPP connection (agent/ocppj/connection.py): the follow-up that a confirmation
    returns goes out at once, sent by the "receive loop", unless ``decline(seq)`` (another
    caller waits for the turn); its caller then only takes its answer."""

    def __init__(self, decline=lambda seq: False, during=lambda seq: None) -> None:
        super().__init__()
        self.decline = decline
        self.during = during  # runs when the follow-up ``seq`` went out, before its caller takes it
        self.on_wire: tuple[int, object] | None = None  # (seq, its apply): sent as a follow-up, not yet taken

    async def send(self, message, request, apply):
        if self.on_wire is not None and self.on_wire[0] == message.seq:
            apply = self.on_wire[1]  # the follow-up's own: it was in flight before this call
            self.on_wire = None
        else:
            assert self.on_wire is None, "a second CALL while a follow-up is in flight"
            self.sent.append((message.seq, "caller"))
        await asyncio.sleep(0)  # the backend answers later; the look-ahead runs here
        follow_up = apply({"transaction_id": 7})
        if follow_up is not None and not self.decline(follow_up.request[1]):
            assert follow_up.request == ("prepared", follow_up.request[1])
            self.sent.append((follow_up.request[1], "follow-up"))
            self.on_wire = (follow_up.request[1], follow_up.apply)
            follow_up.went_out()
            self.during(follow_up.request[1])
        return {"transaction_id": 7}


def backlog(store: Store, meter_values: int) -> list[int]:
    local = store.begin_transaction(1, "AA", 0, "t0", {})
    for n in range(meter_values):
        store.queue_meter_values(local, {"n": n})
    store.end_transaction(local, 600, "t1", "Local", {})
    return [row[0] for row in store.execute("SELECT seq FROM outbox ORDER BY seq")]


async def test_each_confirmation_hands_the_next_message_to_the_connection(tmp_path):
    store = RecordingStore(tmp_path / "db")
    queued = backlog(store, 20)
    channel = FollowingChannel()
    await replay(store, channel, sync_every_s=3600)
    assert [seq for seq, _ in channel.sent] == queued  # each once, in order
    # After the first, each went out as soon as the one before it was confirmed.
    assert [how for _, how in channel.sent] == ["caller"] + ["follow-up"] * (len(queued) - 1)
    assert store.outbox_length() == 0 and channel.on_wire is None
    assert [kind for kind, _ in store.confirmations] == ["tx_started"] + ["tx_updated"] * 20 + ["tx_ended"]


async def test_a_follow_up_the_connection_declines_is_sent_by_the_pump(tmp_path):
    store = Store(tmp_path / "db")
    queued = backlog(store, 6)
    declined = set(queued[2::2])  # another CALL waited for the turn then
    channel = FollowingChannel(decline=lambda seq: seq in declined)
    await replay(store, channel)
    assert [seq for seq, _ in channel.sent] == queued
    assert {seq for seq, how in channel.sent if how == "caller"} == {queued[0], *declined}


async def test_a_follow_up_dropped_from_a_full_outbox_in_flight_is_still_answered(tmp_path):
    store = Store(tmp_path / "db")
    start, first, second, stop = backlog(store, 2)
    store.max_queued = 3  # the start's confirmation leaves three
    local = store.execute("SELECT local_id FROM transactions").fetchone()[0]
    # Right after the first MeterValues went out as a follow-up, a new one fills the outbox,
    # which gives up its oldest MeterValues: the one in flight. Its caller still takes its
    # answer (the connection holds the turn for it) before anything else is sent.
    channel = FollowingChannel(during=lambda seq: seq == first and store.queue_meter_values(local, {"n": 3}))
    await replay(store, channel)
    sent = [seq for seq, _ in channel.sent]
    assert sent[:4] == [start, first, second, stop] and len(sent) == 5  # then the new one; none twice
    assert channel.on_wire is None and store.outbox_length() == 0


class CommitWatchingChannel(FollowingChannel):
    """Notes what the outbox holds when each follow-up goes out and when each answer is taken."""

    def __init__(self, store: Store) -> None:
        super().__init__(during=lambda seq: self.stored_when_sent.update({seq: self._stored()}))
        self.store = store
        self.stored_when_sent: dict[int, set[int]] = {}
        self.stored_when_answered: dict[int, set[int]] = {}

    def _stored(self) -> set[int]:
        return {row[0] for row in self.store.execute("SELECT seq FROM outbox")}

    def _noting(self, seq, apply):
        def noting(answer):
            self.stored_when_answered[seq] = self._stored()
            return apply(answer)
        return noting

    async def send(self, message, request, apply):
        if self.on_wire is not None and self.on_wire[0] == message.seq:  # its answer goes to the follow-up's apply
            self.on_wire = (message.seq, self._noting(message.seq, self.on_wire[1]))
        return await super().send(message, request, self._noting(message.seq, apply))


async def test_a_plain_confirmation_is_committed_right_after_the_next_call_went_out(tmp_path):
    store = RecordingStore(tmp_path / "db")
    start, *meter_values, stop = queued = backlog(store, 4)
    channel = CommitWatchingChannel(store)
    await replay(store, channel, sync_every_s=3600)
    assert [seq for seq, _ in channel.sent] == queued
    # The start's confirmation (it binds the backend's id) is committed before the next CALL;
    # a MeterValues confirmation only once that CALL is written, while the backend handles it.
    assert start not in channel.stored_when_sent[meter_values[0]]
    for previous, seq in zip(meter_values, [*meter_values[1:], stop], strict=True):
        assert previous in channel.stored_when_sent[seq]
        # ... and before the answer to that CALL is taken.
        assert previous not in channel.stored_when_answered[seq]
    assert store.outbox_length() == 0
    assert [kind for kind, _ in store.confirmations] == ["tx_started"] + ["tx_updated"] * 4 + ["tx_ended"]


async def test_a_deferred_confirmation_that_cannot_be_stored_leaves_the_message_queued(tmp_path, caplog):
    class FailingOnce(Store):
        failed: int | None = None

        def delivered(self, seq, *, remote_tx_id=None, local_tx_id=None, durable=False):
            if self.failed is None and remote_tx_id is None and not durable:
                self.failed = seq
                raise StorageError("database: cannot write: disk I/O error")
            super().delivered(seq, remote_tx_id=remote_tx_id, local_tx_id=local_tx_id, durable=durable)

    store = FailingOnce(tmp_path / "db")
    queued = backlog(store, 3)
    channel = FollowingChannel()
    await replay(store, channel, sync_every_s=3600)
    # The rest goes on in order; the one whose confirmation was not stored goes again, by its id.
    assert [seq for seq, _ in channel.sent] == [*queued, store.failed]
    assert store.failed == queued[1] and store.outbox_length() == 0
    assert f"confirmation of #{store.failed} was not stored" in caplog.text
