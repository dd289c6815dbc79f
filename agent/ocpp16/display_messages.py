"""Messages for the driver from the backend, over OCPP 1.6 DataTransfer (§4.3 / §5.6).

vendorId ``org.evse-agent``:

- messageId ``DisplayMessage``, data (a JSON text)::

      {"id": 7,                       optional: a message with the same id is replaced
       "message": "Free charging today", the text (language "language", default the configured one)
       "language": "en",
       "messageExtra": [{"language": "de", "content": "Heute kostenlos laden"}],   optional
       "priority": "NormalCycle",      "AlwaysFront" | "InFront" | "NormalCycle" (default)
       "durationSeconds": 600,         optional: how long it is shown; absent = until cleared
       "connectorId": 0}               0 (default) = every connector

  The display shows the text in the language closest to the configured Language.
- messageId ``ClearDisplayMessage``, data ``{"id": 7}``: Accepted, or Rejected when no
  message has that id.

A message that does not fit is answered Rejected with the reason in ``data``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import jsonschema

from agent.backend.services import MessageBoard, Priority
from agent.backend.services import UserMessage as DriverMessage

log = logging.getLogger(__name__)

VENDOR_ID = "org.evse-agent"
SCHEMAS: dict[str, dict[str, Any]] = {
    "DisplayMessage": {
        "type": "object", "required": ["message"], "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "message": {"type": "string", "minLength": 1, "maxLength": 512},
            "language": {"type": "string"},
            "messageExtra": {"type": "array", "maxItems": 10, "items": {
                "type": "object", "required": ["language", "content"], "additionalProperties": False,
                "properties": {"language": {"type": "string"}, "content": {"type": "string", "maxLength": 512}}}},
            "priority": {"enum": [p.value for p in Priority]},
            "durationSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 31 * 86400},
            "connectorId": {"type": "integer", "minimum": 0},
        },
    },
    "ClearDisplayMessage": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
}


class DisplayMessages:
    """The DataTransfer handler: ``backend.data_transfer_handlers[VENDOR_ID] = DisplayMessages(...)``."""

    def __init__(self, board: MessageBoard, connectors: set[int], language: Callable[[], str],
                 monotonic: Callable[[], float], changed: Callable[[], None] = lambda: None) -> None:
        self.board = board
        self.connectors = connectors
        self.language = language
        self._monotonic = monotonic
        self.changed = changed

    def __call__(self, message_id: str | None, data: str | None) -> tuple[str, str | None]:
        schema = SCHEMAS.get(message_id or "")
        if schema is None:
            return "UnknownMessageId", None
        try:
            body = json.loads(data or "")
        except ValueError as exc:
            return "Rejected", f"data is not JSON: {exc}"
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(body))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "data"
            log.warning("DataTransfer %s %s rejected: %s: %s", VENDOR_ID, message_id, where, error.message)
            return "Rejected", f"{where}: {error.message}"
        if message_id == "ClearDisplayMessage":
            cleared = self.board.clear(body["id"])
            self.changed()
            return ("Accepted", None) if cleared else ("Rejected", f"no message with id {body['id']}")
        connector_id = body.get("connectorId", 0)
        if connector_id and connector_id not in self.connectors:
            return "Rejected", f"connectorId: no connector {connector_id}"
        texts = {body.get("language", self.language()): body["message"]}
        texts.update({extra["language"]: extra["content"] for extra in body.get("messageExtra", [])})
        seconds = body.get("durationSeconds")
        self.board.show(DriverMessage(
            body.get("id"), connector_id, texts, Priority(body.get("priority", Priority.NORMAL_CYCLE.value)),
            self._monotonic() + seconds if seconds is not None else None,
        ))
        log.info("DisplayMessage %s on connector %d (%s, %s)", body.get("id"), connector_id,
                 body.get("priority", "NormalCycle"), f"{seconds} s" if seconds else "until cleared")
        self.changed()
        return "Accepted", None
