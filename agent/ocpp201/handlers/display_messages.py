"""Functional block O (DisplayMessage): SetDisplayMessage (O01, O02, O06), GetDisplayMessages
with its NotifyDisplayMessages (O03, O04), ClearDisplayMessage (O05).

The messages are kept by agent/station/display_messages.py (stored, so they survive a restart;
removed after their endDateTime or their transaction); which one a display shows is the pure
rule of agent/core/display_messages.py, drawn by agent/ui/notes.py on the OLED. What the
station can show is what DisplayMessageCtrlr says: SupportedFormats (ASCII, UTF8: the OLED
draws text, no HTML page, no URI), SupportedPriorities, DisplayMessages (how many, at most
its maxLimit).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import FormatViolationError, OCPPError
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from agent.backend.services import StorageError
from agent.core.display_messages import DisplayMessage, MessagePriority, MessageState
from agent.ocpp201.connection import LinkDown
from agent.ocpp201.device_model import Component, Variable

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

MESSAGES_PER_NOTIFY = 4  # NotifyDisplayMessagesRequest pages (tbc), each CALL well under 4 kB
SUPPORTED_STATES = frozenset(MessageState)  # agent/core/display_messages.py state_of tells every one apart


class DisplayMessageHandlers:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.station = adapter.station
        self.settings = adapter.services.settings
        self.user_info = adapter.services.user_info
        self.messages = getattr(self.user_info, "display_messages", None)
        self._requested: dict[str, tuple[int, list[DisplayMessage]]] = {}  # accepted GetDisplayMessages, by message id

    # O01 / O02 / O06 SetDisplayMessage
    @on(Action.set_display_message)
    def on_set_display_message(self, message: dict[str, Any], **_: Any) -> Any:
        status, reason = self._set(message)
        log.info("SetDisplayMessage %s (%s%s): %s%s", message.get("id"), message.get("priority"),
                 f", transaction {message['transaction_id']}" if message.get("transaction_id") else "",
                 status, f" ({reason})" if reason else "")
        return call_result.SetDisplayMessage(status=status, status_info={"reason_code": reason} if reason else None)

    def _set(self, info: dict[str, Any]) -> tuple[str, str | None]:
        if self.messages is None or not self._controller("Available"):
            return "Rejected", "NoDisplay"  # DisplayMessageCtrlr.Available false: no display to show it on
        if not self.settings["display_messages_enabled"]:
            return "Rejected", "Disabled"  # DisplayMessageCtrlr.Enabled false
        content = info["message"]
        if content["format"] not in (self._controller("SupportedFormats") or ()):
            return "NotSupportedMessageFormat", None  # O01: HTML and URI cannot be drawn on the OLED
        if info["priority"] not in (self._controller("SupportedPriorities") or ()):
            return "NotSupportedPriority", None
        state = MessageState(info["state"]) if info.get("state") else None
        if state is not None and state not in SUPPORTED_STATES:
            return "NotSupportedState", None
        evse_id = self._display_evse(info.get("display"))
        if evse_id == -1:
            return "Rejected", "UnknownEvse"  # no Display component there
        transaction_id = info.get("transaction_id")
        if transaction_id is not None:
            transaction = self.station.transaction(transaction_id)
            if transaction is None or not transaction.running:
                return "UnknownTransaction", None  # O02: only a transaction running here
        if self.messages.full(info["id"]):
            return "Rejected", "TooManyMessages"  # DisplayMessageCtrlr.DisplayMessages maxLimit
        message = DisplayMessage(
            id=info["id"], priority=MessagePriority(info["priority"]), content=content["content"],
            format=content["format"], language=content.get("language"), state=state,
            start=_when(info.get("start_date_time"), "startDateTime"), end=_when(info.get("end_date_time"), "endDateTime"),
            transaction_id=transaction_id, evse_id=evse_id,
        )
        try:
            self.messages.put(message)  # O06: the same id replaces the message
        except StorageError as exc:
            log.error("SetDisplayMessage %d not stored: %s", message.id, exc)
            return "Rejected", "InternalError"
        self.user_info.changed()
        return "Accepted", None

    def _controller(self, name: str) -> Any:
        """A DisplayMessageCtrlr variable's value (None when the model has no such variable)."""
        model = self.adapter.device_model
        definition = model.find(Component("DisplayMessageCtrlr"), Variable(name))
        return model.value(definition) if definition is not None else None

    def _display_evse(self, display: dict[str, Any] | None) -> int | None:
        """The EVSE of the Display component named (None: every display; -1: no EVSE with a display
        by that id)."""
        if not display or not display.get("evse"):
            return None
        evse_id = display["evse"]["id"]
        shown = any(e.id == evse_id and e.display for e in self.adapter.description.evses)
        return evse_id if shown else -1

    # O03 / O04 GetDisplayMessages: Accepted and the messages in NotifyDisplayMessages after the
    # answer, or Unknown when none meets the criteria.
    @on(Action.get_display_messages)
    def on_get_display_messages(self, request_id: int, id: list[int] | None = None, priority: str | None = None,
                                state: str | None = None, call_unique_id: str = "", **_: Any) -> Any:
        found = [] if self.messages is None else self.messages.find(
            id, MessagePriority(priority) if priority else None, MessageState(state) if state else None)
        log.info("GetDisplayMessages %d (id %s, priority %s, state %s): %d found", request_id, id, priority, state,
                 len(found))
        if not found:
            return call_result.GetDisplayMessages(status="Unknown")
        self._requested[call_unique_id] = (request_id, found)
        return call_result.GetDisplayMessages(status="Accepted")

    @after(Action.get_display_messages)
    async def after_get_display_messages(self, call_unique_id: str = "", **_: Any) -> None:
        accepted = self._requested.pop(call_unique_id, None)
        if accepted is None:
            return
        request_id, found = accepted
        for page in notify_pages(request_id, found):
            try:
                await self.adapter.call(call.NotifyDisplayMessages(**page))
            except (OCPPError, LinkDown, TimeoutError) as exc:
                log.warning("NotifyDisplayMessages %d: %r", request_id, exc)
                return

    # O05 ClearDisplayMessage
    @on(Action.clear_display_message)
    def on_clear_display_message(self, id: int, **_: Any) -> Any:
        try:
            cleared = self.messages is not None and self.messages.clear(id)
        except StorageError as exc:
            log.error("ClearDisplayMessage %d: %s", id, exc)
            cleared = False
        log.info("ClearDisplayMessage %d: %s", id, "Accepted" if cleared else "Unknown")
        if cleared:
            self.user_info.changed()
        return call_result.ClearDisplayMessage(status="Accepted" if cleared else "Unknown")


