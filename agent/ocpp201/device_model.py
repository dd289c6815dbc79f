"""The OCPP 2.0.1 device model: components, variables, their attributes and characteristics,
where each value comes from, and getting / setting one value with the spec's status.

Pure: no I/O and no event loop. Values live behind four small interfaces the caller passes in:

- ``SettingsPort`` — the agent's neutral settings (``agent/persistence/settings.py`` ``Settings``,
  or ``agent/ocpp201/settings_map.py`` ``LayeredSettings`` while 2.0.1's new settings are not there);
- ``KeyValueStore`` — raw persisted strings (``get`` / ``put``), e.g. the SQLite settings table;
- ``LiveValues`` — ``live(component, variable)``: a value the station knows right now (a
  connector's AvailabilityState, a meter's Problem…), ``None`` when unknown;
- ``Writer`` — ``write(component, variable, value)`` for variables whose change is an action
  (SecurityCtrlr.BasicAuthPassword); raises ``ValueRejected`` to refuse.

Terms (OCPP 2.0.1 Part 1 §4): a *component* (name, optional instance, optional EVSE and
connector) has *variables* (name, optional instance); a variable has up to four *attributes*
(Actual, Target, MinSet, MaxSet), each with a mutability, persistence and constancy (Part 2
§2.50), and one set of *characteristics* (Part 2 §2.51). Names and instances are case-insensitive
(Part 2 §2.16 ComponentType, §2.53 VariableType).

Hooks for monitoring (functional block N): ``subscribe(observer)`` tells the observer every
change of a value as ``ValueChanged``; the station reports live changes with ``live_changed``,
settings changed elsewhere (the 1.6 adapter, the config) with ``setting_changed``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.ocpp201.values import (
    NUMBER_TYPES,
    Characteristics,
    ValueRejected,
    check,
    format_value,
    parse,
)

log = logging.getLogger(__name__)


class AttributeType(str, enum.Enum):
    """Part 2 §3.2 AttributeEnumType."""

    ACTUAL = "Actual"
    TARGET = "Target"
    MIN_SET = "MinSet"
    MAX_SET = "MaxSet"


class Mutability(str, enum.Enum):
    """Part 2 §3.58 MutabilityEnumType."""

    READ_ONLY = "ReadOnly"
    WRITE_ONLY = "WriteOnly"
    READ_WRITE = "ReadWrite"


class GetStatus(str, enum.Enum):
    """Part 2 §3.41 GetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"


