"""Commissioning: the configuration file as a form, checked, shown as a diff, applied.

- The form holds what an installer sets on site: the charge point id, the backend URL, the
  security profile and its files, the AuthorizationKey (write-only: never read back, only
  whether one is set), the buses, the connectors with their board and meter drivers and
  addresses, and the card reader. Its keys are the config file's own (``ocpp.csms_url``,
  ``connectors[0].board.unit``), so an error of check-config names the form field.
- ``propose`` merges a form into the file's TOML with tomlkit, which keeps the file's
  comments, order and every key the form does not show (``[ocpp.keys]``, GPIO, displays,
  ``[service_page]``...); only what changed is written. The result is checked exactly as
  ``evse-agent check-config`` checks a file (``load_config`` then ``config_check.check``).
- ``apply`` writes the new file atomically in place of the one the agent was started with,
  keeping the one before as ``<name>.previous``; ``restore`` swaps the two back. Both refuse
  when the file changed after the diff was shown (its SHA-256 is part of the proposal).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import tempfile
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomlkit
from tomlkit.items import AoT

from agent.app.config_check import check
from agent.app.config import (
    AgentConfig,
    BusSection,
    CardReaderSection,
    ChargePointSection,
    ConfigError,
    ConnectorSection,
    OcppSection,
    load_config,
)
from drivers import registry
from drivers.registry import Kind

PREVIOUS_SUFFIX = ".previous"
KEY_FIELD = "authorization_key"  # ocpp.authorization_key: write-only, kept in its own 0600 file
_SECRET_LINE = re.compile(r"^([ +\-]\s*[A-Za-z0-9_]*(?:password|passwd|secret|token|authorization_?key|private_?key)"
                          r"[A-Za-z0-9_]*\s*=\s*).+$", re.IGNORECASE)

# The keys of each section the form edits; the rest of the file stays as it is.
CHARGE_POINT_KEYS = ("id", "vendor", "model", "serial_number")
OCPP_KEYS = ("csms_url", "security_profile", "allow_unencrypted", "ca_bundle", "client_cert", "client_key")
BUS_KEYS = tuple(f.name for f in dataclasses.fields(BusSection))
CONNECTOR_KEYS = ("id", "max_current_a", "phases")


class ConfigConflict(Exception):
    """The file changed since the proposal was made: check again."""


@dataclass(frozen=True)
class Proposal:
    """A form merged into the file: the text to write, how it differs, and whether it passes."""

    old_text: str
    new_text: str
    old_digest: str
    new_digest: str
    diff: list[str]
    error: str | None  # check-config's message, naming the key
    error_key: str | None  # the key it names ("ocpp.csms_url"), for the form
    authorization_key: str | None  # a new AuthorizationKey to store (never shown)
    config: AgentConfig | None

    @property
    def changed(self) -> bool:
        return self.new_text != self.old_text or self.authorization_key is not None

    def summary(self) -> dict[str, Any]:
        return {"ok": self.error is None, "changed": self.changed, "error": self.error, "error_key": self.error_key,
                "diff": self.diff, "digest": self.new_digest, "base": self.old_digest}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- the form's fields, from the config's dataclasses ------------------------------------------


def describe(tp: Any) -> dict[str, Any] | None:
    """A config field's type as the form draws it; None for what the form does not edit."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        found = describe(inner[0]) if len(inner) == 1 else None
        return {**found, "optional": True} if found else None
    if origin is Literal:
        return {"type": "choice", "choices": list(args)}
    for python, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str")):
        if tp is python:
            return {"type": name}
    return None