def message_info(message: DisplayMessage) -> dict[str, Any]:
    """A stored message as MessageInfoType (Part 2 §2.35)."""
    content: dict[str, Any] = {"format": message.format, "content": message.content}
    if message.language:
        content["language"] = message.language
    info: dict[str, Any] = {"id": message.id, "priority": message.priority.value, "message": content}
    if message.state is not None:
        info["state"] = message.state.value
    if message.start is not None:
        info["start_date_time"] = _iso(message.start)
    if message.end is not None:
        info["end_date_time"] = _iso(message.end)
    if message.transaction_id is not None:
        info["transaction_id"] = message.transaction_id
    if message.evse_id is not None:
        info["display"] = {"name": "Display", "evse": {"id": message.evse_id}}
    return info


def notify_pages(request_id: int, messages: list[DisplayMessage], per_page: int = MESSAGES_PER_NOTIFY) -> list[dict[str, Any]]:
    """NotifyDisplayMessagesRequest payloads: the same requestId on each, tbc on all but the last."""
    chunks = [messages[i:i + per_page] for i in range(0, len(messages), per_page)] or [[]]
    return [{"request_id": request_id, "message_info": [message_info(m) for m in chunk] or None,
             "tbc": n < len(chunks) - 1} for n, chunk in enumerate(chunks)]


def _when(text: str | None, field: str) -> dt.datetime | None:
    """A dateTime (Part 2 §2.1); one without a zone is taken as UTC."""
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FormatViolationError(details={field: f"not a date-time: {text!r}"}) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
