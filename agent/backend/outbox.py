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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from agent.persistence.store import OutboxMessage, Store
from agent.persistence.transaction_events import ENDED, STARTED, UPDATED

__all__ = ["ENDED", "STARTED", "UPDATED", "LinkLost", "OutboxChannel", "OutboxMessage", "OutboxPump", "Refused"]

log = logging.getLogger(__name__)


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

    async def send(self, message: OutboxMessage, request: Any, apply: Callable[[Any], None]) -> Any:
        """Send it with ``message.unique_id``; the answer, or Refused / LinkLost. ``apply(answer)``
        must run before anything else the backend sends is handled (the adapter's connection
        does that), so a transactionId is bound before a request can name it."""
        ...

    def backend_id(self, message: OutboxMessage, answer: Any) -> int | None:
        """The id the backend gave the transaction in its answer (OCPP 1.6 StartTransaction),
        stored with the confirmation in one commit."""
        ...

    def delivered(self, message: OutboxMessage, answer: Any) -> None:
        """The backend has it and the store knows: what else its answer says (an id token's status)."""
        ...


class OutboxPump:
    def __init__(self, store: Store, attempts: Callable[[], int], interval_s: Callable[[], float]) -> None:
        self._store = store
        self._attempts = attempts
        self._interval_s = interval_s
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()

    def changed(self) -> None:
        """A message was queued."""
        self._wakeup.set()

    async def run(self, channel: OutboxChannel) -> None:
        """Deliver while the connection lasts (the adapter cancels it when the link goes)."""
        self._wakeup.set()
        while True:
            message = self._store.outbox_head()
            if message is None:
                self._drained.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._drained.clear()
            try:
                await self._deliver(channel, message)
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

    async def _deliver(self, channel: OutboxChannel, message: OutboxMessage) -> None:
        request = channel.render(message)
        if request is None:
            log.error("outbox: dropping %s #%d: it can no longer be sent", message.kind, message.seq)
            self._store.drop(message.seq)
            return
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

    def _confirmed(self, channel: OutboxChannel, message: OutboxMessage, answer: Any) -> None:
        backend_id = channel.backend_id(message, answer)
        if backend_id is not None:
            self._store.delivered(message.seq, remote_tx_id=backend_id, local_tx_id=message.local_tx_id)
        else:
            self._store.delivered(message.seq)
        channel.delivered(message, answer)
