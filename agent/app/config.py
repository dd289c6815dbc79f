"""Agent configuration: a TOML file checked against typed dataclasses.

Every key is declared here with its type; unknown keys and wrong types are errors
that name the key (``ConfigError("connectors[0].board.unit: expected an integer, got 'one'")``),
never silently ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import ipaddress
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from drivers import registry
from drivers.registry import Kind, OptionError

from agent.core.connector_types import CONNECTOR_TYPES

log = logging.getLogger(__name__)


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
    # The OCPP versions offered to the backend as websocket subprotocols, in order of
    # preference; the backend picks one (agent/backend/link.py). ``evse-agent run
    # --ocpp-version`` offers exactly one.
    versions: list[str] = field(default_factory=lambda: ["ocpp1.6"])
    version: Literal["1.6"] = "1.6"  # older name: read, not used (versions says it)
    # ws:// to anything but loopback sends the link in clear text: only when asked for.
    allow_unencrypted: bool = False
    response_timeout_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 300.0
    # OCPP 1.6 Security Whitepaper profiles (agent/security/link_security.py): 0 none, 1 HTTP Basic over
    # ws://, 2 TLS + HTTP Basic, 3 TLS with a client certificate. The backend may raise it.
    security_profile: Literal[0, 1, 2, 3] = 0
    ca_bundle: str = ""  # PEM CA certificates the backend's TLS certificate must chain to
    client_cert: str = ""  # PEM chain (profile 3)
    client_key: str = ""  # its private key, a 0600 file (profile 3)
    # The AuthorizationKey (hexadecimal) for profiles 1 and 2; "" = <data_dir>/authorization-key.
    authorization_key_file: str = ""
    # InstallCertificate, DeleteCertificate, CertificateSigned and a new AuthorizationKey over a
    # link without TLS (ws://): refused unless true (agent/link_security.py).
    allow_unencrypted_certificate_operations: bool = False
    # AdditionalRootCertificateCheck (Security Whitepaper / OCPP 2.0.1 M05.FR.08-13): one CSMS
    # root at a time, replaced only by a root it signed, the old one kept as a fallback until
    # a connection verified with the new one succeeds (agent/security/link_security.py).
    additional_root_certificate_check: bool = False
    # Initial values of OCPP configuration keys; the backend may change them later
    # (ChangeConfiguration), and those changes persist in the data directory.
    keys: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StorageSection:
    data_dir: str = "/var/lib/evse-agent"
    # Bound of the queue of transaction messages waiting for the backend; past it the
    # oldest periodic MeterValues are dropped (never StartTransaction / StopTransaction).
    max_queued_messages: int = 50_000
    # While storage fails (disk full, read-only), how often to try writing again.
    recheck_interval_s: float = 30.0


@dataclass(frozen=True)
class LogSection:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Also log to this file ("" = stderr only); GetDiagnostics uploads it (agent/maintenance/diagnostics.py).
    file: str = ""


@dataclass(frozen=True)
class FirmwareSection:
    # OCPP 1.6 §5.19: the command that installs a downloaded firmware file; {file} is its path.
    # Exit status 0 = installed (the agent then restarts itself), anything else = failed.
    installer: str = "/usr/local/bin/evse-install-firmware {file}"
    install_timeout_s: float = 1800.0
    # Security Whitepaper L01.FR.20: an unsigned UpdateFirmware is refused (NotSupported) unless
    # the operator allows it here; then it is a security event at every start.
    allow_unsigned: bool = False
    # The firmware trust anchors (ManufacturerRootCertificate): PEM files, or directories whose
    # *.pem files are read. They come from the installation, not from the backend.
    manufacturer_roots: list[str] = field(default_factory=list)
    # Let the backend install / delete ManufacturerRootCertificates too (InstallCertificate,
    # DeleteCertificate); a security event at every start.
    manufacturer_roots_from_backend: bool = False
    # Bounds of a firmware download: its size, the free space it must leave on the data
    # partition, and how long one attempt may take in all.
    max_download_mb: float = 256.0
    keep_free_mb: float = 64.0
    download_timeout_s: float = 3600.0


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


def device(kind: Kind, default: str | None = None, *, none_allowed: bool = False) -> Any:
    """The ``driver`` field of a device section: a driver of ``kind`` (drivers/registry.py),
    whose own options are the section's other keys (kept in ``options``)."""
    metadata = {"device_kind": kind, "none_allowed": none_allowed}
    if default is None:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class DeviceSection:
    """A board or a meter: its driver and that driver's options (drivers/registry.py)."""

    driver: str = device(Kind.BOARD)
    options: Any = None


