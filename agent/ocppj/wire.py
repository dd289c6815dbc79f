"""Corrections to what the ocpp library puts on the wire and takes from it, per OCPP-J version.

Outgoing: the library (2.1.0) answers an unknown action with NotSupported and a known action
without handler with NotImplemented; OCPP-J 1.6 §4.2.3 and OCPP-J 2.0.1 §4.3 define them the
other way round ("NotImplemented: Requested Action is not known by receiver", "NotSupported:
Requested Action is recognized but not supported by the receiver"). For 1.6 it also spells
FormationViolation as FormatViolation, which is the OCPP 2.0 spelling. The agent registers a
handler for every action it supports, so a straight swap is exact (``Dialect``).

Incoming: every frame is screened before the library sees it, because some frames the schemas
let through make the library raise out of its receive loop, which drops the connection (a bad
frame must never do that, nor stop a session):

- a CALL whose structure is wrong: FormationViolation (1.6; FormatViolation in 2.0.1) (the
  library would drop it silently);
- ``NaN`` / ``Infinity`` / ``-Infinity``: not JSON (RFC 8259 §6), FormationViolation;
- a number beyond ±(2^53 − 1), the range in which JSON implementations agree on a number
  (RFC 8259 §6), e.g. ``1e308``: PropertyConstraintViolation. No OCPP 1.6 field (ids, A, W,
  seconds) needs more; such numbers made the library's schema check raise;
- JSON nested too deeply to parse: FormationViolation when the CALL's id can be read;
- a CALLRESULT carrying such numbers is handed on as a CALLERROR for the call that waits for
  it, and a CALLERROR with a code OCPP-J 1.6 does not define as a GenericError, so the caller
  gets an OCPP error it handles instead of an exception that ends the connection.

A secret in a CALL (1.6: an AuthorizationKey, Security Whitepaper §7.2; 2.0.1: the
SecurityCtrlr BasicAuthPassword) is recognised on the parsed frame by the dialect, however
its name or value are escaped, and handed to the log filter before the library logs the
frame (agent/security/secret_files.py).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.backend.services import learn_secret

log = logging.getLogger(__name__)

CALL, CALLRESULT, CALLERROR = 2, 3, 4
# The library's own spellings of the error codes, which it maps to exceptions.
_LIBRARY_CODES = frozenset({
    "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError", "FormationViolation",
    "PropertyConstraintViolation", "OccurenceConstraintViolation", "TypeConstraintViolation", "GenericError",
    "FormatViolation", "OccurrenceConstraintViolation",
})


@dataclass(frozen=True)
class Dialect:
    """What one OCPP-J version calls things on the wire."""

    name: str
    format_violation: str  # 1.6 FormationViolation, 2.0.1 FormatViolation
    error_code_fixes: dict[str, str]
    known_error_codes: frozenset[str]
    # The secret a CALL carries, if any: (parsed message) -> the secret value, else None.
    secret_in: Callable[[list[Any]], Any] = field(default=lambda message: None)


def _authorization_key(message: list[Any]) -> Any:
    """OCPP 1.6 ChangeConfiguration AuthorizationKey (write-only, Security Whitepaper §7.2)."""
    return message[3].get("value") if str(message[3].get("key", "")).casefold() == "authorizationkey" else None


def _basic_auth_password(message: list[Any]) -> Any:
    """OCPP 2.0.1 SetVariables SecurityCtrlr BasicAuthPassword (write-only, A01)."""
    for item in message[3].get("setVariableData", []) if isinstance(message[3].get("setVariableData"), list) else []:
        if not isinstance(item, dict):
            continue
        component, variable = item.get("component") or {}, item.get("variable") or {}
        if (isinstance(component, dict) and isinstance(variable, dict)
                and str(component.get("name", "")).casefold() == "securityctrlr"
                and str(variable.get("name", "")).casefold() == "basicauthpassword"):
            return item.get("attributeValue")
    return None


OCPP16 = Dialect(
    name="OCPP-J 1.6",
    format_violation="FormationViolation",
    error_code_fixes={"NotSupported": "NotImplemented", "NotImplemented": "NotSupported", "FormatViolation": "FormationViolation"},
    known_error_codes=_LIBRARY_CODES,  # OCPP-J 1.6 §4.2.3
    secret_in=_authorization_key,
)
OCPP201 = Dialect(
    name="OCPP-J 2.0.1",
    format_violation="FormatViolation",
    error_code_fixes={"NotSupported": "NotImplemented", "NotImplemented": "NotSupported"},
    known_error_codes=_LIBRARY_CODES | {"RpcFrameworkError", "MessageTypeNotSupported"},  # OCPP-J 2.0.1 §4.3
    secret_in=_basic_auth_password,
)
NUMBER_LIMIT = 2**53 - 1  # RFC 8259 §6: integers in [-(2**53)+1, (2**53)-1] are interoperable
_CALL_ID = re.compile(r'^\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.){1,36})"')


def fix_outgoing(frame: str, dialect: Dialect = OCPP16) -> str:
    if not frame.startswith(f"[{CALLERROR},"):
        return frame
    try:
        message = json.loads(frame)
    except ValueError:
        return frame
    if len(message) >= 3 and message[2] in dialect.error_code_fixes:
        message[2] = dialect.error_code_fixes[message[2]]
        return json.dumps(message, separators=(",", ":"))
    return frame


class _NotJson:
    """What ``NaN``, ``Infinity`` and ``-Infinity`` parse to here (json.loads takes them)."""

    def __init__(self, name: str) -> None:
        self.name = name


# Made once: json.loads(frame, parse_constant=...) builds a new decoder and scanner for every
# frame: 4 of the 10 µs it took to screen a CALLRESULT in a backlog replay (tests/benchmarks).
_DECODER = json.JSONDecoder(parse_constant=_NotJson)


def _parse(frame: str | bytes) -> Any:
    """``json.loads(frame, parse_constant=_NotJson)``: the same value, or the same kind of error."""
    if type(frame) is str:
        return _DECODER.decode(frame)
    return json.loads(frame, parse_constant=_NotJson)  # bytes: json.loads finds their encoding


@dataclass(frozen=True)
class Screened:
    """What to do with one incoming frame."""

    message: Any = None  # the frame parsed (None: not JSON, the library says so itself)
    answer: str | None = None  # a CALLERROR to send back
    forward: str | bytes | None = None  # what the library gets; None: nothing


def screen(frame: str | bytes, dialect: Dialect = OCPP16) -> Screened:
    """Check an incoming frame (see the module docstring)."""
    try:
        return _screen(frame, dialect)
    except Exception:  # a fault here must not cost the connection: the library judges the frame
        log.exception("frame screening failed; handing the frame on as it is")
        return Screened(forward=frame)


def _screen(frame: str | bytes, dialect: Dialect) -> Screened:
    try:
        message = _parse(frame)
    except RecursionError:
        return _too_deep(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"), dialect)
    except ValueError:
        return Screened(forward=frame)  # not JSON: the library logs it and drops it
    if not isinstance(message, list) or not message:
        return Screened(message, forward=frame)
    kind = message[0]
    if kind == CALL and len(message) >= 2 and isinstance(message[1], str) and message[1]:
        if len(message) != 4 or not isinstance(message[2], str) or not isinstance(message[3], dict):
            return Screened(message, answer=_call_error(message[1], dialect.format_violation, "CALL must be [2, id, action, {payload}]"))
        problem = _bad_number(message[3], dialect)
        if problem is not None:
            log.warning("%s %s refused: %s", message[2], message[1], problem[1])
            return Screened(message, answer=_call_error(message[1], *problem))
    elif kind == CALLRESULT and len(message) == 3 and isinstance(message[1], str):
        problem = _bad_number(message[2], dialect)
        if problem is not None:
            log.warning("answer to %s refused: %s", message[1], problem[1])
            return Screened(message, forward=_call_error(message[1], *problem))
    elif (kind == CALLERROR and len(message) >= 3 and isinstance(message[1], str) and isinstance(message[2], str)
          and message[2] not in dialect.known_error_codes):
        log.warning("CALLERROR %r for %s: not an %s error code, taken as GenericError", message[2], message[1], dialect.name)
        return Screened(message, forward=_call_error(message[1], "GenericError", f"error code {message[2]!r}"[:255]))
    return Screened(message, forward=frame)


def _too_deep(frame: str, dialect: Dialect) -> Screened:
    match = _CALL_ID.match(frame)
    try:
        unique_id = json.loads(f'"{match.group(1)}"') if match else None
    except ValueError:
        unique_id = None
    if not unique_id:
        log.warning("frame dropped: JSON nested too deeply to read")
        return Screened()
    return Screened(answer=_call_error(unique_id, dialect.format_violation, "JSON nested too deeply"))


def call_error_for_malformed(frame: str | bytes, dialect: Dialect = OCPP16) -> str | None:
    """OCPP-J 1.6 §4.2.3 / 2.0.1 §4.3: the CALLERROR for a CALL we can identify but not take, else None."""
    return screen(frame, dialect).answer


def _call_error(unique_id: str, code: str, description: str) -> str:
    return json.dumps([CALLERROR, unique_id, code, description, {}])


def _bad_number(value: Any, dialect: Dialect) -> tuple[str, str] | None:
    """(error code, why) for the first number no OCPP field can hold, else None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, _NotJson):
            return dialect.format_violation, f"{item.name} is not a JSON number (RFC 8259 section 6)"
        elif (isinstance(item, (int, float)) and not isinstance(item, bool)
              and not (math.isfinite(item) and -NUMBER_LIMIT <= item <= NUMBER_LIMIT)):
            return "PropertyConstraintViolation", f"{item!r:.40} is out of range (at most 2^53 - 1 in magnitude)"
    return None


