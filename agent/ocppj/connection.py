"""One OCPP-J connection (any version): the library's ChargePoint with the handler objects'
routes, compiled schema validation (agent/ocppj/charge_point.py), the wire corrections of the
version's dialect (agent/ocppj/wire.py), and CALLs that fail at once when the connection closes.

Outgoing CALLs (``send_call``) take a shorter way than the library's ``ChargePoint.call``, with
the same checks and the same results: the payload is converted and validated against its
schema (compiled, agent/ocppj/validation.py), the frame written once (``prepare_call``: this
can be done ahead, while the previous CALL waits for its answer), then sent under the
library's ``_call_lock`` (OCPP-J 1.6 §4.1.1 / 2.0.1 §4.1.1: one CALL in flight at a time).
The answer is taken by the receive loop straight from the frame the wire layer already parsed
(no second and third ``json.loads``, no queue): a CALLRESULT is validated against its
schema and becomes the library's result dataclass, a CALLERROR the library's exception.

The answer to a CALL is applied before the next frame is handled: a backend that answers a
StartTransaction and at once sends a RemoteStopTransaction for it must find the
transactionId bound. ``send_call(apply=...)`` runs ``apply(answer)`` in the receive loop,
before it reads the next frame.

A CALL can follow another at once (the outbox replaying a backlog, agent/backend/outbox.py):
``apply`` returns the next one, prepared (``FollowUp``), and the receive loop sends it right
after the answer was applied, when no other CALL waits for its turn. Its caller then finds it
in flight (``send_call`` with the same message id) and only waits for its answer; the turn
(still one CALL in flight) passes from the answered CALL to it without being released in
between. This spares the caller's task a wake-up before every CALL of a backlog.

Handlers are plain objects, one per feature profile (``agent/ocpp16/handlers/``); their
``@on`` / ``@after`` methods are merged into the library's route map
(``ocpp.routing.create_route_map``), so no handler reaches another through inheritance.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ocpp.messages import Call, CallError, CallResult
from ocpp.routing import create_route_map

from agent.ocppj.charge_point import from_wire, to_wire
from agent.ocppj.validation import validate_payload
from agent.ocppj.wire import CALLERROR, CALLRESULT, OCPP16, Dialect, SpecConnection


class LinkDown(Exception):
    """The connection closed while a CALL waited for its answer."""


@dataclass(frozen=True)
class PreparedCall:
    """A CALL ready to go: converted, validated and written as its frame; or the error the
    library's ``call`` would raise for it (raised when it is sent)."""

    unique_id: str
    action: str
    frame: str | None
    error: Exception | None = None


@dataclass(frozen=True)
class WireCall:
    """A CALL whose payload is already as on the wire (camelCase, no None values): for a hot path
    that builds it directly instead of a call dataclass; validated all the same."""

    action: str
    payload: dict[str, Any]


class FollowUp(Protocol):
    """The CALL that follows an answered one at once, which that CALL's ``apply`` returns."""

    @property
    def request(self) -> Any:
        """What its caller will pass to ``send_call``: sent early only if it is a ``PreparedCall``."""
        ...

    def apply(self, answer: Any) -> FollowUp | None:
        """``send_call``'s ``apply`` for it."""
        ...

    def went_out(self) -> None:
        """It was sent: its caller must now call ``send_call`` with it, to take its answer and the turn."""
        ...


Apply = Callable[[Any], "FollowUp | None"]


@dataclass
class _Waiting:
    action: str
    answer: asyncio.Future
    apply: Apply | None


class _Turn(asyncio.Lock):
    """The turn to have a CALL in flight (OCPP-J 1.6 §4.1.1 / 2.0.1 §4.1.1: one at a time),
    knowing whether a caller waits for it (then the receive loop sends no follow-up)."""

    def __init__(self) -> None:
        super().__init__()
        self.wanted = 0

    async def acquire(self) -> bool:
        self.wanted += 1
        try:
            return await super().acquire()
        finally:
            self.wanted -= 1


