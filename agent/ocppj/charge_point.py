"""A ``ChargePoint`` mixin: the library's RPC, with compiled validation and cheaper conversions.

Put :class:`CompiledValidation` before ``ocpp.v16.ChargePoint`` / ``ocpp.v201.ChargePoint`` in
the bases (or use :mod:`agent.ocppj.v16` / :mod:`agent.ocppj.v201`). The routing stays the
library's: ``@on`` / ``@after`` handlers found by ``create_route_map``, ``route_message``,
``start``, the one-CALL-at-a-time lock, ``_get_specific_response``, ``_send``.

What is replaced, in ``call`` and ``_handle_call`` (copies of ocpp 2.1.0's, pinned in
setup.cfg; nothing else of the library's behaviour changes):

1. ``ocpp.messages.validate_payload`` → :func:`agent.ocppj.validation.validate_payload`: the
   same schema files, compiled once (5 µs per 1.6 MeterValues instead of 0.13 ms with
   ``jsonschema`` and the thread hop; tests/benchmarks/validation.py), checked inline instead of in the default thread pool (the library's
   ``ASYNC_VALIDATION``: a thread hop per check). Invalid payloads get the library's own
   exception. Still every message: outgoing CALLs, incoming CALLs, our CALLRESULTs and
   incoming CALLRESULTs, unless ``skip_schema_validation`` says otherwise, as before.
2. ``remove_nones(snake_to_camel_case(serialize_as_dict(payload)))`` (``dataclasses.asdict``
   deep-copies every value, then the nested dataclasses are serialised a second time, then
   each key is rewritten by a dozen ``str.replace``; about 0.1 ms for one MeterValues with
   three samples) → :func:`to_wire`: one pass over the dataclass fields, each key spelled
   by the library's own function once and then cached. Same dict, same key order; anything
   unusual (tuples, sets, dataclasses nested in plain containers, key collisions) goes
   through the library's functions instead.
3. ``camel_to_snake_case`` (two regular expressions per key) → :func:`from_wire`: the same,
   with each key's spelling cached.
4. ``inspect.signature(handler)`` on every incoming CALL (twice, with ``@after``) → asked
   once per handler.

Mind the ordering: the library's receive loop queues a CALLRESULT for the waiting ``call()``
and goes on to the next frame at once. Its thread-pool validation let the waiting code run
meanwhile, most of the time; inline validation does not, so a CALL that follows a CALLRESULT
on the wire is handled before the code that awaited the result has resumed
(tests/integration/test_result_ordering.py). Code that must see a result before the next
incoming CALL has to be ordered explicitly.
"""

from __future__ import annotations

import asyncio
import decimal
import enum
import functools
import inspect
from typing import Any

