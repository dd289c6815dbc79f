"""IEC 61851-1 control pilot states (docs/hardware/control-pilot.md#states)."""

from __future__ import annotations

from enum import Enum


class Pilot(str, Enum):
    A = "A"  # +12 V, no EV
    B = "B"  # +9 V, EV connected, not requesting
    C = "C"  # +6 V, EV requests charge
    D = "D"  # +3 V, charge with ventilation
    E = "E"  # 0 V, CP shorted to PE / diode fault
    F = "F"  # -12 V, EVSE not available
