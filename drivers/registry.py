"""Every device driver by name: what it is, what it provides, its options, how to build it.

A driver module declares one ``DriverSpec`` per name it answers to (``SPEC``, or several in
``SPECS``); this module lists where each lives. Adding a driver is its module, its twin in
the simulator and one line in ``DRIVERS`` below — nothing else names it.

Options are frozen dataclasses with defaults: the agent's configuration loader checks a
device section's keys against them (an unknown key or a wrong type names the key), then
``check`` looks at what a type cannot say (a watchdog too short for the poll interval).
A spec is imported only when its name is used, so a station without, say, a PC/SC reader
never imports pyscard.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from drivers.bus.modbus import ModbusBus, ModbusDevice
    from drivers.interfaces import I2cBus


class Kind(enum.Enum):
    BOARD = "board"  # drivers.interfaces.EvseBoard
    METER = "meter"  # drivers.interfaces.PowerMeter
    CARD_READER = "card_reader"  # drivers.interfaces.CardReader
    DISPLAY = "display"  # drivers.interfaces.Display
    TEMPERATURE = "temperature"  # drivers.interfaces.TemperatureSensor


# Where each driver's spec lives: "module:attribute".
DRIVERS: dict[str, str] = {
    # boards
    "evse-din": "drivers.boards.evse_din:SPEC",
    "heidelberg": "drivers.boards.heidelberg:SPEC",
    "bender": "drivers.boards.bender:SPEC",
    "openevse": "drivers.boards.openevse:SPEC",
    # meters
    "sdm630": "drivers.meters.eastron:SDM630",
    "sdm72": "drivers.meters.eastron:SDM72",
    "sdm72-v1": "drivers.meters.eastron:SDM72_V1",
    "sdm120": "drivers.meters.eastron:SDM120",
    "abb-b23": "drivers.meters.abb_b23:SPEC",
    # card readers
    "pcsc": "drivers.readers.pcsc:SPEC",
    "pn532": "drivers.readers.pn532:SPEC",
    # I2C parts
    "ssd1306": "drivers.i2c.ssd1306:SPEC",
    "tmp102": "drivers.i2c.temperature:TMP102",
    "lm75": "drivers.i2c.temperature:LM75",
}

# Which kinds each driver is, without importing it (for config checks and error messages).
KINDS: dict[str, Kind] = {
    **dict.fromkeys(("evse-din", "heidelberg", "bender", "openevse"), Kind.BOARD),
    **dict.fromkeys(("sdm630", "sdm72", "sdm72-v1", "sdm120", "abb-b23"), Kind.METER),
    **dict.fromkeys(("pcsc", "pn532"), Kind.CARD_READER),
    "ssd1306": Kind.DISPLAY,
    **dict.fromkeys(("tmp102", "lm75"), Kind.TEMPERATURE),
}


class OptionError(ValueError):
    """An option value a driver cannot work with: ``key`` names it, the message says why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class ModbusOptions:
    """What every device on a Modbus line needs: the ``[[buses]]`` name and its unit id."""

    bus: str
    unit: int = 1
    min_interval_s: float = 0.0  # the least time between two requests to this unit


@dataclass(frozen=True)
class I2cOptions:
    """A chip on the ``[i2c]`` bus at a 7-bit address."""

    address: int


@dataclass(frozen=True)
class Context:
    """What a driver's ``check`` may look at besides its own options."""

    bus_kinds: dict[str, str] = field(default_factory=dict)  # [[buses]] name -> "rtu" / "tcp"
    poll_interval_s: float = 0.25  # how often the station reads the device


class Wiring(Protocol):
    """What a driver is built from: the buses the configuration declares."""

    def modbus(self, options: ModbusOptions) -> ModbusDevice: ...

    def i2c(self) -> I2cBus: ...

    def own(self, closeable: Any) -> None:
        """A link the driver opened itself (a serial line): closed with the buses."""
        ...


OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class DriverSpec(Generic[OptionsT]):
    name: str
    kind: Kind
    options: type[OptionsT]
    build: Callable[[OptionsT, Wiring], Any]
    # Capabilities beyond its kind: a board with a meter of its own provides "meter" too.
    provides: frozenset[str] = frozenset()
    check: Callable[[OptionsT, Context], None] = lambda options, context: None
    summary: str = ""


def spec(name: str) -> DriverSpec[Any]:
    """The spec of driver ``name``; KeyError for a name no driver answers to."""
    module_name, _, attribute = DRIVERS[name].partition(":")
    found: DriverSpec[Any] = getattr(importlib.import_module(module_name), attribute)
    if found.name != name:
        raise RuntimeError(f"{DRIVERS[name]} declares {found.name!r}, registered as {name!r}")
    return found


def names(kind: Kind) -> list[str]:
    return [name for name, k in KINDS.items() if k is kind]


def check_modbus(options: ModbusOptions, context: Context) -> None:
    """The bus exists; the unit id is one a device may have on it (Modbus: 1-247; 255 is
    the "not used" unit of Modbus TCP, which some TCP devices answer on)."""
    if options.bus not in context.bus_kinds:
        have = ", ".join(context.bus_kinds) or "none"
        raise OptionError("bus", f"no bus named {options.bus!r} (have: {have})")
    tcp = context.bus_kinds[options.bus] == "tcp"
    if not (1 <= options.unit <= 247 or (tcp and options.unit == 255)):
        raise OptionError("unit", f"{options.unit} is outside 1-247 (255 only on a tcp bus)")
    if options.min_interval_s < 0:
        raise OptionError("min_interval_s", "must be >= 0")


def check_i2c_address(options: I2cOptions, context: Context) -> None:
    if not 0x03 <= options.address <= 0x77:
        raise OptionError("address", f"0x{options.address:02X} is outside the 7-bit I2C range 0x03-0x77")


class BusWiring:
    """``Wiring`` over the buses built from the configuration (agent/app/hardware.py)."""

    def __init__(self, buses: dict[str, ModbusBus], i2c: I2cBus | None = None) -> None:
        self.buses = buses
        self._i2c = i2c
        self.owned: list[Any] = []

    def modbus(self, options: ModbusOptions) -> ModbusDevice:
        return self.buses[options.bus].device(options.unit, min_interval_s=options.min_interval_s)

    def i2c(self) -> I2cBus:
        if self._i2c is None:
            raise RuntimeError("this driver is on I2C: set [i2c] device or sim")
        return self._i2c

    def own(self, closeable: Any) -> None:
        self.owned.append(closeable)
