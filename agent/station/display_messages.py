"""The backend's display messages (OCPP 2.0.1 block O), kept across restarts.

Each message is one row of ``display_messages`` (migration 12), its fields as JSON. Messages
whose endDateTime passed or whose transaction ended are removed when next read (O01, O02);
which one a display shows is the pure rule of agent/core/display_messages.py. The displays
read it through ``agent/ui/notes.py DriverInfo``, an adapter through ``UserInfoPort``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from agent.core.display_messages import (
    DisplayMessage,
    MessagePriority,
    MessageState,
    Situation,
    current,
    ended,
    matching,
)
from agent.persistence.store import StorageError, Store

log = logging.getLogger(__name__)

MAX_MESSAGES = 20  # DisplayMessageCtrlr.DisplayMessages maxLimit (agent/ocpp201/station_model.py)


class DisplayMessages:
    def __init__(self, store: Store, now: Callable[[], dt.datetime], transaction_running: Callable[[str], bool],
                 max_messages: int = MAX_MESSAGES) -> None:
        self._store = store
        self._now = now
        self._running = transaction_running
        self.max_messages = max_messages
        self._messages: dict[int, DisplayMessage] = {}
        try:
            rows = store.execute("SELECT body FROM display_messages").fetchall()
        except StorageError as exc:
            log.warning("display messages not read: %s", exc)
            rows = []
        for row in rows:
            try:
                message = from_json(json.loads(row[0]))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("a stored display message is not understood (%r): dropped", exc)
                continue
            self._messages[message.id] = message

    def full(self, message_id: int) -> bool:
        """No room for another message (one replacing ``message_id`` takes its place)."""
        return message_id not in self.all_ids() and len(self._messages) >= self.max_messages

    def put(self, message: DisplayMessage) -> None:
        """Keep ``message``, replacing one with its id (O06); stored before it is answered."""
        order = max((m.order for m in self._messages.values()), default=0) + 1
        message = DisplayMessage(**{**vars(message), "order": order})
        with self._store.atomic():
            self._store.execute(
                "INSERT INTO display_messages(id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body=excluded.body",
                (message.id, json.dumps(to_json(message))))
        self._messages[message.id] = message

    def clear(self, message_id: int) -> bool:
        """O05: remove the message with that id; False when there is none."""
        self._purge()
        if message_id not in self._messages:
            return False
        self._delete([message_id])
        return True

    def all(self) -> list[DisplayMessage]:
        """Every message that has not ended, by id."""
        self._purge()
        return sorted(self._messages.values(), key=lambda m: m.id)

    def all_ids(self) -> set[int]:
        return {m.id for m in self.all()}

    def find(self, ids: list[int] | None = None, priority: MessagePriority | None = None,
             state: MessageState | None = None) -> list[DisplayMessage]:
        return matching(self.all(), ids, priority, state)

    def shown(self, at: Situation, priority: MessagePriority, *, fault_shown: bool = False) -> DisplayMessage | None:
        """The message of ``priority`` a display in situation ``at`` shows now."""
        return current(self.all(), at, priority, fault_shown=fault_shown)

    def _purge(self) -> None:
        now = self._now()
        gone = [m.id for m in self._messages.values() if ended(m, now, self._running)]
        if gone:
            log.info("display messages %s ended: removed", gone)
            self._delete(gone)

    def _delete(self, ids: list[int]) -> None:
        try:
            with self._store.atomic():
                for message_id in ids:
                    self._store.execute("DELETE FROM display_messages WHERE id = ?", (message_id,))
        except StorageError as exc:
            log.warning("display messages %s not removed from storage: %s", ids, exc)
        for message_id in ids:
            self._messages.pop(message_id, None)


def to_json(message: DisplayMessage) -> dict[str, Any]:
    return {
        "id": message.id, "priority": message.priority.value, "content": message.content, "format": message.format,
        "language": message.language, "state": message.state.value if message.state else None,
        "start": message.start.isoformat() if message.start else None,
        "end": message.end.isoformat() if message.end else None,
        "transaction_id": message.transaction_id, "evse_id": message.evse_id, "order": message.order,
    }


def from_json(data: dict[str, Any]) -> DisplayMessage:
    return DisplayMessage(
        id=int(data["id"]), priority=MessagePriority(data["priority"]), content=str(data["content"]),
        format=data.get("format") or "UTF8", language=data.get("language"),
        state=MessageState(data["state"]) if data.get("state") else None,
        start=dt.datetime.fromisoformat(data["start"]) if data.get("start") else None,
        end=dt.datetime.fromisoformat(data["end"]) if data.get("end") else None,
        transaction_id=data.get("transaction_id"), evse_id=data.get("evse_id"), order=int(data.get("order", 0)),
    )