def fields_of(cls: type, keys: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if (keys is not None and f.name not in keys) or f.name in ("driver", "options"):
            continue
        kind = describe(hints[f.name])
        if kind is None:
            continue
        default: Any = None
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append({"key": f.name, **kind, "default": default,
                    "required": f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING})
    if keys is not None:
        out.sort(key=lambda field: keys.index(field["key"]))
    return out


def driver_fields(kind: Kind) -> dict[str, dict[str, Any]]:
    """Every driver of ``kind``: its summary and its options as fields."""
    out = {}
    for name in registry.names(kind):
        spec = registry.spec(name)
        out[name] = {"summary": spec.summary, "fields": fields_of(spec.options)}
    return out


def form_schema() -> dict[str, Any]:
    return {
        "charge_point": fields_of(ChargePointSection, CHARGE_POINT_KEYS),
        "ocpp": fields_of(OcppSection, OCPP_KEYS),
        "bus": fields_of(BusSection, BUS_KEYS),
        "connector": fields_of(ConnectorSection, CONNECTOR_KEYS),
        "card_reader": fields_of(CardReaderSection),
        "drivers": {"board": driver_fields(Kind.BOARD), "meter": driver_fields(Kind.METER),
                    "card_reader": driver_fields(Kind.CARD_READER)},
    }


# ---- the form's values, from a config ---------------------------------------------------------


def _device(section: Any) -> dict[str, Any] | None:
    if section is None:
        return None
    values = {"driver": section.driver}
    if section.options is not None:
        values.update(dataclasses.asdict(section.options))
    return values


def form_values(config: AgentConfig, key_set: bool) -> dict[str, Any]:
    """What the form shows for ``config``; the AuthorizationKey only as set or not."""
    ocpp = {key: getattr(config.ocpp, key) for key in OCPP_KEYS}
    reader = _device(config.card_reader) or {"driver": "none"}
    reader["match_reversed"] = config.card_reader.match_reversed
    return {
        "charge_point": {key: getattr(config.charge_point, key) for key in CHARGE_POINT_KEYS},
        "ocpp": {**ocpp, KEY_FIELD: "", "authorization_key_set": key_set},
        "buses": [dataclasses.asdict(bus) for bus in config.buses],
        "connectors": [
            {**{key: getattr(c, key) for key in CONNECTOR_KEYS}, "board": _device(c.board),
             "meter": _device(c.meter) or {"driver": "none"}}
            for c in config.connectors
        ],
        "card_reader": reader,
    }


# ---- merging a form into the file ---------------------------------------------------------------


class FormError(ValueError):
    """A form that is not even shaped like one (a key not a string, a list not a list)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def _defaults(cls: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as the config reads them: 16 and 16.0 are, true and 1 are not."""
    return a == b and isinstance(a, bool) == isinstance(b, bool) and isinstance(a, str) == isinstance(b, str)


def _set(table: Any, key: str, value: Any, default: Any = dataclasses.MISSING) -> None:
    """Set ``key`` when the value differs from what the table means now (its value, or the
    default when absent); an absent key whose new value is the default stays absent."""
    if key in table:
        if not _same(_plain(table[key]), value):
            table[key] = value
    elif default is dataclasses.MISSING or not _same(default, value):
        table[key] = value


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _table(parent: Any, key: str) -> Any:
    if key not in parent:
        parent[key] = tomlkit.table()
    return parent[key]


def _section(doc: Any, key: str, form: Any, keys: tuple[str, ...], cls: type, where: str) -> None:
    if not isinstance(form, dict):
        raise FormError(where, "expected a table")
    defaults = _defaults(cls)
    table = None
    for name in keys:
        if name not in form:
            continue
        if table is None:
            table = _table(doc, key)
        _set(table, name, form[name], defaults.get(name, dataclasses.MISSING))


def _device_table(parent: Any, key: str, form: Any, where: str, own: dict[str, Any], none_means_absent: bool) -> None:
    """A board / meter / card reader table: ``driver`` and that driver's options; keys of
    another driver are removed when the driver changes."""
    if not isinstance(form, dict) or not isinstance(form.get("driver"), str):
        raise FormError(f"{where}.driver", "expected a driver name")
    name = form["driver"]
    if name == "none" and none_means_absent:
        if key in parent:
            del parent[key]
        return
    table = _table(parent, key)
    old_name = _plain(table.get("driver", own.get("driver", "")))
    _set(table, "driver", name, own.get("driver", dataclasses.MISSING))
    if name != "none" and name not in registry.DRIVERS:
        return  # check-config names it
    options = {} if name == "none" else {f.name: f.default for f in dataclasses.fields(registry.spec(name).options)}
    for field_name, default in {**options, **own}.items():
        if field_name != "driver" and field_name in form:
            _set(table, field_name, form[field_name], default)
    if name != old_name:
        for stale in [k for k in table if k not in set(options) | set(own) | {"driver"}]:
            del table[stale]


def _array(doc: Any, key: str, items: Any, where: str) -> AoT | None:
    if not isinstance(items, list):
        raise FormError(where, "expected a list")
    if key in doc and not isinstance(doc[key], AoT):
        raise FormError(where, f"[[{key}]] is written in a form the page cannot edit (an inline array)")
    if key not in doc:
        if not items:
            return None
        doc[key] = tomlkit.aot()
    aot = doc[key]
    while len(aot) > len(items):
        del aot[len(aot) - 1]
    while len(aot) < len(items):
        aot.append(tomlkit.table())
    return aot


def _unchanged(form: dict[str, Any], current: dict[str, Any] | None) -> set[str]:
    """The form's sections that say what the file says already: left alone, so a file whose
    tables tomlkit would re-order on a change (a sub-table written after other tables) keeps
    its text where nothing changed."""
    if current is None:
        return set()
    same = set()
    for key, keys in (("charge_point", CHARGE_POINT_KEYS), ("ocpp", OCPP_KEYS)):
        if isinstance(form.get(key), dict) and all(
                _same(form[key].get(k), current[key].get(k)) for k in keys if k in form[key]):
            same.add(key)
    for key in ("buses", "connectors", "card_reader"):
        if key in form and form[key] == current.get(key):
            same.add(key)
    return same


def merge(text: str, form: dict[str, Any], current: dict[str, Any] | None = None) -> str:
    """The file ``text`` with the form's values in it (raises FormError); ``current``: the
    form of the file as it is (its unchanged sections are not touched)."""
    doc = tomlkit.parse(text)
    form = {k: v for k, v in form.items() if k not in _unchanged(form, current)}
    if "charge_point" in form:
        _section(doc, "charge_point", form["charge_point"], CHARGE_POINT_KEYS, ChargePointSection, "charge_point")
    if "ocpp" in form:
        _section(doc, "ocpp", form["ocpp"], OCPP_KEYS, OcppSection, "ocpp")
    if "buses" in form:
        aot = _array(doc, "buses", form["buses"], "buses")
        bus_defaults = _defaults(BusSection)
        for i, bus in enumerate(form["buses"]):
            if not isinstance(bus, dict):
                raise FormError(f"buses[{i}]", "expected a table")
            for name in BUS_KEYS:
                if name in bus:
                    _set(aot[i], name, bus[name], bus_defaults.get(name, dataclasses.MISSING))
    if "connectors" in form:
        aot = _array(doc, "connectors", form["connectors"], "connectors")
        connector_defaults = _defaults(ConnectorSection)
        for i, conn in enumerate(form["connectors"]):
            where = f"connectors[{i}]"
            if not isinstance(conn, dict):
                raise FormError(where, "expected a table")
            for name in CONNECTOR_KEYS:
                if name in conn:
                    _set(aot[i], name, conn[name], connector_defaults.get(name, dataclasses.MISSING))
            if "board" in conn:
                _device_table(aot[i], "board", conn["board"], f"{where}.board", {}, none_means_absent=False)
            if "meter" in conn:
                _device_table(aot[i], "meter", conn["meter"], f"{where}.meter", {}, none_means_absent=True)
    if "card_reader" in form:
        own = {"driver": "none", "match_reversed": False}
        _device_table(doc, "card_reader", form["card_reader"], "card_reader", own, none_means_absent=False)
    return tomlkit.dumps(doc)


# ---- checking, as check-config does ---------------------------------------------------------------


def check_text(text: str) -> AgentConfig:
    """``evse-agent check-config`` on ``text`` (raises ConfigError)."""
    with tempfile.TemporaryDirectory(prefix="evse-agent-check-") as directory:
        path = Path(directory) / "agent.toml"
        path.write_text(text, encoding="utf-8")
        try:
            config = load_config(path)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(f"{path}: ", "")) from None
        check(config)
        return config


