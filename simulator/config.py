"""Simulator configuration: TOML (tomllib) -> frozen dataclasses, strictly checked.

A user file is merged over ``default.toml`` (tables key by key; a user ``[[evse]]`` list
replaces the default list). Unknown keys and wrong types raise :class:`ConfigError` naming
the offending key, e.g. ``evse[1].phases: expected int, got str``.
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

MIN_SPEED, MAX_SPEED = 0.1, 3600.0  # what Simulator.set_speed accepts (3600: an hour per second)

RCD_LAYOUTS = ("syssi", "pdf")
WORD_ORDERS = ("big", "little")
OWN_METER_BOARDS = ("heidelberg", "bender", "openevse")  # may run with meter = "none"


class ConfigError(ValueError):
    """A configuration file is invalid; the message names the key."""


@dataclass(frozen=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8765


@dataclass(frozen=True)
class ModbusConfig:
    tcp_host: str = "127.0.0.1"
    tcp_port: int = 5020
    rtu_link: str = ""  # "" = no RTU pty pair; else the path the agent opens
    baudrate: int = 9600
    parity: str = "N"  # "E" for a Heidelberg line (19200 8E1)


@dataclass(frozen=True)
class VpcdConfig:
    host: str = "127.0.0.1"
    port: int = 35963
    hold_s: float = 1.0


@dataclass(frozen=True)
class I2cConfig:
    """The simulated I²C bus (simulator/wire/i2c.py): its chips and where it is served."""

    listen: str = ""  # "host:port" of its TCP endpoint (port 0 = any free one); "" = not served
    temperature_sensor: str = "tmp102"  # I2C_SENSORS
    temperature_address: int = 0x48
    nfc: str = "none"  # "pn532" or "none"
    nfc_address: int = 0x24
    ambient_c: float = 25.0  # the sensor's temperature until the API sets another


I2C_SENSORS = ("tmp102", "lm75", "none")


@dataclass(frozen=True)
class EvseConfig:
    id: int
    board_unit: int = 0  # 0: not on the bus (openevse)
    meter_unit: int = 0  # 0: no separate meter (meter = "none")
    board: str = "evse-din"  # simulator.devices.BOARDS
    meter: str = "sdm630"  # simulator.devices.METERS
    energy_word_order: str = "big"  # heidelberg registers 15-18: "big" = high word first
    rapi_port: int = 0  # openevse: TCP port of its RAPI endpoint (0 = any free port)
    rapi_link: str = ""  # openevse: also a pty at this path (socat), "" = none
    phases: int = 3
    voltage: float = 230.0
    default_current_a: int = 16
    rcd_layout: str = "syssi"
    battery_kwh: float = 60.0
    soc_start: float = 0.3
    max_current_a: float = 16.0
    display_address: int = 0  # I²C address of this connector's SSD1306 (0x3C = 60); 0 = none


@dataclass(frozen=True)
class GpioConfig:
    """The pigpio daemon's socket interface over the simulated GPIO lines (simulator.twins.gpio)."""

    host: str = "127.0.0.1"
    port: int = 0  # pigpiod's is 8888; 0 = any free port


@dataclass(frozen=True)
class SimConfig:
    speed: float = 1.0
    http: HttpConfig = HttpConfig()
    modbus: ModbusConfig = ModbusConfig()
    vpcd: VpcdConfig = VpcdConfig()
    i2c: I2cConfig = I2cConfig()
    gpio: GpioConfig = GpioConfig()
    evses: tuple[EvseConfig, ...] = ()


