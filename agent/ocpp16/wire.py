"""Corrections to what the ocpp library puts on the wire, per OCPP-J 1.6.

The library (2.1.0) answers an unknown action with NotSupported and a known action
without handler with NotImplemented; OCPP-J 1.6 §4.2.3 defines them the other way
round ("NotImplemented: Requested Action is not known by receiver", "NotSupported:
Requested Action is recognized but not supported by the receiver"). It also spells
FormationViolation as FormatViolation, which is the OCPP 2.0 spelling. The agent
registers a handler for every action it supports, so a straight swap is exact.
"""

from __future__ import annotations

import json

CALLERROR = 4
ERROR_CODE_FIXES = {
    "NotSupported": "NotImplemented",
    "NotImplemented": "NotSupported",
    "FormatViolation": "FormationViolation",
}


def fix_outgoing(frame: str) -> str:
    if not frame.startswith(f"[{CALLERROR},"):
        return frame
    try:
        message = json.loads(frame)
    except ValueError:
        return frame
    if len(message) >= 3 and message[2] in ERROR_CODE_FIXES:
        message[2] = ERROR_CODE_FIXES[message[2]]
        return json.dumps(message, separators=(",", ":"))
    return frame


def call_error_for_malformed(frame: str | bytes) -> str | None:
    """OCPP-J 1.6 §4.2.3: a CALL we can identify but not read gets a CALLERROR.

    Returns the CALLERROR frame for a CALL whose structure is wrong (the library
    would drop it silently), or None when the frame is fine or has no usable id.
    """
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    if not isinstance(message, list) or not message or message[0] != 2:
        return None
    if len(message) >= 2 and isinstance(message[1], str) and message[1]:
        if len(message) != 4 or not isinstance(message[2], str) or not isinstance(message[3], dict):
            return json.dumps(
                [CALLERROR, message[1], "FormationViolation", "CALL must be [2, id, action, {payload}]", {}]
            )
    return None


class SpecConnection:
    """The connection the ocpp library sees: the websocket, with the fixes above."""

    def __init__(self, ws) -> None:
        self._ws = ws

    async def recv(self) -> str:
        while True:
            frame = await self._ws.recv()
            error = call_error_for_malformed(frame)
            if error is None:
                return frame
            await self._ws.send(error)

    async def send(self, frame: str) -> None:
        await self._ws.send(fix_outgoing(frame))