class Connection:
    """Mixin before ``agent.ocppj.v16.ChargePoint`` / ``agent.ocppj.v201.ChargePoint``."""

    dialect: Dialect = OCPP16

    def __init__(self, charge_point_id: str, ws: Any, handlers: Iterable[object], response_timeout: float) -> None:
        super().__init__(charge_point_id, SpecConnection(ws, self.dialect), response_timeout=response_timeout)  # type: ignore[call-arg]
        self.ws = ws
        # The CALL whose answer is awaited, by message id (one at a time: the call lock).
        self._waiting: dict[str, _Waiting] = {}
        self._receiving = True
        self._call_lock = _Turn()  # the library's lock, which its own call() takes too
        # A CALL the receive loop sent as a follow-up, whose caller has not taken it yet:
        # (message id, its answer). The turn is its own.
        self._follow_up: tuple[str, asyncio.Future] | None = None
        for handler in handlers:
            for action, routes in create_route_map(handler).items():
                self.route_map.setdefault(action, {}).update(routes)

    async def start(self) -> None:
        try:
            await super().start()  # type: ignore[misc]
        finally:  # the connection closed (or the loop was cancelled): nobody answers any more
            self._receiving = False
            for waiting in self._waiting.values():
                if not waiting.answer.done():
                    waiting.answer.set_exception(LinkDown("connection closed"))

    def prepare_call(self, payload: Any, unique_id: str | None = None) -> PreparedCall:
        """``payload`` (a call dataclass of this version, or a WireCall) as its CALL frame, validated."""
        unique_id = unique_id or str(uuid.uuid4())
        wire = type(payload) is WireCall
        action = payload.action if wire else type(payload).__name__
        try:
            message = Call(unique_id=unique_id, action=action, payload=payload.payload if wire else to_wire(payload))
            validate_payload(message, self._ocpp_version)  # type: ignore[attr-defined]
            return PreparedCall(unique_id, action, message.to_json())
        except Exception as exc:  # what the library's call() raises before sending anything
            return PreparedCall(unique_id, action, None, exc)

    async def send_call(self, payload: Any, *, unique_id: str | None = None, apply: Apply | None = None) -> Any:
        """Send a CALL (a call dataclass, a WireCall or a PreparedCall); its answer as the library's result
        dataclass. LinkDown at once if the connection closes meanwhile (the library would let
        it wait out its whole response timeout); a CALLERROR raises its OCPPError, no answer
        in time asyncio.TimeoutError. ``apply(answer)`` runs before the next frame from the
        backend is handled; it may return the CALL that follows (``FollowUp``)."""
        prepared = payload if isinstance(payload, PreparedCall) else self.prepare_call(payload, unique_id)
        if prepared.error is not None:
            raise prepared.error
        follow_up = self._follow_up
        sent = follow_up is not None and follow_up[0] == prepared.unique_id
        if follow_up is not None and sent:
            self._follow_up = None  # sent by the receive loop: its answer and the turn are this call's
            answer = follow_up[1]
        else:
            answer = asyncio.get_running_loop().create_future()
            await self._call_lock.acquire()
        try:
            if not sent:
                if not self._receiving or self.ws.close_code is not None:
                    raise LinkDown(f"connection closed before {prepared.action}")
                self._waiting[prepared.unique_id] = _Waiting(prepared.action, answer, apply)
                try:
                    await self._send(prepared.frame)  # type: ignore[attr-defined]
                except Exception as exc:
                    if self.ws.close_code is not None:
                        raise LinkDown(str(exc)) from exc
                    raise
            try:
                async with asyncio.timeout(self._response_timeout):  # type: ignore[attr-defined]
                    return await answer
            except TimeoutError:
                raise TimeoutError(
                    f"Waited {self._response_timeout}s for response on {prepared.frame}.") from None  # type: ignore[attr-defined]
        finally:
            self._waiting.pop(prepared.unique_id, None)
            if self._follow_up is None:  # else the turn went on with the follow-up this answer sent
                self._call_lock.release()

    async def route_message(self, raw_msg: str) -> None:
        message = self._connection.parsed(raw_msg)  # type: ignore[attr-defined]
        if (type(message) is list and len(message) > 1 and message[0] in (CALLRESULT, CALLERROR)
                and type(message[1]) is str and len(message) in ((3,) if message[0] == CALLRESULT else (4, 5))):
            waiting = self._waiting.get(message[1])
            if waiting is None or waiting.answer.done():
                self.logger.error("Ignoring response with unknown unique id: %s", raw_msg)  # type: ignore[attr-defined]
            else:
                follow_up = self._answered(waiting, message)
                if follow_up is not None:
                    await self._send_follow_up(follow_up)
            return
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def _send_follow_up(self, follow_up: FollowUp) -> None:
        """Send the CALL that follows the one just answered, whose caller still holds the turn,
        unless another caller waits for it (that one goes first; the follow-up is then sent
        by its own caller, in turn)."""
        prepared = follow_up.request
        if (type(prepared) is not PreparedCall or prepared.frame is None or self._call_lock.wanted
                or self._follow_up is not None):
            return
        answer = asyncio.get_running_loop().create_future()
        self._waiting[prepared.unique_id] = _Waiting(prepared.action, answer, follow_up.apply)
        self._follow_up = (prepared.unique_id, answer)
        follow_up.went_out()
        try:
            await self._send(prepared.frame)  # type: ignore[attr-defined]
        except Exception as exc:  # its caller gets what send_call would have raised
            answer.set_exception(LinkDown(str(exc)) if self.ws.close_code is not None else exc)

    def _answered(self, waiting: _Waiting, message: list) -> FollowUp | None:
        """What the library's ``call`` does with the answer, then ``apply``; the waiting
        call gets the result or the exception. The CALL that follows, if ``apply`` names one."""
        if message[0] == CALLERROR:
            error = CallError(*message[1:])
            self.logger.warning("Received a CALLError: %s'", error)  # type: ignore[attr-defined]
            waiting.answer.set_exception(error.to_exception())
            return None
        follow_up = None
        try:
            result = CallResult(message[1], message[2], waiting.action)
            validate_payload(result, self._ocpp_version)  # type: ignore[attr-defined]
            answer = getattr(self._call_result, waiting.action)(**from_wire(result.payload))  # type: ignore[attr-defined]
            if waiting.apply is not None:
                follow_up = waiting.apply(answer)
        except Exception as exc:
            waiting.answer.set_exception(exc)
            return None
        waiting.answer.set_result(answer)
        return follow_up