class SetStatus(str, enum.Enum):
    """Part 2 §3.79 SetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"
    REBOOT_REQUIRED = "RebootRequired"


# ---- addressing (Part 1 §4.1, §4.2; Part 2 §2.16, §2.53) -------------------------------------


@dataclass(frozen=True)
class Component:
    """A component: ``evse_id`` / ``connector_id`` place it on the EVSE or Connector tier."""

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None

    @property
    def key(self) -> tuple[str, str, int | None, int | None]:
        """Equal for two references to the same component (names are case-insensitive)."""
        return self.name.casefold(), (self.instance or "").casefold(), self.evse_id, self.connector_id

    def to_dict(self) -> dict[str, Any]:
        """ComponentType in the snake_case the ``ocpp`` library hands to and takes from handlers."""
        out: dict[str, Any] = {"name": self.name}
        if self.instance:
            out["instance"] = self.instance
        if self.evse_id is not None:
            evse: dict[str, Any] = {"id": self.evse_id}
            if self.connector_id is not None:
                evse["connector_id"] = self.connector_id
            out["evse"] = evse
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Component:
        evse = data.get("evse") or {}
        return cls(data["name"], data.get("instance") or None, evse.get("id"), evse.get("connector_id"))

    def __str__(self) -> str:
        where = "" if self.evse_id is None else f"@{self.evse_id}" + ("" if self.connector_id is None else f".{self.connector_id}")
        return f"{self.name}{f'[{self.instance}]' if self.instance else ''}{where}"


@dataclass(frozen=True)
class Variable:
    name: str
    instance: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.name.casefold(), (self.instance or "").casefold()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.instance:
            out["instance"] = self.instance
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variable:
        return cls(data["name"], data.get("instance") or None)

    def __str__(self) -> str:
        return f"{self.name}{f'[{self.instance}]' if self.instance else ''}"


# ---- where a value comes from ----------------------------------------------------------------


@dataclass(frozen=True)
class FromSetting:
    """A neutral setting. ``read(setting value, component)`` gives the device-model value and
    ``write(old setting value, new device-model value, component)`` the new setting value, for
    settings whose shape differs (a CSL per connector, a list of ints…); identity when None."""

    name: str
    read: Callable[[Any, Component], Any] | None = None
    write: Callable[[Any, Any, Component], Any] | None = None


@dataclass(frozen=True)
class Stored:
    """A raw string in the key-value store (``default`` until first set)."""

    key: str
    default: Any = None


@dataclass(frozen=True)
class Constant:
    """A value fixed by the hardware, the config or the software."""

    value: Any


@dataclass(frozen=True)
class Live:
    """A value the station knows right now (an Actual value), read through ``LiveValues``."""


@dataclass(frozen=True)
class Delegated:
    """A change that is an action, done through ``Writer``; read through ``LiveValues`` when
    ``readable`` (a WriteOnly variable is never read)."""

    readable: bool = False


Source = FromSetting | Stored | Constant | Live | Delegated


@dataclass(frozen=True)
class Attribute:
    """Part 2 §2.50 VariableAttributeType, with where its value comes from."""

    type: AttributeType = AttributeType.ACTUAL
    mutability: Mutability = Mutability.READ_ONLY
    source: Source = field(default_factory=Live)
    persistent: bool | None = None  # None: from the source (settings, store, constants persist)
    constant: bool | None = None  # None: True for a Constant

    @property
    def is_persistent(self) -> bool:
        if self.persistent is not None:
            return self.persistent
        return isinstance(self.source, (FromSetting, Stored, Constant))

    @property
    def is_constant(self) -> bool:
        return self.constant if self.constant is not None else isinstance(self.source, Constant)

    @property
    def readable(self) -> bool:
        return self.mutability is not Mutability.WRITE_ONLY

    @property
    def writable(self) -> bool:
        return self.mutability is not Mutability.READ_ONLY


@dataclass(frozen=True)
class VariableDef:
    """One variable of one component: what it is, which attributes it has, where each comes from."""

    component: Component
    variable: Variable
    characteristics: Characteristics
    attributes: tuple[Attribute, ...] = (Attribute(),)
    reboot_required: bool = False  # a change takes effect after a reboot: SetVariables says RebootRequired
    check: Callable[[Any], None] | None = None  # a rule beyond the characteristics; raises ValueRejected
    spec: str = ""  # where OCPP 2.0.1 defines it
    required: bool = False  # required by the spec for a station serving this functional block

    def attribute(self, type_: AttributeType) -> Attribute | None:
        return next((a for a in self.attributes if a.type is type_), None)

    @property
    def writable(self) -> bool:
        """Can be set by the operator (ConfigurationInventory, Part 2 B07.FR.07)."""
        return any(a.writable for a in self.attributes)


@dataclass(frozen=True)
class ValueChanged:
    """A value changed (``new`` / ``old`` as on the wire; None for a WriteOnly value)."""

    component: Component
    variable: Variable
    attribute: AttributeType
    old: str | None
    new: str | None
    by_backend: bool


@dataclass(frozen=True)
class GetOutcome:
    status: GetStatus
    value: str | None = None  # only when Accepted (Part 2 B06.FR.06–FR.10)
    reason_code: str | None = None  # Part 2 Appendix 5
    info: str | None = None


@dataclass(frozen=True)
class SetOutcome:
    status: SetStatus
    reason_code: str | None = None
    info: str | None = None


class SettingsPort(Protocol):
    def __getitem__(self, name: str) -> Any: ...

    def set(self, name: str, value: Any) -> None: ...


class KeyValueStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


LiveValues = Callable[[Component, Variable], Any]
Writer = Callable[[Component, Variable, Any], None]
Observer = Callable[[ValueChanged], None]


def _no_live(component: Component, variable: Variable) -> Any:
    return None


def _no_writer(component: Component, variable: Variable, value: Any) -> None:
    raise ValueRejected("InternalError", f"no writer for {component}.{variable}")


class DeviceModel:
    """The registry of every component-variable of the station, and reading / writing them."""

    def __init__(self, settings: SettingsPort, store: KeyValueStore,
                 live: LiveValues | None = None, writer: Writer | None = None) -> None:
        self._settings = settings
        self._store = store
        self._live = live or _no_live
        self._writer = writer or _no_writer
        self._defs: dict[tuple[Any, ...], VariableDef] = {}
        self._components: dict[tuple[Any, ...], Component] = {}
        self._observers: list[Observer] = []
        self._last: dict[tuple[Any, ...], str | None] = {}  # last value seen, for ValueChanged

    # ---- building --------------------------------------------------------------------------

    def add(self, definition: VariableDef) -> None:
        key = (definition.component.key, definition.variable.key)
        if key in self._defs:
            raise ValueError(f"{definition.component}.{definition.variable} defined twice")
        types = [a.type for a in definition.attributes]
        if len(set(types)) != len(types) or not types:
            raise ValueError(f"{definition.component}.{definition.variable}: attribute types {types}")
        self._defs[key] = definition
        self._components.setdefault(definition.component.key, definition.component)

    def extend(self, definitions: Iterable[VariableDef]) -> None:
        for definition in definitions:
            self.add(definition)

    # ---- looking up ------------------------------------------------------------------------

    def definitions(self) -> list[VariableDef]:
        return list(self._defs.values())

    def components(self) -> list[Component]:
        return list(self._components.values())

    def find(self, component: Component, variable: Variable) -> VariableDef | None:
        return self._defs.get((component.key, variable.key))

    def has_component(self, component: Component) -> bool:
        return component.key in self._components

    def variables_of(self, component: Component) -> list[VariableDef]:
        return [d for d in self._defs.values() if d.component.key == component.key]

    def live_variables(self) -> list[tuple[Component, Variable]]:
        """Every (component, variable) the ``LiveValues`` callable must answer."""
        return [(d.component, d.variable) for d in self._defs.values()
                if any(isinstance(a.source, Live) or (isinstance(a.source, Delegated) and a.source.readable)
                       for a in d.attributes)]

    # ---- reading ---------------------------------------------------------------------------

    def value(self, definition: VariableDef, type_: AttributeType = AttributeType.ACTUAL) -> Any:
        """The Python value of one attribute (None: no value); raises KeyError for an attribute
        the variable does not have."""
        attribute = definition.attribute(type_)
        if attribute is None:
            raise KeyError(type_)
        return self._read(definition, attribute)

    def text(self, definition: VariableDef, type_: AttributeType = AttributeType.ACTUAL) -> str | None:
        """An attribute's value on the wire; None for a WriteOnly attribute, "" when unset."""
        attribute = definition.attribute(type_)
        if attribute is None:
            raise KeyError(type_)
        if not attribute.readable:
            return None
        return format_value(self._read(definition, attribute), definition.characteristics)

    def _read(self, definition: VariableDef, attribute: Attribute) -> Any:
        source = attribute.source
        if not attribute.readable:
            return None
        if isinstance(source, Constant):
            return source.value
        if isinstance(source, FromSetting):
            raw = self._settings[source.name]
            return source.read(raw, definition.component) if source.read else raw
        if isinstance(source, Stored):
            raw_text = self._store.get(source.key)
            if raw_text is None or raw_text == "":  # "" is how the 1.6 keys store "none"
                return source.default
            return parse(raw_text, definition.characteristics)
        return self._live(definition.component, definition.variable)  # Live, readable Delegated

    def get(self, component: Component, variable: Variable,
            type_: AttributeType = AttributeType.ACTUAL) -> GetOutcome:
        """Part 2 B06 Get Variables for one GetVariableData."""
        definition = self.find(component, variable)
        if definition is None:
            if not self.has_component(component):
                return GetOutcome(GetStatus.UNKNOWN_COMPONENT)  # B06.FR.06, B06.FR.15
            return GetOutcome(GetStatus.UNKNOWN_VARIABLE)  # B06.FR.07, B06.FR.15
        attribute = definition.attribute(type_)
        if attribute is None:
            return GetOutcome(GetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE)  # B06.FR.08
        if not attribute.readable:
            return GetOutcome(GetStatus.REJECTED, reason_code="WriteOnly",
                              info=f"{variable} is write-only")  # B06.FR.09
        try:
            value = self._read(definition, attribute)
        except Exception as exc:  # noqa: BLE001 - a failing part must not fail the whole GetVariables
            log.warning("reading %s.%s failed: %r", component, variable, exc)
            return GetOutcome(GetStatus.REJECTED, reason_code="InternalError", info=f"cannot read: {exc}"[:512])
        return GetOutcome(GetStatus.ACCEPTED, format_value(value, definition.characteristics))  # B06.FR.10/FR.13

    # ---- writing ---------------------------------------------------------------------------

    def set(self, component: Component, variable: Variable, text: str,
            type_: AttributeType = AttributeType.ACTUAL, *, by_backend: bool = True) -> SetOutcome:
        """Part 2 B05 Set Variables for one SetVariableData: checked, stored, observers told."""
        definition = self.find(component, variable)
        if definition is None:
            if not self.has_component(component):
                return SetOutcome(SetStatus.UNKNOWN_COMPONENT)  # B05.FR.04
            return SetOutcome(SetStatus.UNKNOWN_VARIABLE)  # B05.FR.05
        attribute = definition.attribute(type_)
        if attribute is None:
            return SetOutcome(SetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE)  # B05.FR.06
        if not attribute.writable:
            return SetOutcome(SetStatus.REJECTED, "ReadOnly", f"{variable} is read-only")  # B05.FR.09
        try:
            value = parse(text, definition.characteristics)  # B05.FR.07
            check(value, definition.characteristics)  # B05.FR.08
            self._check_against_other_attributes(definition, type_, value)
            if definition.check is not None:
                definition.check(value)
        except ValueRejected as exc:
            return SetOutcome(SetStatus.REJECTED, exc.reason_code, exc.message[:512])
        old = self.text(definition, type_) if attribute.readable else None
        try:
            self._write(definition, attribute, value)
        except ValueRejected as exc:
            return SetOutcome(SetStatus.REJECTED, exc.reason_code, exc.message[:512])
        except Exception as exc:  # noqa: BLE001 - storage failing: the value is not set, the backend is told
            log.warning("setting %s.%s failed: %r", component, variable, exc)
            return SetOutcome(SetStatus.REJECTED, "InternalError", f"cannot store: {exc}"[:512])
        new = self.text(definition, type_) if attribute.readable else None
        self._changed(definition, type_, old, new, by_backend, always=not attribute.readable)
        if definition.reboot_required and (old != new or not attribute.readable):
            return SetOutcome(SetStatus.REBOOT_REQUIRED)
        return SetOutcome(SetStatus.ACCEPTED)  # B05.FR.10

    def _write(self, definition: VariableDef, attribute: Attribute, value: Any) -> None:
        source = attribute.source
        if isinstance(source, FromSetting):
            if source.write is not None:
                value = source.write(self._settings[source.name], value, definition.component)
            self._settings.set(source.name, value)
        elif isinstance(source, Stored):
            self._store.put(source.key, format_value(value, definition.characteristics))
        elif isinstance(source, Delegated):
            self._writer(definition.component, definition.variable, value)
        else:
            raise ValueRejected("ReadOnly", f"{definition.variable} cannot be set")

    def _check_against_other_attributes(self, definition: VariableDef, type_: AttributeType, value: Any) -> None:
        """Part 1 §4.3: a Target stays within MinSet..MaxSet; MinSet stays at or below MaxSet."""
        if definition.characteristics.data_type not in NUMBER_TYPES or type_ is AttributeType.ACTUAL:
            return
        bounds = {t: self._bound(definition, t) for t in (AttributeType.MIN_SET, AttributeType.MAX_SET)}
        low, high = bounds[AttributeType.MIN_SET], bounds[AttributeType.MAX_SET]
        if type_ is AttributeType.TARGET:
            if low is not None and value < low:
                raise ValueRejected("ValueTooLow", f"the Target is below MinSet {low}")
            if high is not None and value > high:
                raise ValueRejected("ValueTooHigh", f"the Target is above MaxSet {high}")
        elif type_ is AttributeType.MIN_SET and high is not None and value > high:
            raise ValueRejected("ValueTooHigh", f"MinSet is above MaxSet {high}")
        elif type_ is AttributeType.MAX_SET and low is not None and value < low:
            raise ValueRejected("ValueTooLow", f"MaxSet is below MinSet {low}")

    def _bound(self, definition: VariableDef, type_: AttributeType) -> Any:
        attribute = definition.attribute(type_)
        return None if attribute is None or not attribute.readable else self._read(definition, attribute)

    # ---- changes ---------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> None:
        """``observer(ValueChanged)`` on every change of a value (block N monitors hang here)."""
        self._observers.append(observer)

    def setting_changed(self, name: str, value: Any = None) -> None:
        """A neutral setting changed outside the device model (``Settings.on_change`` hook)."""
        for definition in self._defs.values():
            for attribute in definition.attributes:
                if isinstance(attribute.source, FromSetting) and attribute.source.name == name:
                    new = self.text(definition, attribute.type)
                    self._changed(definition, attribute.type, self._last_seen(definition, attribute.type), new, False)

    def live_changed(self, component: Component, variable: Variable, value: Any) -> None:
        """The station saw a live value change (a connector became Occupied, a meter stopped
        answering…): observers hear of it when it differs from the last value seen."""
        definition = self.find(component, variable)
        if definition is None:
            raise KeyError(f"{component}.{variable} is not in the device model")
        new = format_value(value, definition.characteristics)
        self._changed(definition, AttributeType.ACTUAL, self._last_seen(definition, AttributeType.ACTUAL), new, False)

    def _last_seen(self, definition: VariableDef, type_: AttributeType) -> str | None:
        key = (definition.component.key, definition.variable.key, type_)
        return self._last.get(key)

    def _changed(self, definition: VariableDef, type_: AttributeType, old: str | None, new: str | None,
                 by_backend: bool, *, always: bool = False) -> None:
        key = (definition.component.key, definition.variable.key, type_)
        self._last[key] = new
        if old == new and not always:
            return
        event = ValueChanged(definition.component, definition.variable, type_, old, new, by_backend)
        for observer in list(self._observers):
            try:
                observer(event)
            except Exception:  # an observer's fault is its own: the value is set
                log.exception("device model observer failed on %s", event)

