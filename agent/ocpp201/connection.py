"""One OCPP-J 2.0.1 connection: the library's ocpp.v201 ChargePoint with compiled validation, the
2.0.1 wire dialect and the handler objects' routes (agent/ocppj/connection.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocpp.exceptions import SecurityError

from agent.ocppj.connection import Connection, LinkDown
from agent.ocppj.v201 import ChargePoint
from agent.ocppj.wire import OCPP201

__all__ = ["ChargePoint201", "LinkDown"]


class ChargePoint201(Connection, ChargePoint):
    dialect = OCPP201
    # Why the station may not serve an action now (B02/B03: before it is accepted), or None.
    refuses: Callable[[str], str | None] = staticmethod(lambda _action: None)

    async def _handle_call(self, msg: Any) -> Any:
        why = self.refuses(msg.action)
        if why is not None:
            raise SecurityError(description=why)  # the library answers a CALLERROR SecurityError
        return await super()._handle_call(msg)