from ocpp.charge_point import (
    _raise_key_error,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.messages import Call, MessageType

from agent.ocppj.validation import validate_payload

__all__ = ["CompiledValidation", "from_wire", "to_wire"]

# Values json.dumps writes as they are (ocpp.messages._DecimalEncoder handles Decimal; the
# library's enums are str subclasses).
_LEAVES = (str, int, float, bool, type(None), decimal.Decimal, enum.Enum)
_KEY_CACHE = 2048  # bounded: keys of incoming payloads come from the peer


class _Unusual(Exception):
    """A payload the one-pass conversion does not cover: use the library's functions."""


@functools.lru_cache(maxsize=_KEY_CACHE)
def _camel_key(key: str) -> str:
    return next(iter(snake_to_camel_case({key: None})))


@functools.lru_cache(maxsize=_KEY_CACHE)
def _snake_key(key: str) -> str:
    return next(iter(camel_to_snake_case({key: None})))


def to_wire(payload: Any) -> Any:
    """``remove_nones(snake_to_camel_case(serialize_as_dict(payload)))``, in one pass."""
    try:
        if not _is_instance(payload):
            raise _Unusual  # the library raises its TypeError
        return _dataclass(payload)
    except _Unusual:
        return remove_nones(snake_to_camel_case(serialize_as_dict(payload)))


def _dataclass(obj: Any) -> dict:
    out = {}
    for name, key in _field_keys(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        if isinstance(value, list):
            # serialize_as_dict converts the dataclasses among a list's items, keeps the rest.
            value = [_dataclass(v) if _is_instance(v) else _plain(v) for v in value if v is not None]
        elif _is_instance(value):
            value = _dataclass(value)
        else:
            value = _plain(value)
        out[key] = value
    return out


@functools.lru_cache(maxsize=512)
def _field_keys(cls: type) -> tuple[tuple[str, str], ...]:
    """(field name, camelCase key) of a dataclass type, in field order."""
    keys = tuple((name, _camel_key(name)) for name in cls.__dataclass_fields__)
    if len({key for _, key in keys}) != len(keys):
        raise _Unusual  # two names spelled alike: the library's last-one-wins, then None removal
    return keys


def _plain(value: Any) -> Any:
    """A value that is not a dataclass: leaves as they are, dicts and lists converted."""
    if isinstance(value, _LEAVES):
        if _is_instance(value):
            raise _Unusual
        return value
    if type(value) is list:
        return [_plain(v) for v in value if v is not None]
    if type(value) is dict:
        for key in value:
            if type(key) is not str:
                raise _Unusual  # the library raises its AttributeError
        if len({_camel_key(key) for key in value}) != len(value):
            raise _Unusual
        return {_camel_key(key): _plain(v) for key, v in value.items() if v is not None}
    raise _Unusual  # tuples, sets, dataclasses inside plain containers, anything else


def _is_instance(value: Any) -> bool:
    """A dataclass instance (not a dataclass type)."""
    return hasattr(type(value), "__dataclass_fields__")


def from_wire(payload: Any) -> Any:
    """``camel_to_snake_case(payload)`` with each key's spelling cached."""
    if type(payload) is dict:
        out = {}
        for key, value in payload.items():
            if type(key) is not str:
                return camel_to_snake_case(payload)  # raises the library's AttributeError
            out[_snake_key(key)] = from_wire(value)  # last one wins, as in the library
        return out
    if type(payload) is list:
        return [from_wire(v) for v in payload]
    if isinstance(payload, (dict, list)):
        return camel_to_snake_case(payload)
    return payload


def _takes_call_unique_id(handler: Any) -> bool:
    # Keyed by the function, not the bound method: the cache must not keep ChargePoints alive.
    return _function_takes_call_unique_id(getattr(handler, "__func__", handler))


@functools.lru_cache(maxsize=512)
def _function_takes_call_unique_id(function: Any) -> bool:
    return "call_unique_id" in inspect.signature(function).parameters


class CompiledValidation:
    """Mixin for ``ocpp.v16.ChargePoint`` / ``ocpp.v201.ChargePoint`` (see the module doc)."""

    _ocpp_version: str
    _call_result: Any

    async def _handle_call(self, msg):
        # ocpp 2.1.0 ChargePoint._handle_call; changes marked "replaced".
        try:
            handlers = self.route_map[msg.action]
        except KeyError:
            _raise_key_error(msg.action, self._ocpp_version)
            return

        if not handlers.get("_skip_schema_validation", False):
            validate_payload(msg, self._ocpp_version)  # replaced: compiled, inline

        snake_case_payload = from_wire(msg.payload)  # replaced: cached key spellings

        try:
            handler = handlers["_on_action"]
        except KeyError:
            _raise_key_error(msg.action, self._ocpp_version)
        call_unique_id_required = _takes_call_unique_id(handler)  # replaced: asked once per handler
        try:
            if call_unique_id_required:
                response = handler(**snake_case_payload, call_unique_id=msg.unique_id)
            else:
                response = handler(**snake_case_payload)
            if inspect.isawaitable(response):
                response = await response
        except Exception as e:
            self.logger.exception("Error while handling request '%s'", msg)
            response = msg.create_call_error(e).to_json()
            await self._send(response)
            return

        camel_case_payload = to_wire(response)  # replaced: one pass, same dict

        response = msg.create_call_result(camel_case_payload)

        if not handlers.get("_skip_schema_validation", False):
            validate_payload(response, self._ocpp_version)  # replaced: compiled, inline

        await self._send(response.to_json())

        try:
            handler = handlers["_after_action"]
            if _takes_call_unique_id(handler):
                response = handler(**snake_case_payload, call_unique_id=msg.unique_id)
            else:
                response = handler(**snake_case_payload)
            # A task, so that a CALL made by the @after hook does not block the receive loop.
            if inspect.isawaitable(response):
                asyncio.ensure_future(response)
        except KeyError:
            pass  # @after hooks are optional
        return response

    async def call(self, payload, suppress=True, unique_id=None, skip_schema_validation=False):
        # ocpp 2.1.0 ChargePoint.call; changes marked "replaced".
        unique_id = unique_id if unique_id is not None else str(self._unique_id_generator())
        action_name = payload.__class__.__name__
        call = Call(
            unique_id=unique_id,
            action=action_name,
            payload=to_wire(payload),  # replaced: one pass, same dict
        )

        if not skip_schema_validation:
            validate_payload(call, self._ocpp_version)  # replaced: compiled, inline

        # OCPP-J: one outstanding CALL at a time.
        async with self._call_lock:
            await self._send(call.to_json())
            try:
                response = await self._get_specific_response(call.unique_id, self._response_timeout)
            except asyncio.TimeoutError:
                raise asyncio.TimeoutError(
                    f"Waited {self._response_timeout}s for response on {call.to_json()}."
                ) from None

        if response.message_type_id == MessageType.CallError:
            self.logger.warning("Received a CALLError: %s'", response)
            if suppress:
                return
            raise response.to_exception()
        elif not skip_schema_validation:
            response.action = call.action
            validate_payload(response, self._ocpp_version)  # replaced: compiled, inline

        snake_case_payload = from_wire(response.payload)  # replaced: cached key spellings
        cls = getattr(self._call_result, payload.__class__.__name__)
        return cls(**snake_case_payload)
