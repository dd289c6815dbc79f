"""Agent configuration: a TOML file checked against typed dataclasses.

Every key is declared here with its type; unknown keys and wrong types are errors
that name the key (``ConfigError("connectors[0].board.unit: expected an integer, got 'one'")``),
never silently ignored.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A configuration file is unreadable or a key in it is wrong."""


@dataclass(frozen=True)
class ChargePointSection:
    id: str = "CP-0001"
    vendor: str = "evse-agent"
    model: str = "DIY Wallbox"
    serial_number: str = ""


@dataclass(frozen=True)
class OcppSection:
    csms_url: str = "ws://127.0.0.1:9000"
    version: Literal["1.6"] = "1.6"
    # ws:// to anything but loopback sends the link in clear text: only when asked for.
    allow_unencrypted: bool = False
    response_timeout_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 300.0
    # Initial values of OCPP configuration keys; the backend may change them later
    # (ChangeConfiguration), and those changes persist in the data directory.
    keys: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StorageSection:
    data_dir: str = "/var/lib/evse-agent"
    # Bound of the queue of transaction messages waiting for the backend; past it the
    # oldest periodic MeterValues are dropped (never StartTransaction / StopTransaction).
    max_queued_messages: int = 50_000


@dataclass(frozen=True)
class LogSection:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Also log to this file ("" = stderr only); GetDiagnostics uploads it (agent/diagnostics.py).
    file: str = ""


@dataclass(frozen=True)
class FirmwareSection:
    # OCPP 1.6 §5.19: the command that installs a downloaded firmware file; {file} is its path.
    # Exit status 0 = installed (the agent then restarts itself), anything else = failed.
    installer: str = "/usr/local/bin/evse-install-firmware {file}"
    install_timeout_s: float = 1800.0


@dataclass(frozen=True)
class BusSection:
    name: str
    kind: Literal["rtu", "tcp"]
    device: str = ""  # rtu: /dev/ttyUSB0, /dev/serial0, or socket://host:port
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    host: str = ""  # tcp
    port: int = 502
    timeout_s: float = 0.5
    retries: int = 1


@dataclass(frozen=True)
class BoardSection:
    driver: Literal["evse-din"]
    bus: str
    unit: int = 1
    min_interval_s: float = 0.1  # EVSE-DIN wants 100-200 ms between accesses
    centiamp_mode: Literal["auto", "on", "off"] = "auto"
    rcd_bits: Literal["syssi", "pdf"] = "syssi"


@dataclass(frozen=True)
class MeterSection:
    driver: Literal["sdm630"]
    bus: str
    unit: int = 2
    min_interval_s: float = 0.0


@dataclass(frozen=True)
class ConnectorSection:
    id: int
    board: BoardSection
    meter: MeterSection | None = None
    max_current_a: float = 16.0
    phases: Literal[1, 3] = 3
    poll_interval_s: float = 0.25


@dataclass(frozen=True)
class CardReaderSection:
    driver: Literal["pcsc", "none"] = "none"
    reader: str = ""  # part of the PC/SC reader name; "" = the first reader
    byte_order: Literal["as_read", "reversed"] = "as_read"


@dataclass(frozen=True)
class AgentConfig:
    charge_point: ChargePointSection = field(default_factory=ChargePointSection)
    ocpp: OcppSection = field(default_factory=OcppSection)
    storage: StorageSection = field(default_factory=StorageSection)
    log: LogSection = field(default_factory=LogSection)
    buses: list[BusSection] = field(default_factory=list)
    connectors: list[ConnectorSection] = field(default_factory=list)
    card_reader: CardReaderSection = field(default_factory=CardReaderSection)
    firmware: FirmwareSection = field(default_factory=FirmwareSection)


