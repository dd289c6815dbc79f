"""One OCPP-J connection (any version): the library's ChargePoint with the handler objects'
routes, compiled schema validation (agent/ocppj/charge_point.py), the wire corrections of the
version's dialect (agent/ocppj/wire.py), and CALLs that fail at once when the connection closes.

The answer to a CALL is applied before the next frame is handled: the library's receive loop
hands a CALLRESULT to the waiting call and reads on at once, so a backend that answers a
StartTransaction and at once sends a RemoteStopTransaction for it could find the
transactionId not yet bound. ``send_call(apply=...)`` applies the answer, and the receive
loop waits for that (at most the response timeout) before it reads the next frame.

Handlers are plain objects, one per feature profile (``agent/ocpp16/handlers/``); their
``@on`` / ``@after`` methods are merged into the library's route map
(``ocpp.routing.create_route_map``), so no handler reaches another through inheritance.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ocpp.routing import create_route_map

from agent.ocppj.wire import OCPP16, Dialect, SpecConnection


class LinkDown(Exception):
    """The connection closed while a CALL waited for its answer."""


class Connection:
    """Mixin before ``agent.ocppj.v16.ChargePoint`` / ``agent.ocppj.v201.ChargePoint``."""

    dialect: Dialect = OCPP16

    def __init__(self, charge_point_id: str, ws: Any, handlers: Iterable[object], response_timeout: float) -> None:
        super().__init__(charge_point_id, SpecConnection(ws, self.dialect), response_timeout=response_timeout)  # type: ignore[call-arg]
        self.ws = ws
        # The CALLs whose answers are awaited, by message id: set once the answer is applied.
        # (Several may wait at once: the library sends one at a time, but callers queue.)
        self._applied: dict[str, asyncio.Event] = {}
        for handler in handlers:
            for action, routes in create_route_map(handler).items():
                self.route_map.setdefault(action, {}).update(routes)

    async def route_message(self, raw_msg: str) -> None:
        unique_id = _answer_id(raw_msg)
        applied = self._applied.get(unique_id) if unique_id is not None else None
        if applied is None:
            await super().route_message(raw_msg)  # type: ignore[misc]
            return
        await super().route_message(raw_msg)  # type: ignore[misc]
        # asyncio.timeout, not wait_for: wait_for (Python 3.11) swallows a cancellation that
        # comes as the event is set, and the receive loop would then never end.
        try:
            async with asyncio.timeout(self._response_timeout):  # type: ignore[attr-defined]
                await applied.wait()
        except TimeoutError:
            pass

    async def send_call(self, payload: Any, *, unique_id: str | None = None,
                        apply: Callable[[Any], None] | None = None) -> Any:
        """Send a CALL; LinkDown at once if the connection closes meanwhile (the library would
        let it wait out its whole response timeout). A CALLERROR raises its OCPPError.
        ``apply(answer)`` runs before the next frame from the backend is handled."""
        from ocpp.exceptions import OCPPError

        unique_id = unique_id or str(uuid.uuid4())
        self._applied[unique_id] = asyncio.Event()
        try:
            request = asyncio.ensure_future(self.call(payload, suppress=False, unique_id=unique_id))
            # A request that fails after we stopped waiting for it (the link closed first) has
            # nobody left to tell: retrieve its exception so asyncio does not log it as lost.
            request.add_done_callback(lambda task: task.cancelled() or task.exception())
            closed = asyncio.ensure_future(self.ws.wait_closed())
            try:
                await asyncio.wait({request, closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closed.cancel()
            if not request.done():
                request.cancel()
                raise LinkDown(f"connection closed during {type(payload).__name__}")
            try:
                answer = request.result()
            except Exception as exc:
                if self.ws.close_code is not None and not isinstance(exc, OCPPError):
                    raise LinkDown(str(exc)) from exc
                raise
            if apply is not None:
                apply(answer)
            return answer
        finally:
            self._applied.pop(unique_id).set()


def _answer_id(raw: str | bytes) -> str | None:
    """The message id of a CALLRESULT / CALLERROR frame, else None."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if not text.lstrip().startswith(("[3", "[4")):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message[1] if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str) else None