@dataclass(frozen=True)
class MeterSection(DeviceSection):
    driver: str = device(Kind.METER)


@dataclass(frozen=True)
class PinSection:
    """One GPIO line (BCM number); ``active_high = false`` for a LOW-active relay or contact."""

    pin: int
    active_high: bool = True
    pull_up: bool | None = None  # inputs: true = internal pull-up, false = pull-down; absent = none


@dataclass(frozen=True)
class GpioSection:
    """A connector's GPIO safety I/O (agent/station/safety_io.py); every line is optional."""

    contactor: PinSection | None = None  # main contactor relay, closed only while charging in C/D
    contactor_feedback: PinSection | None = None  # auxiliary contact, active = closed
    feedback_debounce_s: float = 0.25  # Tinkerforge WARP: 250 ms
    rcd: PinSection | None = None  # RCD/RCM trip input, active = tripped
    rcm_test: PinSection | None = None  # RCM self-test output, pulsed at each session start
    rcm_test_pulse_s: float = 0.25
    rcm_test_timeout_s: float = 1.0  # the trip must come within this after the pulse starts
    emergency_stop: PinSection | None = None  # active = pressed
    stop_button: PinSection | None = None  # active = pressed: stops the running session
    lock_direction: PinSection | None = None  # active = towards locked
    lock_motor: PinSection | None = None  # pulsed for a move
    lock_feedback: PinSection | None = None  # active = locked
    lock_pulse_s: float = 1.0  # openWB: 1 s motor pulse
    lock_check_s: float = 0.3  # after the pulse, before the position is judged
    lock_retry_s: float = 5.0  # SmartEVSE: retry every 5 s
    lock_attempts: int = 3  # failed moves in a row before ConnectorLockFailure
    lock_max_moves: int = 10  # openWB: at most 10 moves ...
    lock_window_s: float = 60.0  # ... per 60 s
    led_green: PinSection | None = None
    led_blue: PinSection | None = None
    led_red: PinSection | None = None


@dataclass(frozen=True)
class ConnectorSection:
    id: int
    board: DeviceSection
    meter: MeterSection | None = None
    max_current_a: float = 16.0
    phases: Literal[1, 3] = 3
    poll_interval_s: float = 0.25
    gpio: GpioSection | None = None
    # While current is offered (or the board's relay is closed) the board is read this often,
    # on the hardware thread, whose safety reflex writes 0 A on an RCD trip, unplug or fault
    # (agent/station/board_watch.py); a board's own access spacing (min_interval_s) still applies.
    energized_poll_interval_s: float = 0.03
    # OCPP 2.0.1 §3.21 ConnectorEnumType: "sType2" a socket, "cType2" a fixed cable, ...
    connector_type: str = "sType2"


@dataclass(frozen=True)
class CardReaderSection:
    # "pcsc": through pcscd; "pn532": on the [i2c] bus; their options are the other keys.
    driver: str = device(Kind.CARD_READER, "none", none_allowed=True)
    # Also try the reversed byte order against the local list / cache (agent/station/card_ids.py).
    match_reversed: bool = False
    options: Any = None


@dataclass(frozen=True)
class I2cSection:
    """The I²C bus of the display, the temperature sensor and a PN532: one of the two."""

    device: str = ""  # a kernel adapter: "/dev/i2c-1" on a Pi
    sim: str = ""  # the simulator's bus: "127.0.0.1:5021" (drivers/bus/i2c.py protocol)
    timeout_s: float = 0.5  # sim only


