"""Delivering the durable outbox: transaction messages and security events, in order, once.

The store keeps every message from the moment the state change behind it is committed
(agent/persistence/store.py); this pump sends the oldest one, waits for the backend's
confirmation, and only then deletes it, so a message is sent again after a lost
connection, a crash or a power cut, with the same message id. It is the same for every
OCPP version: the adapter renders a stored message into its own request and reads the
confirmation (``OutboxChannel``).

Retries (OCPP 1.6 §4.10 and §9.1.37-38 TransactionMessageAttempts / RetryInterval; OCPP
2.0.1 E14 MessageAttemptsTransactionEvent / MessageAttemptIntervalTransactionEvent): a
message the backend answers with an error is tried ``attempts`` times, ``interval`` ×
attempt apart, then dropped with a log line. A lost connection is not an attempt: the
message waits for the next connection.

Replaying a backlog (thousands of messages after a long outage), the next message is read
and rendered while the current one waits for its answer (``_look_ahead``), and the
confirmation hands it to the connection as the CALL that follows (``_Following``): the
receive loop sends it at once, without waking this task first. So the time between an
answer and the next CALL is the write (and the commit, for the confirmations committed
first: below). Still one CALL in flight (OCPP-J 1.6 §4.1.1), each confirmation its own commit.

Durability of a confirmation (``Store.delivered``): one that binds a transaction id or is
synced to disk (below) is committed before the next message goes out. A plain one (a
MeterValues confirmation with a message read ahead after it) is committed right after that
message is written, while the backend handles it (``_commit_delivered``, the next step of the
event loop: before any other answer is taken or the outbox read again), so the commit is off
the path from an answer to the next CALL. Either way a crash between an answer and its commit
makes that one message be sent again with its message id (a backend recognises it); deferring
lengthens that window from the commit (~20 µs) to the write and the commit (~70 µs), and
there is never more than one message sent and not confirmed. Against a power cut, a
StartTransaction's and a StopTransaction's confirmation, the last one of a backlog and at
least one a second are synced to disk (synchronous=FULL: one fsync, which makes every commit
before it durable too, since the WAL is written in order).
The MeterValues confirmations between them are not waited for on the disk: a power cut
can make those few (at most a second's worth) be sent again, with the same message id and
the same timestamped values, which a backend recognises, while an fsync per message would
cap a replay at a few hundred messages a second on an SD card. A start or a stop, which
open or close a bill, is never sent twice because of this.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from agent.persistence.store import OutboxMessage, Store
from agent.persistence.transaction_events import ENDED, STARTED, UPDATED

__all__ = ["ENDED", "STARTED", "UPDATED", "LinkLost", "OutboxChannel", "OutboxMessage", "OutboxPump", "Refused"]

log = logging.getLogger(__name__)

SYNC_AT_LEAST_EVERY_S = 1.0  # a confirmation is on disk within this, power cut or not


class Refused(Exception):
    """The backend answered the message with an error (a CALLERROR, or no answer in time)."""

    def __init__(self, reason: str, *, for_good: bool = False) -> None:
        super().__init__(reason)
        self.for_good = for_good  # no retry can help (the backend does not take this message at all)


class LinkLost(Exception):
    """The connection closed before the answer came: not an attempt, the message waits."""


class OutboxChannel(Protocol):
    """The adapter's side: one stored message as its version's request, and its answer."""

    def render(self, message: OutboxMessage) -> Any | None:
        """The request to send, or None when the message can never be sent (dropped)."""
        ...

    async def send(self, message: OutboxMessage, request: Any, apply: Callable[[Any], Any]) -> Any:
        """Send it with ``message.unique_id``; the answer, or Refused / LinkLost. ``apply(answer)``
        must run before anything else the backend sends is handled (the adapter's connection
        does that), so a transactionId is bound before a request can name it. What ``apply``
        returns, when not None, is the message that follows (``_Following``): the connection
        may send it at once (agent/ocppj/connection.py, ``FollowUp``), or ignore it."""
        ...

    def prepare(self, message: OutboxMessage, request: Any) -> Any:
        """Optional: the rendered request made ready to send (converted, validated, written as
        its frame) while the previous message waits for its answer; ``send`` takes either."""
        ...

    def backend_id(self, message: OutboxMessage, answer: Any) -> int | None:
        """The id the backend gave the transaction in its answer (OCPP 1.6 StartTransaction),
        stored with the confirmation in one commit."""
        ...

    def delivered(self, message: OutboxMessage, answer: Any) -> None:
        """The backend has it and the store knows: what else its answer says (an id token's status)."""
        ...


class _ReadAhead(NamedTuple):
    """A message read and rendered while the one before it was in flight."""

    message: OutboxMessage
    request: Any
    after_seq: int  # the message in flight then
    removals: int  # the store's outbox_removals then


class _Following:
    """The message read ahead, offered as the CALL that follows the one just confirmed
    (agent/ocppj/connection.py ``FollowUp``: ``request``, ``apply``, ``went_out``)."""

    __slots__ = ("_pump", "_channel", "ahead")

    def __init__(self, pump: OutboxPump, channel: OutboxChannel, ahead: _ReadAhead) -> None:
        self._pump = pump
        self._channel = channel
        self.ahead = ahead

    @property
    def request(self) -> Any:
        return self.ahead.request

    def apply(self, answer: Any) -> _Following | None:
        return self._pump._confirmed(self._channel, self.ahead.message, answer)

    def went_out(self) -> None:
        self._pump._sent_ahead = self.ahead  # delivered next, whatever else changed meanwhile


class OutboxPump:
    def __init__(self, store: Store, attempts: Callable[[], int], interval_s: Callable[[], float],
                 sync_every_s: float = SYNC_AT_LEAST_EVERY_S) -> None:
        self._store = store
        self._sync_every_s = sync_every_s
        self._attempts = attempts
        self._interval_s = interval_s
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._ahead: _ReadAhead | None = None
        self._sent_ahead: _ReadAhead | None = None  # already on the wire, sent as a follow-up
        self._last_delivered: int | None = None  # seq of the last message confirmed
        self._followed: int | None = None  # seq of a message known to have another after it
        self._synced_at = 0.0  # time.monotonic() of the last confirmation synced to disk

    def changed(self) -> None:
        """A message was queued."""
        self._wakeup.set()

    async def run(self, channel: OutboxChannel) -> None:
        """Deliver while the connection lasts (the adapter cancels it when the link goes)."""
        self._wakeup.set()
        self._ahead = self._sent_ahead = None
        while True:
            ahead, self._ahead = self._ahead, None
            sent, self._sent_ahead = self._sent_ahead, None
            if sent is not None:  # the connection sent it already: take its answer (and the turn)
                message, request = sent.message, sent.request
            # The message read ahead is now the oldest if the one before it was delivered and
            # nothing else left the outbox meanwhile (new messages queue behind it).
            elif (ahead is not None and ahead.after_seq == self._last_delivered
                    and ahead.removals == self._store.outbox_removals):
                message, request = ahead.message, ahead.request
            else:
                message = self._store.outbox_head()
                request = None
            if message is None:
                self._drained.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._drained.clear()
            try:
                await self._deliver(channel, message, request)
            except LinkLost:
                return

    def queued(self, transaction_id: str | None = None) -> bool:
        """Whether messages wait (of one transaction): 2.0.1 GetTransactionStatus (E14)."""
        return self._store.outbox_holds(transaction_id)

    async def drain(self, timeout_s: float) -> None:
        """Wait until every queued message was delivered (TimeoutError if not)."""
        async with asyncio.timeout(timeout_s):
            while self._store.outbox_length():
                self._drained.clear()
                self._wakeup.set()
                await self._drained.wait()

    async def _deliver(self, channel: OutboxChannel, message: OutboxMessage, request: Any = None) -> None:
        if request is None:
            request = channel.render(message)
        if request is None:
            log.error("outbox: dropping %s #%d: it can no longer be sent", message.kind, message.seq)
            self._store.drop(message.seq)
            return
        # Runs as soon as the CALL is out and this task waits for the answer.
        asyncio.get_running_loop().call_soon(self._look_ahead, channel, message)
        try:
            await channel.send(message, request, lambda answer: self._confirmed(channel, message, answer))
        except Refused as exc:
            attempts = message.attempts + 1
            if exc.for_good or attempts >= self._attempts():
                log.error("outbox: %s #%d dropped after %d attempt(s): %s", message.kind, message.seq, attempts, exc)
                self._store.drop(message.seq)
                return
            self._store.failed_attempt(message.seq)
            delay = self._interval_s() * attempts
            log.warning("outbox: %s #%d refused (%s); attempt %d in %.0f s", message.kind, message.seq, exc, attempts + 1, delay)
            await asyncio.sleep(delay)

    def _look_ahead(self, channel: OutboxChannel, current: OutboxMessage) -> None:
        """Read and render the message after ``current`` while ``current`` is in flight.

        A rendering depends only on the stored message and, in OCPP 1.6, on the backend's id
        of its transaction, which is bound once and never changes; one that cannot be made
        yet (the id comes with ``current``'s answer) is not kept and is made when due."""
        try:
            removals = self._store.outbox_removals
            following = self._store.outbox_after(current.seq)
            if following is None:
                return
            self._followed = current.seq
            request = channel.render(following)
            if request is None:
                return
            prepare = getattr(channel, "prepare", None)
            self._ahead = _ReadAhead(following, prepare(following, request) if prepare is not None else request,
                                     current.seq, removals)
        except Exception:  # rendered again when due, where a failure is handled
            log.debug("outbox: look-ahead failed", exc_info=True)

    def _confirmed(self, channel: OutboxChannel, message: OutboxMessage, answer: Any) -> _Following | None:
        """Commit the confirmation of ``message``; the message after it, if it was read ahead
        and is still the next (the connection may send it at once)."""
        now = time.monotonic()
        # Synced to disk: a start or a stop, the last one queued, or none for a second (see above).
        durable = (message.kind in (STARTED, ENDED) or self._followed != message.seq
                   or now - self._synced_at >= self._sync_every_s)
        backend_id = channel.backend_id(message, answer)
        ahead = self._ahead
        if ahead is not None and (ahead.after_seq != message.seq or ahead.removals != self._store.outbox_removals):
            ahead = None  # not the next message any more
        if backend_id is not None:
            self._store.delivered(message.seq, remote_tx_id=backend_id, local_tx_id=message.local_tx_id)
        elif durable or ahead is None:
            self._store.delivered(message.seq, durable=durable)
        else:  # committed right after the next CALL is written (see above)
            asyncio.get_running_loop().call_soon(self._commit_delivered, message.seq)
        self._last_delivered = message.seq
        if durable or backend_id is not None:
            self._synced_at = now
        channel.delivered(message, answer)
        return _Following(self, channel, ahead) if ahead is not None else None

    def _commit_delivered(self, seq: int) -> None:
        """The deferred deletion of a plain confirmation; the next loop step, so before this
        task or anything else looks at the outbox again."""
        try:
            self._store.delivered(seq)
        except Exception as exc:  # noqa: BLE001 - kept in the outbox: sent again, with its message id
            log.error("outbox: the confirmation of #%d was not stored: %s", seq, exc)
