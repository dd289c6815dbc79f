"""Fakes of our own interfaces for the device-model tests, and the official 2.0.1 schemas."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import ocpp.v201
from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case

from agent.ocpp201.device_model import Component, Variable
from agent.ocpp201.settings_map import PROPOSED
from agent.ocpp201.station_model import (
    Capabilities,
    ConnectorDescription,
    EvseDescription,
    StationDescription,
    build_device_model,
)
from agent.persistence.settings import DEFAULTS

SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"


class MemoryStore:
    """KeyValueStore in memory."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        self.data[key] = value


class MemorySettings:
    """SettingsPort in memory: the neutral DEFAULTS and the proposed settings."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = dict(DEFAULTS)
        self.values.update({name: p.default for name, p in PROPOSED.items()})

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def set(self, name: str, value: Any) -> None:
        if name not in self.values:
            raise KeyError(name)
        self.values[name] = value


class LiveTable:
    """LiveValues from a dict keyed by (component name, evse, connector, variable name)."""

    def __init__(self, values: dict[tuple[str, int | None, int | None, str], Any] | None = None) -> None:
        self.values = values or {}
        self.written: list[tuple[Component, Variable, Any]] = []

    def __call__(self, component: Component, variable: Variable) -> Any:
        return self.values.get((component.name, component.evse_id, component.connector_id, variable.name))

    def write(self, component: Component, variable: Variable, value: Any) -> None:
        self.written.append((component, variable, value))


def full_station(**overrides: Any) -> StationDescription:
    """Two EVSEs with every part the agent can drive."""
    evse1 = EvseDescription(1, (ConnectorDescription(1, "sType2", lock=True),), phases=3, max_current_a=16.0,
                            meter=True, contactor=True, contactor_feedback=True, rcd=True, emergency_stop=True,
                            display=True)
    evse2 = EvseDescription(2, (ConnectorDescription(1, "cType2"),), phases=1, max_current_a=32.0)
    fields: dict[str, Any] = {"identity": "CP-0001", "vendor": "evse-agent", "model": "DIY Wallbox",
                              "evses": (evse1, evse2), "serial_number": "SN-42", "firmware_version": "1.4.0",
                              "card_reader": True, "temperature_sensor": True}
    fields.update(overrides)
    return StationDescription(**fields)


def model(station: StationDescription | None = None, *, settings: Any = None, store: Any = None,
          live: LiveTable | None = None, capabilities: Capabilities | None = None, **kwargs: Any):
    live = live if live is not None else LiveTable()
    return build_device_model(station or full_station(), settings if settings is not None else MemorySettings(),
                              store if store is not None else MemoryStore(), live, live.write,
                              capabilities or Capabilities(), **kwargs)


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def assert_valid(name: str, payload: dict[str, Any]) -> None:
    """A snake_case payload, on the wire as the ocpp library sends it, against the official schema."""
    _validator(name).validate(snake_to_camel_case(payload))


def request(name: str, camel: dict[str, Any]) -> dict[str, Any]:
    """A request as a CSMS sends it (checked against its schema) and as the library hands it over."""
    _validator(name).validate(camel)
    return camel_to_snake_case(camel)
