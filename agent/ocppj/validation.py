"""Payload validation against the official OCPP JSON schemas, compiled once per schema file.

OCPP-J 1.6 §4.2.3 / OCPP 2.0.1 Part 4 §4.3: a CALL whose payload does not match the schema
of its action is answered with a CALLERROR. The ``ocpp`` library checks every payload by
running ``jsonschema.Draft4Validator`` over it (``ocpp.messages.validate_payload``), which
interprets the schema anew for each message: about 0.1-1 ms per message, by far the largest
part of the agent's work per message when it replays a backlog. Here the very same schema
files (``ocpp/v16/schemas``, ``ocpp/v201/schemas`` inside the installed library, picked by the
same file-name rule) are compiled to Python code by ``fastjsonschema`` the first time an
action is seen; checking a payload is then a few microseconds.

Same verdict, same error, by construction where it matters:

- Accepting: the compiled validator decides. It is compiled with the semantics the library
  applies, not the ones the files declare: Draft 4 for every file (the library uses
  ``Draft4Validator`` even for the files that say draft-06, so 1.0 is not an ``integer``),
  no ``format`` checks (the library passes no format checker: ``date-time`` is not
  checked), and no insertion of ``default`` values (fastjsonschema would add them).
- Rejecting: fastjsonschema stops at its first error in its own keyword order, while the
  library reports the first error in the schema's key order (``additionalProperties``
  before ``required`` in most OCPP files, so a payload with an extra and a missing field is
  a FormatViolation there and would be a ProtocolError here). A rejected payload is rare, so
  it is handed to the library's own validation, whose exception is raised as it is: the
  OCPP-J error code, description and details are the library's, for every payload. Valid
  payloads never touch ``jsonschema``.
- The three OCPP 1.6 messages whose schemas use ``multipleOf: 0.1`` (SetChargingProfile and
  RemoteStartTransaction requests, GetCompositeSchedule responses) are, like the library
  does, given back with their payload re-parsed into ``decimal.Decimal`` numbers.
  fastjsonschema checks ``multipleOf`` on ``Decimal(repr(x))``, which is the number the
  library's re-parsing sees, so the verdict is the same.

One deliberate difference: where the library's validator does not answer with an OCPP
error but fails itself (ocpp 2.1.0 computes ``multipleOf`` on Decimals: ``NaN`` or
``Infinity`` gives TypeError, 1e27 or 10**400 gives decimal.InvalidOperation; the exception
escapes the library's receive loop and ends the connection), the compiled verdict stands:
1e27, a multiple of 0.1, is accepted; a value it rejects or cannot check is a
FormatViolationError, the code the library gives any other ``multipleOf`` failure, so the
frame gets a CALLERROR (OCPP-J 1.6 §4.2.3) and the session goes on.

``tests/ocppj/test_validation.py`` proves the equivalence over every schema file of
1.6 and 2.0.1 and the fuzz corpus of ``tests/faults/test_fuzz_frames.py``.
"""

from __future__ import annotations

import decimal
import json
import re
from pathlib import Path
from typing import Any, Callable, Union

import fastjsonschema
import ocpp.messages
from ocpp.exceptions import FormatViolationError, NotImplementedError, OCPPError
from ocpp.messages import Call, CallResult, MessageType

__all__ = [
    "SUPPORTED_VERSIONS",
    "compiled_validator",
    "schema_path",
    "validate_payload",
]

Validator = Callable[[Any], Any]

SUPPORTED_VERSIONS = ("1.6", "2.0.1")

#: Every action name in OCPP 1.6 and 2.0.1 is a plain word; anything else has no schema
#: file (and is never joined into a path).
_ACTION = re.compile(r"[A-Za-z0-9]+\Z")

_SCHEMA_ROOT = Path(ocpp.messages.__file__).resolve().parent
_DRAFT4 = "http://json-schema.org/draft-04/schema#"

#: (message type id, action, version) -> compiled validator; and per schema file.
_by_message: dict[tuple[int, str, str], Validator] = {}
_by_file: dict[Path, Validator] = {}


