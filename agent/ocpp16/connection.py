"""One OCPP-J 1.6 connection: the library's ocpp.v16 ChargePoint with compiled validation, the
1.6 wire dialect and the handler objects' routes (agent/ocppj/connection.py)."""

from __future__ import annotations

from agent.ocppj.connection import Connection, LinkDown, WireCall
from agent.ocppj.v16 import ChargePoint
from agent.ocppj.wire import OCPP16

__all__ = ["ChargePoint16", "LinkDown", "WireCall"]


class ChargePoint16(Connection, ChargePoint):
    dialect = OCPP16
