"""One small interface per hardware capability.

Drivers implement these; the charging logic in ``agent`` only ever sees these types,
so a board, meter or reader can be swapped by configuration (EVerest's
``evse_board_support`` / ``powermeter`` / ``auth_token_provider`` split).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class DeviceUnavailable(Exception):
    """The device did not answer (timeout, link down, bus silent)."""


class DeviceError(Exception):
    """The device answered, but with an error or with data that makes no sense."""


class PilotState(enum.Enum):
    """IEC 61851-1 control-pilot states (Annex A, Table A.3)."""

    A = "A"  # no EV connected
    B = "B"  # EV connected, not requesting energy
    C = "C"  # EV requests energy
    D = "D"  # EV requests energy, ventilation required
    E = "E"  # error: CP shorted to PE or EVSE without power
    F = "F"  # EVSE not available


class BoardFault(enum.Enum):
    """Faults a controller board can report about itself or the EV."""

    RCD = "rcd"  # residual-current device tripped
    DIODE = "diode"  # EV diode check failed (pilot fault)
    VENTILATION = "ventilation"  # EV asked for ventilation (state D) and it is not allowed
    PILOT = "pilot"  # pilot short / state E
    OVERCURRENT = "overcurrent"
    OTHER = "other"


@dataclass(frozen=True)
class BoardStatus:
    pilot: PilotState
    relay_closed: bool  # the contactor as the board reports it
    offered_current_a: float  # current signalled to the EV by PWM (0 when off)
    cable_limit_a: float | None = None  # PP coding, where the board reads it
    fault: BoardFault | None = None


@runtime_checkable
class EvseBoard(Protocol):
    """An EVSE controller board: generates the pilot, switches the contactor."""

    async def read_status(self) -> BoardStatus: ...

    async def set_current_limit(self, amps: float) -> None:
        """Offer ``amps`` to the EV (PWM on); 0 stops charging and opens the contactor."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class MeterReading:
    energy_wh: float  # Energy.Active.Import.Register
    power_w: float  # Power.Active.Import (total)
    current_a: tuple[float, ...] = ()  # Current.Import per phase (L1, L2, L3)
    voltage_v: tuple[float, ...] = ()  # Voltage per phase, L-N


@runtime_checkable
class PowerMeter(Protocol):
    async def read(self) -> MeterReading: ...

    async def close(self) -> None: ...


@runtime_checkable
class CardReader(Protocol):
    """Yields an idTag (uppercase hex UID) each time a card is presented."""

    def cards(self) -> AsyncIterator[str]: ...

    async def close(self) -> None: ...