def error_key(message: str) -> str | None:
    """The key a ConfigError names at its start (``connectors[0].board.unit: ...``)."""
    match = re.match(r"^([A-Za-z0-9_.\[\]]+)(?:, [A-Za-z0-9_.\[\]]+)*: ", message)
    return match.group(1) if match else None


def check_authorization_key(text: str) -> str | None:
    from agent.security.link_security import authorization_key_bytes

    try:
        authorization_key_bytes(text)
    except ValueError as exc:
        return f"ocpp.{KEY_FIELD}: {exc}"
    return None


def redacted_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=2)
    return [_SECRET_LINE.sub(r"\1***", line) for line in lines]


def propose(path: Path, form: dict[str, Any]) -> Proposal:
    old = path.read_text(encoding="utf-8")
    key = None
    ocpp = form.get("ocpp")
    if isinstance(ocpp, dict):
        key = (ocpp.get(KEY_FIELD) or "").strip() or None
    try:
        current = form_values(check_text(old), False)
    except ConfigError:
        current = None  # a file edited by hand since: every section is merged
    try:
        new = merge(old, form, current)
    except FormError as exc:
        return Proposal(old, old, digest(old), digest(old), [], str(exc), exc.key, None, None)
    diff = redacted_diff(old, new, f"{path.name} (now)", f"{path.name} (new)")
    if key is not None:
        diff.append("  AuthorizationKey: a new one will be stored (not shown)")
    error, config = None, None
    try:
        config = check_text(new)
    except ConfigError as exc:
        error = str(exc)
    if error is None and key is not None:
        error = check_authorization_key(key)
    return Proposal(old, new, digest(old), digest(new), diff, error, error_key(error) if error else None, key, config)


