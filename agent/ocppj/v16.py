"""OCPP 1.6J: the library's ChargePoint with compiled validation (agent.ocppj.charge_point)."""

from __future__ import annotations

from ocpp.v16 import ChargePoint as _LibraryChargePoint

from agent.ocppj.charge_point import CompiledValidation


class ChargePoint(CompiledValidation, _LibraryChargePoint):
    """``ocpp.v16.ChargePoint`` validating with compiled schemas; same routing, same errors."""
