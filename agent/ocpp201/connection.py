"""One OCPP-J 2.0.1 connection: the library's ocpp.v201 ChargePoint with compiled validation, the
2.0.1 wire dialect and the handler objects' routes (agent/ocppj/connection.py)."""

from __future__ import annotations

from agent.ocppj.connection import Connection, LinkDown
from agent.ocppj.v201 import ChargePoint
from agent.ocppj.wire import OCPP201

__all__ = ["ChargePoint201", "LinkDown"]


class ChargePoint201(Connection, ChargePoint):
    dialect = OCPP201