def propose_restore(path: Path) -> Proposal:
    """The previous file back in place of this one."""
    previous = path.with_name(path.name + PREVIOUS_SUFFIX)
    old = path.read_text(encoding="utf-8")
    try:
        new = previous.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Proposal(old, old, digest(old), digest(old), [], "there is no previous configuration to restore",
                        None, None, None)
    diff = redacted_diff(old, new, f"{path.name} (now)", f"{previous.name}")
    error, config = None, None
    try:
        config = check_text(new)
    except ConfigError as exc:
        error = str(exc)
    return Proposal(old, new, digest(old), digest(new), diff, error, error_key(error) if error else None, None, config)


# ---- writing ------------------------------------------------------------------------------------


def _write_atomically(path: Path, text: str, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # whatever the umask
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def apply(path: Path, proposal: Proposal, expected_digest: str) -> None:
    """Write ``proposal`` in place of ``path`` (the old file kept as ``.previous``); raises
    ConfigConflict when the file or the proposal is not what was shown, ConfigError when it
    does not pass."""
    if proposal.error is not None:
        raise ConfigError(proposal.error)
    now = path.read_text(encoding="utf-8")
    if digest(now) != proposal.old_digest or expected_digest != proposal.new_digest:
        raise ConfigConflict("the configuration changed since the difference was shown: check it again")
    mode = os.stat(path).st_mode & 0o777
    _write_atomically(path.with_name(path.name + PREVIOUS_SUFFIX), now, mode)
    _write_atomically(path, proposal.new_text, mode)


def store_authorization_key(config: AgentConfig, key: str) -> Path:
    """The AuthorizationKey where the link reads it (agent/security/link_security.py), 0600;
    the one it replaces kept beside it (``.previous``)."""
    from agent.security.secret_files import write_secret

    path = Path(config.ocpp.authorization_key_file or Path(config.storage.data_dir) / "authorization-key")
    if path.exists():
        write_secret(path.with_name(path.name + PREVIOUS_SUFFIX), path.read_bytes())
    write_secret(path, key.strip().encode())
    return path