def _learn_secrets(message: Any, frame: str | bytes, dialect: Dialect) -> None:
    """A secret in a CALL's payload, found by its parsed name, goes to the log filter."""
    if not (isinstance(message, list) and len(message) == 4 and message[0] == CALL and isinstance(message[3], dict)):
        return
    secret = dialect.secret_in(message)
    if secret is not None:
        learn_secret(secret, frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))


class SpecConnection:
    """The connection the ocpp library sees: the websocket, with the corrections above."""

    def __init__(self, ws: Any, dialect: Dialect = OCPP16) -> None:
        self._ws = ws
        self.dialect = dialect
        self._last: tuple[str | bytes | None, Any] = (None, None)  # the CALLRESULT last handed on, parsed

    async def recv(self) -> str | bytes:
        while True:
            frame = await self._ws.recv()
            screened = screen(frame, self.dialect)
            _learn_secrets(screened.message, frame, self.dialect)
            if screened.answer is not None:
                await self._ws.send(screened.answer)
            if screened.forward is not None:
                # A CALLRESULT handed on as it came was screened for numbers: its parse is JSON's.
                message = screened.message
                is_result = screened.forward is frame and type(message) is list and message and message[0] == CALLRESULT
                self._last = (frame, message) if is_result else (None, None)
                return screened.forward

    def parsed(self, frame: str | bytes) -> Any:
        """``json.loads(frame)`` of a frame ``recv`` returned (None if it is not JSON), parsed once."""
        if frame is self._last[0]:
            return self._last[1]
        try:
            return json.loads(frame)
        except (ValueError, RecursionError):
            return None

    async def send(self, frame: str) -> None:
        await self._ws.send(fix_outgoing(frame, self.dialect))
