"""One small interface per hardware capability.

Drivers implement these; the charging logic in ``agent`` only ever sees these types,
so a board, meter or reader can be swapped by configuration (EVerest's
``evse_board_support`` / ``powermeter`` / ``auth_token_provider`` split).
"""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# IEC 61851-1 Annex A: the pilot PWM cannot signal less than 6 A; 0 means no energy.
MIN_OFFER_A = 6.0


def checked_offer(amps: float, maximum_a: float) -> float:
    """The current a board may be told to offer: 0 (stop), or 6 A up to ``maximum_a``
    (clamped). A value between 0 and 6 A, negative or not a number is a ValueError,
    raised before any I/O. Every board driver scales this to its own registers."""
    if not math.isfinite(amps) or amps < 0:
        raise ValueError(f"invalid current {amps!r}")
    if 0 < amps < MIN_OFFER_A:
        raise ValueError(f"{amps} A is below the IEC 61851 minimum of {MIN_OFFER_A:g} A (use 0 to stop)")
    return min(amps, maximum_a)


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
    """An EVSE controller board: generates the pilot, switches the contactor.

    A driver may say in what steps its board reports the offer (``offer_resolution_a``, e.g.
    0.1 for 0.1 A registers; 1 A when it does not): the station compares what the board
    offers with what it was told at that resolution (agent/station/device_poller.py).
    """

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


@runtime_checkable
class I2cBus(Protocol):
    """One I²C bus (a Pi's /dev/i2c-1, or the simulator's bus over TCP).

    The calls are what the chip sees on the wire (docs/hardware/i2c-bus.md#transfers): ``write`` and ``read``
    are one i2c_rdwr message each; ``write_block(addr, reg, data)`` is a write of
    ``[reg] + data`` (SMBus "I2C block write", ≤ 32 bytes) and ``read_block(addr, reg, n)``
    a write of ``[reg]`` then a read of ``n`` bytes after a repeated start. A device that
    does not acknowledge raises :class:`DeviceUnavailable`. Implementations serialise the
    calls of every device on the bus and keep blocking I/O off the event loop.
    """

    async def write_block(self, addr: int, reg: int, data: bytes) -> None: ...

    async def read_block(self, addr: int, reg: int, n: int) -> bytes: ...

    async def write(self, addr: int, data: bytes) -> None: ...

    async def read(self, addr: int, n: int) -> bytes: ...

    async def close(self) -> None: ...


@runtime_checkable
class Display(Protocol):
    """A small monochrome display; ``show`` takes a :class:`drivers.bitmap.Bitmap` of its size."""

    width: int
    height: int

    async def show(self, image: Any) -> None: ...

    async def show_neutral(self) -> None:
        """A blank (all dark) screen: what is left when the agent knows nothing to show."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class TemperatureSensor(Protocol):
    async def read_celsius(self) -> float: ...

    async def close(self) -> None: ...


# ---- GPIO safety I/O (drivers/gpio.py) ------------------------------------------------
# Plain (not async) calls: a GPIO write is a register or ioctl (pigpio: one loopback
# round trip), and the contactor must open from the event loop at once, not via a thread.


@runtime_checkable
class Contactor(Protocol):
    """A contactor switched by a relay output, with its auxiliary contact read back if wired."""

    def switch(self, closed: bool) -> None: ...

    @property
    def commanded_closed(self) -> bool: ...

    def feedback_closed(self) -> bool | None:
        """What the auxiliary contact says; None when none is wired."""
        ...

    def release(self) -> None:
        """Open the contactor and free the pins."""
        ...


@runtime_checkable
class TripInput(Protocol):
    """A safety contact: RCD/RCM trip, emergency stop, stop button.

    ``on_change(callback)``: ``callback(active)`` runs on the driver's own thread at each change.
    """

    def is_active(self) -> bool: ...

    def on_change(self, callback: Callable[[bool], None] | None) -> None: ...

    def release(self) -> None: ...


@runtime_checkable
class PulseOutput(Protocol):
    """An output pulsed for a while (the RCM self-test wire)."""

    def pulse(self, seconds: float) -> None:
        """Activate the output now and deactivate it after ``seconds`` (returns at once)."""
        ...

    def release(self) -> None: ...


@runtime_checkable
class CableLock(Protocol):
    """A socket's cable lock actuator, with a position switch if wired."""

    def move(self, lock: bool, seconds: float) -> None:
        """Drive the actuator towards locked / unlocked for ``seconds`` (returns at once)."""
        ...

    def is_locked(self) -> bool | None:
        """The position switch; None when none is wired."""
        ...

    def release(self) -> None: ...


class LightPattern(enum.Enum):
    OFF = "off"
    ON = "on"
    BLINK_SLOW = "blink_slow"  # 1 s on, 1 s off
    BLINK_FAST = "blink_fast"  # 0.2 s on, 0.2 s off
    FLASH = "flash"  # 0.1 s on, 1.9 s off


@runtime_checkable
class StatusLight(Protocol):
    """One status LED."""

    def show(self, pattern: LightPattern) -> None: ...

    def release(self) -> None: ...
