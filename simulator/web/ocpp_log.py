"""The OCPP messages between a charge point and a backend, as the simulator page shows them.

The simulator sees no OCPP traffic; a backend that does (simulator/csms/demo_csms.py with
``--sim-url``, through simulator/web/ocpp_feed.py) hands each frame over, raw, with its direction.
Frames are OCPP-J 1.6 §4.1 arrays: CALL ``[2, id, action, payload]``, CALLRESULT
``[3, id, payload]``, CALLERROR ``[4, id, errorCode, errorDescription, errorDetails]``. A result
or error carries no action: it is the action of the CALL with the same id (§4.1.2), sent the
other way. A frame that is not one of these is logged as it came, type "malformed".
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

DIRECTIONS = ("cp->csms", "csms->cp")
TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}
MAX_ENTRIES = 500  # the page shows the recent past, not an archive
MAX_PENDING = 200  # CALL ids waiting for their answer, per direction and charge point
MAX_RAW_CHARS = 2000  # what is kept of a malformed frame
LENGTHS = {2: 4, 3: 3, 4: 5}  # elements of each frame type


def _well_formed(frame: Any) -> bool:
    return (isinstance(frame, list) and len(frame) >= 2 and type(frame[0]) is int
            and LENGTHS.get(frame[0]) == len(frame) and isinstance(frame[1], str))


class OcppLogError(ValueError):
    """A log entry the API must refuse (the message says why)."""


class OcppLog:
    """Numbered entries (``seq`` from 1), the last :data:`MAX_ENTRIES` kept."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self.last_seq = 0
        self._on_change = on_change
        self._pending: dict[tuple[str, str], dict[str, str]] = {}  # (cp, CALL direction) -> id -> action

    def add(self, cp: str, direction: str, frame: Any) -> dict[str, Any]:
        """Log one frame: the parsed JSON array, or the text as it was on the wire."""
        if not isinstance(cp, str) or not cp or len(cp) > 64:
            raise OcppLogError("cp must be the charge point id (1-64 characters)")
        if direction not in DIRECTIONS:
            raise OcppLogError(f"direction must be one of {list(DIRECTIONS)}")
        if isinstance(frame, str):
            try:
                frame = json.loads(frame)
            except json.JSONDecodeError:
                pass
        entry = self._describe(cp, direction, frame)
        self.last_seq += 1
        entry.update(seq=self.last_seq, time=datetime.now().isoformat(timespec="milliseconds"),
                     cp=cp, direction=direction)
        self.entries.append(entry)
        if self._on_change is not None:
            self._on_change()
        return entry

    def since(self, seq: int) -> list[dict[str, Any]]:
        """Entries after ``seq``, oldest first."""
        return [e for e in self.entries if e["seq"] > seq]

    def _describe(self, cp: str, direction: str, frame: Any) -> dict[str, Any]:
        if not _well_formed(frame):
            text = frame if isinstance(frame, str) else json.dumps(frame)
            return {"type": "malformed", "id": None, "action": None, "payload": text[:MAX_RAW_CHARS]}
        kind, message_id = TYPES[frame[0]], frame[1]
        if kind == "CALL":
            action = frame[2] if isinstance(frame[2], str) else "?"
            pending = self._pending.setdefault((cp, direction), {})
            pending[message_id] = action
            while len(pending) > MAX_PENDING:
                pending.pop(next(iter(pending)))
            return {"type": kind, "id": message_id, "action": action, "payload": frame[3]}
        other = DIRECTIONS[1 - DIRECTIONS.index(direction)]  # the CALL went the other way
        action = self._pending.get((cp, other), {}).pop(message_id, None)
        payload = frame[2] if kind == "CALLRESULT" else {
            "errorCode": frame[2], "errorDescription": frame[3], "errorDetails": frame[4]}
        return {"type": kind, "id": message_id, "action": action, "payload": payload}