@dataclass(frozen=True)
class DisplaySection:
    """A display showing one connector (agent/ui/displays.py); ``driver`` ssd1306."""

    driver: str = device(Kind.DISPLAY, "ssd1306")
    connector: int = 1
    # The QR code shown while the connector is free: {charge_point_id} and {connector_id}
    # are filled in; "" = no QR code.
    qr_url: str = ""
    refresh_s: float = 1.0
    options: Any = None


@dataclass(frozen=True)
class TemperatureSection:
    """The station's temperature sensor (agent/station/thermal.py): ``driver`` tmp102 or lm75
    (``kind``, its older name, is read too)."""

    driver: str = device(Kind.TEMPERATURE, "none", none_allowed=True)
    derate_above_c: float = 60.0
    stop_above_c: float = 75.0
    hysteresis_c: float = 5.0
    interval_s: float = 1.0
    options: Any = None


@dataclass(frozen=True)
class GpioFactorySection:
    """Which gpiozero pin factory drives ``[connectors.gpio]``: "default" (lgpio on a Pi) or
    "pigpio" (a pigpio daemon at host:port: a real one, or ``evse-sim``'s)."""

    factory: Literal["default", "pigpio"] = "default"
    host: str = "localhost"
    port: int = 8888


@dataclass(frozen=True)
class EvDriverSection:
    """What the driver reads: price, cost and messages (agent/ui/notes.py, agent/core/pricing.py)."""

    language: str = "en"  # Language (RFC 5646); the backend may change it
    supported_languages: list[str] = field(default_factory=lambda: ["en"])  # SupportedLanguages
    currency_format: str = "{amount} €"  # how a cost is printed: "{amount} €", "${amount}"
    decimals: int = 2  # NumberOfDecimalsForCostValues until the backend sets it
    default_price_text: str = ""  # the DefaultPrice priceText until the backend sets one
    idle_text: str = ""  # shown on a free connector when nothing else is
    final_cost_s: float = 120.0  # a final cost stays up this long once the EV has left


@dataclass(frozen=True)
class FreeVendSection:
    """Plug in and charge with this idTag, no card (agent/core/session.py, Session.free_vend_id_tag); "" = off."""

    id_tag: str = ""


@dataclass(frozen=True)
class ServicePageSection:
    """The service page for installers and support (agent/service): HTTPS inside the agent,
    off unless ``listen`` is set. Passwords: ``evse-agent service-password``."""

    listen: str = ""  # "0.0.0.0:8443", "[::]:8443", "192.168.1.20:8443"; "" = off
    # The operator's own certificate (PEM chain) and key; "" = one made on the first start
    # (<data_dir>/service-page/cert.pem).
    cert: str = ""
    key: str = ""
    session_lifetime_s: float = 3600.0  # a login lasts this long, whatever is done meanwhile


@dataclass(frozen=True)
class TestingSection:
    """For tests and benchmarks only (agent/app/testing_hooks.py): absent on a charger."""

    # > 0: SIGUSR2 blocks the agent's event loop this long (a busy computation, as a backend's
    # heavy request would), to show that the safety reflex does not wait for it.
    loop_stall_s: float = 0.0


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
    gpio: GpioFactorySection = field(default_factory=GpioFactorySection)
    i2c: I2cSection = field(default_factory=I2cSection)
    displays: list[DisplaySection] = field(default_factory=list)
    temperature: TemperatureSection = field(default_factory=TemperatureSection)
    ev_driver: EvDriverSection = field(default_factory=EvDriverSection)
    free_vend: FreeVendSection = field(default_factory=FreeVendSection)
    service_page: ServicePageSection = field(default_factory=ServicePageSection)
    testing: TestingSection = field(default_factory=TestingSection)


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
    _rename_old_sections(raw)
    config = _build(AgentConfig, raw, "")
    _check_semantics(config)
    return config


# Sections an older release named otherwise: read under the new name.
OLD_SECTION_NAMES = {"driver": "ev_driver"}  # [driver] read like a device's; it is the EV driver's