def load_config(path: str | Path, **overrides: Any) -> AgentConfig:
    """Read and check a config file; ``overrides`` are dotted keys (``ocpp.csms_url``)."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, key = dotted.split(".", 1)
        raw.setdefault(section, {})[key] = value
    config = _build(AgentConfig, raw, "")
    _check_semantics(config)
    return config


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'file'}: expected a table, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            raise ConfigError(f"{_join(where, key)}: unknown key (known: {', '.join(sorted(names))})")
    values = {}
    for f in dataclasses.fields(cls):
        key = _join(where, f.name)
        if f.name in raw:
            values[f.name] = _convert(hints[f.name], raw[f.name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: missing (required)")
    return cls(**values)


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, key)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{key}: {value!r} is not one of {choices}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_convert(args[0], item, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"{key}: unsupported type {tp!r} in the config schema")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_semantics(config: AgentConfig) -> None:
    cp_id = config.charge_point.id
    if not cp_id or len(cp_id) > 48 or any(c in cp_id for c in "/?#% "):
        raise ConfigError("charge_point.id: must be 1-48 characters without '/', '?', '#', '%' or spaces")
    url = urlsplit(config.ocpp.csms_url)
    if url.scheme not in ("ws", "wss") or not url.hostname:
        raise ConfigError(f"ocpp.csms_url: {config.ocpp.csms_url!r} is not a ws:// or wss:// URL")
    if url.scheme == "ws" and not config.ocpp.allow_unencrypted and not _is_loopback(url.hostname):
        raise ConfigError(
            "ocpp.csms_url: ws:// sends the link unencrypted; use wss:// or set ocpp.allow_unencrypted = true"
        )
    if not 0 < config.ocpp.reconnect_min_s <= config.ocpp.reconnect_max_s:
        raise ConfigError("ocpp.reconnect_min_s: must be > 0 and <= ocpp.reconnect_max_s")
    if config.ocpp.response_timeout_s <= 0:
        raise ConfigError("ocpp.response_timeout_s: must be > 0")
    if not config.firmware.installer.strip():
        raise ConfigError("firmware.installer: must name a command")
    if config.firmware.install_timeout_s <= 0:
        raise ConfigError("firmware.install_timeout_s: must be > 0")
    bus_names = [b.name for b in config.buses]
    for i, bus in enumerate(config.buses):
        if bus_names.count(bus.name) > 1:
            raise ConfigError(f"buses[{i}].name: {bus.name!r} is used twice")
        if bus.kind == "rtu" and not bus.device:
            raise ConfigError(f"buses[{i}].device: required for an rtu bus")
        if bus.kind == "tcp" and not bus.host:
            raise ConfigError(f"buses[{i}].host: required for a tcp bus")
        if not 0 < bus.port < 65536:
            raise ConfigError(f"buses[{i}].port: {bus.port} is not a TCP port")
        if bus.timeout_s <= 0:
            raise ConfigError(f"buses[{i}].timeout_s: must be > 0")
    if not config.connectors:
        raise ConfigError("connectors: at least one [[connectors]] table is required")
    ids = [c.id for c in config.connectors]
    if sorted(ids) != list(range(1, len(ids) + 1)):
        raise ConfigError(f"connectors: ids must be 1..{len(ids)} (OCPP numbers connectors from 1), got {ids}")
    for i, conn in enumerate(config.connectors):
        where = f"connectors[{i}]"
        if not 6 <= conn.max_current_a <= 80:
            raise ConfigError(f"{where}.max_current_a: {conn.max_current_a} is outside 6-80 A (IEC 61851-1)")
        if conn.poll_interval_s <= 0:
            raise ConfigError(f"{where}.poll_interval_s: must be > 0")
        for part in ("board", "meter"):
            device = getattr(conn, part)
            if device is None:
                continue
            if device.bus not in bus_names:
                raise ConfigError(f"{where}.{part}.bus: no bus named {device.bus!r} (have: {', '.join(bus_names)})")
            if not 1 <= device.unit <= 247:
                raise ConfigError(f"{where}.{part}.unit: {device.unit} is outside 1-247")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
