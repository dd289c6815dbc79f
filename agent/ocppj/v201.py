"""OCPP 2.0.1: the library's ChargePoint with compiled validation (agent.ocppj.charge_point)."""

from __future__ import annotations

from ocpp.v201 import ChargePoint as _LibraryChargePoint

from agent.ocppj.charge_point import CompiledValidation


class ChargePoint(CompiledValidation, _LibraryChargePoint):
    """``ocpp.v201.ChargePoint`` validating with compiled schemas; same routing, same errors."""