def schema_path(message_type_id: int, action: str, ocpp_version: str) -> Path:
    """The schema file the library validates this message against (ocpp.messages.get_validator)."""
    if ocpp_version not in SUPPORTED_VERSIONS:
        raise ValueError(f"OCPP version {ocpp_version!r} is not one of {SUPPORTED_VERSIONS}")
    name = action
    if message_type_id == MessageType.CallResult:
        name += "Response"
    elif message_type_id == MessageType.Call and ocpp_version != "1.6":
        name += "Request"
    return _SCHEMA_ROOT / ("v" + ocpp_version.replace(".", "")) / "schemas" / f"{name}.json"


def compiled_validator(message_type_id: int, action: str, ocpp_version: str) -> Validator:
    """The compiled validator for one message kind; compiled on first use, then cached.

    Raises the library's NotImplementedError (OCPP-J "NotImplemented") when there is no
    schema for the action, as ``ocpp.messages`` does.
    """
    key = (message_type_id, action, ocpp_version)
    validator = _by_message.get(key)
    if validator is not None:
        return validator
    if not isinstance(action, str) or not _ACTION.match(action):
        raise NotImplementedError(details={"cause": f"Failed to validate action: {action}"})
    path = schema_path(message_type_id, action, ocpp_version)
    validator = _by_file.get(path)
    if validator is None:
        try:
            # The 2.0.1 files start with a byte order mark.
            schema = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            raise NotImplementedError(details={"cause": f"Failed to validate action: {action}"}) from None
        validator = _compile(schema)
        _by_file[path] = validator
    _by_message[key] = validator
    return validator


def _compile(schema: dict) -> Validator:
    schema = dict(schema, **{"$schema": _DRAFT4})  # the library validates every file as Draft 4
    return fastjsonschema.compile(
        schema,
        handlers={},  # every $ref in the OCPP schemas is local ("#/definitions/...")
        use_default=False,  # do not write "default" values into the payload
        use_formats=False,  # the library checks no formats (date-time, uri)
        detailed_exceptions=False,  # on failure the library's own validator explains
    )


def validate_payload(message: Union[Call, CallResult], ocpp_version: str) -> None:
    """Validate ``message.payload`` as ``ocpp.messages.validate_payload`` does; raise what it raises.

    Synchronous: a compiled check costs microseconds, too little to be worth a thread.
    """
    if type(message) not in (Call, CallResult):
        ocpp.messages._validate_payload(message, ocpp_version)  # raises its ValidationError
    check = compiled_validator(message.message_type_id, message.action, ocpp_version)
    try:
        check(message.payload)
    except Exception:  # JsonSchemaValueException; or arithmetic on NaN/Infinity in the generated code
        _raise_library_error(message, ocpp_version)
        return  # the library accepts it after all (never seen over the equivalence corpus)
    if _decimal_payload(message, ocpp_version):
        message.payload = json.loads(json.dumps(message.payload), parse_float=decimal.Decimal)


def _decimal_payload(message: Union[Call, CallResult], ocpp_version: str) -> bool:
    """The messages the library validates with ``parse_float=Decimal`` (ocpp.messages)."""
    if ocpp_version != "1.6":
        return False
    if type(message) is Call:
        return message.action in ("SetChargingProfile", "RemoteStartTransaction")
    return message.action == "GetCompositeSchedule"


def _raise_library_error(message: Union[Call, CallResult], ocpp_version: str) -> None:
    """Run the library's own (jsonschema) validation, for its exact exception."""
    try:
        # The synchronous body of the public ocpp.messages.validate_payload (ocpp == 2.1.0).
        ocpp.messages._validate_payload(message, ocpp_version)
    except OCPPError:
        raise
    except Exception as exc:  # the library's validator failed itself (see the module doc)
        raise FormatViolationError(
            details={
                "cause": f"Payload for action '{message.action}' is not valid: {type(exc).__name__}: {exc}",
                "ocpp_message": message,
            }
        ) from exc