def _typed(cls: type, table: Any, where: str) -> Any:
    """Build dataclass ``cls`` from ``table``, checking key names and value types."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key")
    kwargs = {}
    for name, value in table.items():
        want = known[name].type  # a string because of `from __future__ import annotations`
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "str": isinstance(value, str),
        }[want]
        if not ok:
            raise ConfigError(f"{where}.{name}: expected {want}, got {type(value).__name__}")
        kwargs[name] = float(value) if want == "float" else value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        missing = [f.name for f in fields(cls) if f.name not in kwargs and f.default is MISSING]
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}") from exc


def _check_evse(e: EvseConfig, where: str) -> None:
    if e.phases not in (1, 3):
        raise ConfigError(f"{where}.phases: must be 1 or 3")
    if e.rcd_layout not in RCD_LAYOUTS:
        raise ConfigError(f"{where}.rcd_layout: must be one of {RCD_LAYOUTS}")
    from simulator.devices import BOARDS, METERS

    if e.board not in BOARDS:
        raise ConfigError(f"{where}.board: must be one of {tuple(BOARDS)}")
    if e.meter not in METERS:
        raise ConfigError(f"{where}.meter: must be one of {tuple(METERS)}")
    if e.meter == "none" and e.board not in OWN_METER_BOARDS:
        raise ConfigError(f"{where}.meter: a {e.board} board has no meter of its own")
    if e.energy_word_order not in WORD_ORDERS:
        raise ConfigError(f"{where}.energy_word_order: must be one of {WORD_ORDERS}")
    for key in _bus_units(e):
        unit = getattr(e, key)
        if unit == 0:
            raise ConfigError(f"{where}: missing key(s) {key}")
        tcp_only = key == "board_unit" and e.board == "bender" and unit == 255  # Modbus TCP unit 255
        if not (1 <= unit <= 247 or tcp_only):
            raise ConfigError(f"{where}.{key}: Modbus unit id must be 1..247")
    if not 0 <= e.rapi_port < 65536:
        raise ConfigError(f"{where}.rapi_port: not a TCP port")
    if not 0.0 <= e.soc_start <= 1.0:
        raise ConfigError(f"{where}.soc_start: must be between 0 and 1")
    if e.default_current_a != 0 and not 6 <= e.default_current_a <= 80:
        raise ConfigError(f"{where}.default_current_a: must be 0 or 6..80 (reg 2000)")
    if e.battery_kwh <= 0 or e.max_current_a <= 0 or e.voltage <= 0:
        raise ConfigError(f"{where}: battery_kwh, max_current_a and voltage must be > 0")


def _bus_units(e: EvseConfig) -> list[str]:
    """The unit keys of ``e`` that sit on the simulated Modbus bus."""
    keys = [] if e.board == "openevse" else ["board_unit"]
    return keys + ([] if e.meter == "none" else ["meter_unit"])


def parse_config(data: dict[str, Any]) -> SimConfig:
    """Validate a TOML document (already merged with the defaults)."""
    top = {"speed", "http", "modbus", "vpcd", "i2c", "gpio", "evse"}
    for key in data:
        if key not in top:
            raise ConfigError(f"{key}: unknown key")
    speed = data.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0:
        raise ConfigError("speed: expected a number > 0")
    evse_list = data.get("evse", [])
    if not isinstance(evse_list, list) or not evse_list:
        raise ConfigError("evse: expected at least one [[evse]] table")
    evses = tuple(_typed(EvseConfig, t, f"evse[{i}]") for i, t in enumerate(evse_list))
    units: set[int] = set()
    ids: set[int] = set()
    for i, e in enumerate(evses):
        _check_evse(e, f"evse[{i}]")
        if e.id in ids:
            raise ConfigError(f"evse[{i}].id: duplicate id {e.id}")
        ids.add(e.id)
        for key in _bus_units(e):
            unit = getattr(e, key)
            if unit in units:
                raise ConfigError(f"evse[{i}].{key}: unit id {unit} used twice on the bus")
            units.add(unit)
    return SimConfig(
        speed=float(speed),
        http=_typed(HttpConfig, data.get("http", {}), "http"),
        modbus=_typed(ModbusConfig, data.get("modbus", {}), "modbus"),
        vpcd=_typed(VpcdConfig, data.get("vpcd", {}), "vpcd"),
        i2c=_check_i2c(_typed(I2cConfig, data.get("i2c", {}), "i2c"), evses),
        gpio=_typed(GpioConfig, data.get("gpio", {}), "gpio"),
        evses=evses,
    )


def _check_i2c(i2c: I2cConfig, evses: tuple[EvseConfig, ...]) -> I2cConfig:
    """Chips on distinct addresses in 0x03-0x77; a known sensor kind; listen as host:port."""
    if i2c.temperature_sensor not in I2C_SENSORS:
        raise ConfigError(f"i2c.temperature_sensor: must be one of {I2C_SENSORS}")
    if i2c.nfc not in ("pn532", "none"):
        raise ConfigError("i2c.nfc: must be \"pn532\" or \"none\"")
    host, _, port = i2c.listen.rpartition(":")
    if i2c.listen and (not host or not port.isdigit() or int(port) > 65535):
        raise ConfigError(f"i2c.listen: {i2c.listen!r} is not host:port")
    chips = [(f"evse id {e.id} display_address", e.display_address) for e in evses if e.display_address]
    if i2c.temperature_sensor != "none":
        chips.append(("i2c.temperature_address", i2c.temperature_address))
    if i2c.nfc != "none":
        chips.append(("i2c.nfc_address", i2c.nfc_address))
    seen: set[int] = set()
    for where, address in chips:
        if not 0x03 <= address <= 0x77:
            raise ConfigError(f"{where}: I2C address {address} is outside 3-119 (0x03-0x77)")
        if address in seen:
            raise ConfigError(f"{where}: I2C address 0x{address:02X} used twice")
        seen.add(address)
    return i2c


def default_toml() -> dict[str, Any]:
    text = resources.files("simulator").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_config(path: str | Path | None = None) -> SimConfig:
    """Load ``default.toml`` and merge the file at ``path`` (if any) over it."""
    data = default_toml()
    if path is not None:
        try:
            user = tomllib.loads(Path(path).read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        for key, value in user.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    return parse_config(data)