def _rename_old_sections(raw: dict[str, Any]) -> None:
    for old, new in OLD_SECTION_NAMES.items():
        if old in raw:
            if new in raw:
                raise ConfigError(f"{old}: the older name of [{new}]; give only [{new}]")
            log.warning("config: [%s] is now called [%s]; read as [%s]", old, new, new)
            raw[new] = raw.pop(old)


def _build(cls: type, raw: Any, where: str, also_known: frozenset[str] = frozenset()) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'file'}: expected a table, got {raw!r}")
    fields = dataclasses.fields(cls)
    if any("device_kind" in f.metadata for f in fields):
        return _build_device(cls, raw, where)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields}
    for key in raw:
        if key not in names:
            known = ", ".join(sorted(names | also_known))
            raise ConfigError(f"{_join(where, key)}: unknown key (known: {known})")
    values = {}
    for f in fields:
        key = _join(where, f.name)
        if f.name in raw:
            values[f.name] = _convert(hints[f.name], raw[f.name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: missing (required)")
    return cls(**values)


def _build_device(cls: type, raw: dict[str, Any], where: str) -> Any:
    """A device section: the section's own keys, ``driver``, and the rest for the driver's
    options dataclass (drivers/registry.py), each checked strictly."""
    kind_field = next(f for f in dataclasses.fields(cls) if "device_kind" in f.metadata)
    raw = dict(raw)
    driver_key = "driver"
    if cls is TemperatureSection and "kind" in raw and "driver" not in raw:
        driver_key = "kind"  # its older name
        raw["driver"] = raw.pop("kind")
    name = raw.get("driver", kind_field.default)
    if name is dataclasses.MISSING:
        raise ConfigError(f"{_join(where, driver_key)}: missing (required)")
    allowed = registry.names(kind_field.metadata["device_kind"]) + (["none"] if kind_field.metadata["none_allowed"] else [])
    if name not in allowed:
        raise ConfigError(f"{_join(where, driver_key)}: {name!r} is not one of {', '.join(repr(a) for a in allowed)}")
    own_names = {f.name for f in dataclasses.fields(cls)} - {"options"}
    own = {k: v for k, v in raw.items() if k in own_names}
    rest = {k: v for k, v in raw.items() if k not in own_names}
    options = None
    if name != "none":
        options = _build(registry.spec(name).options, rest, where, also_known=frozenset(own_names))
    else:
        # Keys of the kind's drivers are let be while it is off (an example config lists them).
        usable = set(own_names).union(*(
            (f.name for f in dataclasses.fields(registry.spec(n).options)) for n in allowed if n != "none"
        ))
        for key in rest:
            if key not in usable:
                raise ConfigError(f"{_join(where, key)}: unknown key (known: {', '.join(sorted(usable))})")
    plain = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = {k: _convert(hints[k], v, _join(where, k)) for k, v in own.items() if k != "driver"}
    for f in plain.values():
        if f.name not in own and f.name not in ("options", "driver") and f.default is dataclasses.MISSING \
                and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{_join(where, f.name)}: missing (required)")
    return cls(driver=name, options=options, **values)


def check_device(section: Any, where: str, context: registry.Context) -> None:
    """The driver's own checks of its options (drivers/registry.py DriverSpec.check)."""
    if section is None or section.options is None:
        return
    try:
        registry.spec(section.driver).check(section.options, context)
    except OptionError as exc:
        raise ConfigError(f"{where}.{exc.key}: {exc}") from None


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
    # OCPP 1.6 §6.2 BootNotification.req: CiString20 vendor and model, CiString25 serial number.
    for key, limit in (("vendor", 20), ("model", 20), ("serial_number", 25)):
        value = getattr(config.charge_point, key)
        if len(value) > limit:
            raise ConfigError(f"charge_point.{key}: {value!r} is longer than {limit} characters (OCPP BootNotification)")
    check_csms_url(config.ocpp.csms_url, "ocpp.csms_url")
    url = urlsplit(config.ocpp.csms_url)
    _check_security(config)
    _check_versions(config.ocpp.versions)
    _check_i2c(config)
    _check_ev_driver(config)
    _check_service_page(config.service_page)
    if (
        url.scheme == "ws"
        and config.ocpp.security_profile < 2
        and not config.ocpp.allow_unencrypted
        and not _is_loopback(url.hostname)
    ):
        raise ConfigError(
            "ocpp.csms_url: ws:// sends the link unencrypted; use wss:// or set ocpp.allow_unencrypted = true"
        )
    if not 0 < config.ocpp.reconnect_min_s <= config.ocpp.reconnect_max_s:
        raise ConfigError("ocpp.reconnect_min_s: must be > 0 and <= ocpp.reconnect_max_s")
    if config.ocpp.response_timeout_s <= 0:
        raise ConfigError("ocpp.response_timeout_s: must be > 0")
    if not config.firmware.installer.strip():
        raise ConfigError("firmware.installer: must name a command")
    _check_firmware(config)
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
    used_pins: dict[int, str] = {}  # GPIO pins taken so far, across connectors
    bus_kinds = {b.name: b.kind for b in config.buses}
    for i, conn in enumerate(config.connectors):
        where = f"connectors[{i}]"
        if not 6 <= conn.max_current_a <= 80:
            raise ConfigError(f"{where}.max_current_a: {conn.max_current_a} is outside 6-80 A (IEC 61851-1)")
        if conn.connector_type not in CONNECTOR_TYPES:
            raise ConfigError(f"{where}.connector_type: {conn.connector_type!r} is not an OCPP connector type "
                              f"(sType2, cType2, cCCS2, ...)")
        if conn.poll_interval_s <= 0:
            raise ConfigError(f"{where}.poll_interval_s: must be > 0")
        if conn.energized_poll_interval_s <= 0:
            raise ConfigError(f"{where}.energized_poll_interval_s: must be > 0")
        context = registry.Context(bus_kinds=bus_kinds, poll_interval_s=conn.poll_interval_s)
        check_device(conn.board, f"{where}.board", context)
        check_device(conn.meter, f"{where}.meter", context)
        if conn.gpio is not None:
            check_gpio_config(conn.gpio, f"{where}.gpio", used_pins)


def check_csms_url(csms_url: str, key: str) -> None:
    """A ws:// or wss:// URL with no user or password in it (raises ConfigError naming ``key``).

    websockets sends a URL's user and password as HTTP Basic auth, and the URL is logged and
    shown (systemd status, ``evse-agent status``): the password of security profiles 1 and 2
    is the AuthorizationKey, in its own 0600 file (``ocpp.authorization_key_file``)."""
    url = urlsplit(csms_url)
    if "@" in url.netloc:
        raise ConfigError(
            f"{key}: must not contain a user or password (user:password@...); the password is the "
            "AuthorizationKey, kept in ocpp.authorization_key_file (security profile 1 or 2)"
        )
    if url.scheme not in ("ws", "wss") or not url.hostname:
        raise ConfigError(f"{key}: {csms_url!r} is not a ws:// or wss:// URL")


def _check_firmware(config: AgentConfig) -> None:
    firmware = config.firmware
    if firmware.install_timeout_s <= 0:
        raise ConfigError("firmware.install_timeout_s: must be > 0")
    for key in ("max_download_mb", "download_timeout_s"):
        if getattr(firmware, key) <= 0:
            raise ConfigError(f"firmware.{key}: must be > 0")
    if firmware.keep_free_mb < 0:
        raise ConfigError("firmware.keep_free_mb: must be >= 0")
    for i, path in enumerate(firmware.manufacturer_roots):
        if not path.strip():
            raise ConfigError(f"firmware.manufacturer_roots[{i}]: must name a PEM file or a directory")


# The OCPP versions this agent speaks, as websocket subprotocols (agent/app/composition.py
# builds an adapter for each).
SUBPROTOCOLS = ("ocpp1.6", "ocpp2.0.1")


def _check_versions(versions: list[str]) -> None:
    if not versions:
        raise ConfigError("ocpp.versions: at least one OCPP version")
    for i, version in enumerate(versions):
        if version not in SUBPROTOCOLS:
            raise ConfigError(f"ocpp.versions[{i}]: {version!r} is not one of {', '.join(map(repr, SUBPROTOCOLS))}")
    if len(set(versions)) != len(versions):
        raise ConfigError("ocpp.versions: a version is named twice")


def _check_security(config: AgentConfig) -> None:
    ocpp = config.ocpp
    profile = ocpp.security_profile
    if profile == 1 and not ocpp.allow_unencrypted:
        raise ConfigError(
            "ocpp.security_profile: 1 sends the link unencrypted; set ocpp.allow_unencrypted = true or use 2 or 3"
        )
    if profile in (1, 2) and ":" in config.charge_point.id:
        raise ConfigError("charge_point.id: must not contain ':' with HTTP Basic authentication (RFC 7617)")
    if profile >= 2 and not ocpp.ca_bundle:
        raise ConfigError(f"ocpp.ca_bundle: security profile {profile} verifies the backend against it: required")
    if bool(ocpp.client_cert) != bool(ocpp.client_key):
        raise ConfigError("ocpp.client_cert, ocpp.client_key: give both or neither")
    if profile == 3 and not ocpp.client_cert:
        raise ConfigError("ocpp.client_cert: security profile 3 authenticates with it: required (with ocpp.client_key)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_i2c(config: AgentConfig) -> None:
    """The I²C devices: a bus named once, addresses 0x03-0x77 used once, sane thresholds."""
    devices = [(f"displays[{i}]", d) for i, d in enumerate(config.displays)]
    devices += [("temperature", config.temperature), ("card_reader", config.card_reader)]
    context = registry.Context()
    users = []
    for where, section in devices:
        check_device(section, where, context)
        if isinstance(section.options, registry.I2cOptions):
            users.append((f"{where}.address", section.options.address))
    bus = config.i2c
    if bus.device and bus.sim:
        raise ConfigError("i2c: name either device or sim, not both")
    if users and not (bus.device or bus.sim):
        raise ConfigError(f"i2c: {users[0][0].split('.')[0]} is on I2C: set i2c.device (\"/dev/i2c-1\") or i2c.sim")
    host, _, port = bus.sim.rpartition(":")
    if bus.sim and (not host or not port.isdigit() or not 0 < int(port) < 65536):
        raise ConfigError(f"i2c.sim: {bus.sim!r} is not host:port")
    if bus.timeout_s <= 0:
        raise ConfigError("i2c.timeout_s: must be > 0")
    seen: dict[int, str] = {}
    for where, address in users:
        if address in seen:
            raise ConfigError(f"{where}: 0x{address:02X} is already {seen[address]}")
        seen[address] = where
    ids = {c.id for c in config.connectors}
    for i, d in enumerate(config.displays):
        if d.connector not in ids:
            raise ConfigError(f"displays[{i}].connector: no connector {d.connector}")
        if d.refresh_s <= 0:
            raise ConfigError(f"displays[{i}].refresh_s: must be > 0")
        try:
            url = d.qr_url.format(charge_point_id=config.charge_point.id, connector_id=d.connector)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"displays[{i}].qr_url: only {{charge_point_id}} and {{connector_id}} may be filled in ({exc})") from None
        if url:
            from agent.ui.screens import qr_matrix

            try:
                qr_matrix(url, d.options.height)
            except ValueError as exc:
                raise ConfigError(f"displays[{i}].qr_url: {exc}") from None
    t = config.temperature
    if t.driver != "none":
        if not t.derate_above_c < t.stop_above_c:
            raise ConfigError("temperature.derate_above_c: must be below temperature.stop_above_c")
        if t.hysteresis_c < 0 or t.interval_s <= 0:
            raise ConfigError("temperature: hysteresis_c must be >= 0 and interval_s > 0")


def _check_ev_driver(config: AgentConfig) -> None:
    """[ev_driver] and [free_vend]: languages, the currency format, the free vend idTag."""
    from agent.core.pricing import PricingError, check_currency_format

    d = config.ev_driver
    if not d.supported_languages or any(not lang.strip() for lang in d.supported_languages):
        raise ConfigError("ev_driver.supported_languages: at least one language code, none empty")
    if d.language.lower() not in {lang.lower() for lang in d.supported_languages}:
        raise ConfigError(f"ev_driver.language: {d.language!r} is not in ev_driver.supported_languages")
    try:
        check_currency_format(d.currency_format)
    except PricingError as exc:
        raise ConfigError(f"ev_driver.currency_format: {exc}") from None
    if not 0 <= d.decimals <= 6:
        raise ConfigError("ev_driver.decimals: must be 0-6")
    if d.final_cost_s < 0:
        raise ConfigError("ev_driver.final_cost_s: must be >= 0")
    if len(config.free_vend.id_tag) > 20:  # OCPP 1.6 IdToken: CiString20
        raise ConfigError(f"free_vend.id_tag: {config.free_vend.id_tag!r} is longer than 20 characters")


SESSION_LIFETIME_S = (5.0, 7 * 86400.0)


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (IPv6 in brackets) as (host, port); ValueError when it is not one."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("not host:port with a port 1-65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)
    elif ":" in host or not host:
        raise ValueError("the host is missing (or an IPv6 address without [ ])")
    return host, int(port)


def _check_service_page(page: ServicePageSection) -> None:
    if page.listen:
        try:
            split_listen(page.listen)
        except ValueError as exc:
            raise ConfigError(f"service_page.listen: {page.listen!r}: {exc} (e.g. \"0.0.0.0:8443\")") from None
    if bool(page.cert) != bool(page.key):
        raise ConfigError("service_page.cert, service_page.key: give both or neither")
    low, high = SESSION_LIFETIME_S
    if not low <= page.session_lifetime_s <= high:
        raise ConfigError(f"service_page.session_lifetime_s: must be {low:g} s to {high:g} s")


def check_gpio_config(section: Any, where: str, used_pins: dict[int, str]) -> None:
    """Raise ConfigError for a ``[connectors.gpio]`` table that cannot work."""
    from agent.station.safety_io import GPIO_PINS, OUTPUTS

    for name in ("contactor", "contactor_feedback", "rcd", "rcm_test", "emergency_stop", "stop_button",
                 "lock_direction", "lock_motor", "lock_feedback", "led_green", "led_blue", "led_red"):
        pin = getattr(section, name)
        if pin is None:
            continue
        key = f"{where}.{name}"
        if pin.pin not in GPIO_PINS:
            raise ConfigError(f"{key}.pin: {pin.pin} is not a GPIO of the 40-pin header (BCM 0-27)")
        if pin.pin in used_pins:
            raise ConfigError(f"{key}.pin: GPIO {pin.pin} is already used by {used_pins[pin.pin]}")
        used_pins[pin.pin] = key
        if pin.pull_up is not None and name in OUTPUTS:
            raise ConfigError(f"{key}.pull_up: {name} is an output; pulls are for inputs")
    pairs = (("contactor_feedback", "contactor"), ("rcm_test", "rcd"), ("lock_direction", "lock_motor"),
             ("lock_motor", "lock_direction"), ("lock_feedback", "lock_motor"))
    for needs, needed in pairs:
        if getattr(section, needs) is not None and getattr(section, needed) is None:
            raise ConfigError(f"{where}.{needs}: needs {where}.{needed}")
    if section.feedback_debounce_s <= 0 or section.lock_pulse_s <= 0 or section.lock_check_s < 0:
        raise ConfigError(f"{where}: feedback_debounce_s and lock_pulse_s must be > 0, lock_check_s >= 0")
    if not 0 < section.rcm_test_pulse_s <= section.rcm_test_timeout_s:
        raise ConfigError(f"{where}.rcm_test_timeout_s: must be >= rcm_test_pulse_s > 0")
    if section.lock_attempts < 1 or section.lock_max_moves < 1 or section.lock_window_s <= 0:
        raise ConfigError(f"{where}: lock_attempts and lock_max_moves must be >= 1, lock_window_s > 0")
