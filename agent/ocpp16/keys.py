"""OCPP 1.6 configuration keys (§9.1 Core, §9.4 Remote Trigger) over the agent's settings.

Each key has a type (§9: boolean, integer, CSL), a read-only flag and a range; a
ChangeConfiguration with a bad value is Rejected, an unknown key NotSupported,
a read-only key Rejected (§5.3).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agent.backend.services import Limits, SettingsPort

CHARGING_LIMITS = Limits()  # what the station's charging limits hold to (agent/core/smart_charging.py)

MEASURANDS = frozenset(
    {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Current.Offered",
        "Voltage",
        "Temperature",
        "SoC",
    }
)
FEATURE_PROFILES = "Core,RemoteTrigger,LocalAuthListManagement,SmartCharging,FirmwareManagement,Reservation"
# §9.5.1: reservations of connector 0 ("any connector") are supported (agent/station/reservations.py).
RESERVE_CONNECTOR_ZERO_SUPPORTED = True
GET_CONFIGURATION_MAX_KEYS = 64


class Kind(enum.Enum):
    BOOL = "boolean"
    INT = "integer"
    CSL = "comma separated list"


class ChangeResult(enum.Enum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


@dataclass(frozen=True)
class Key:
    name: str
    kind: Kind
    setting: str | None = None  # the agent setting behind it; None: a fixed value
    fixed: Callable[[], Any] | None = None
    minimum: int = 0
    maximum: int = 2**31 - 1
    allowed: frozenset[str] | None = None  # CSL items allowed
    max_items: int = 10
    readonly_setting: bool = False  # shown from a setting, but not for the backend to change

    @property
    def readonly(self) -> bool:
        return self.setting is None or self.readonly_setting


def core_keys(number_of_connectors: int) -> dict[str, Key]:
    keys = [
        Key("AllowOfflineTxForUnknownId", Kind.BOOL, "allow_offline_tx_for_unknown_id"),
        Key("AuthorizationCacheEnabled", Kind.BOOL, "authorization_cache_enabled"),  # §9.1.2
        Key("AuthorizeRemoteTxRequests", Kind.BOOL, "authorize_remote_tx_requests"),
        Key("ChargeProfileMaxStackLevel", Kind.INT, fixed=lambda: CHARGING_LIMITS.max_stack_level),  # §9.4.1
        Key("ChargingScheduleAllowedChargingRateUnit", Kind.CSL, fixed=lambda: "Current,Power"),  # §9.4.2
        Key("ChargingScheduleMaxPeriods", Kind.INT, fixed=lambda: CHARGING_LIMITS.max_periods),  # §9.4.3
        Key("ClockAlignedDataInterval", Kind.INT, "clock_aligned_interval_s", maximum=86400),
        Key("ConnectionTimeOut", Kind.INT, "connection_timeout_s", minimum=1, maximum=3600),
        Key("ConnectorPhaseRotation", Kind.CSL, "connector_phase_rotation", max_items=number_of_connectors + 1),
        Key("ConnectorPhaseRotationMaxLength", Kind.INT, fixed=lambda: number_of_connectors + 1),
        Key("GetConfigurationMaxKeys", Kind.INT, fixed=lambda: GET_CONFIGURATION_MAX_KEYS),
        Key("HeartbeatInterval", Kind.INT, "heartbeat_interval_s", maximum=86400),
        Key("LightIntensity", Kind.INT, "light_intensity_pct", maximum=100),
        Key("LocalAuthListEnabled", Kind.BOOL, "local_auth_list_enabled"),  # §9.3.1
        Key("LocalAuthListMaxLength", Kind.INT, setting="local_auth_list_max_length", readonly_setting=True),  # §9.3.2
        Key("LocalAuthorizeOffline", Kind.BOOL, "local_authorize_offline"),
        Key("LocalPreAuthorize", Kind.BOOL, "local_pre_authorize"),
        Key("MaxChargingProfilesInstalled", Kind.INT, fixed=lambda: CHARGING_LIMITS.max_profiles),  # §9.4.5
        Key("MeterValuesAlignedData", Kind.CSL, "meter_aligned_data", allowed=MEASURANDS),
        Key("MeterValuesAlignedDataMaxLength", Kind.INT, fixed=lambda: 10),
        Key("MeterValuesSampledData", Kind.CSL, "meter_sampled_data", allowed=MEASURANDS),
        Key("MeterValuesSampledDataMaxLength", Kind.INT, fixed=lambda: 10),
        Key("MeterValueSampleInterval", Kind.INT, "meter_sample_interval_s", maximum=86400),
        Key("MinimumStatusDuration", Kind.INT, "minimum_status_duration_s", maximum=3600),
        Key("NumberOfConnectors", Kind.INT, fixed=lambda: number_of_connectors),
        Key("ReserveConnectorZeroSupported", Kind.BOOL, fixed=lambda: RESERVE_CONNECTOR_ZERO_SUPPORTED),  # §9.5.1
        Key("ResetRetries", Kind.INT, "reset_retries", maximum=10),
        Key("SendLocalListMaxLength", Kind.INT, setting="send_local_list_max_length", readonly_setting=True),  # §9.3.3
        Key("StopTransactionOnEVSideDisconnect", Kind.BOOL, "stop_on_ev_disconnect"),
        Key("StopTransactionOnInvalidId", Kind.BOOL, "stop_on_invalid_id"),
        Key("StopTxnAlignedData", Kind.CSL, "stop_txn_aligned_data", allowed=MEASURANDS),
        Key("StopTxnAlignedDataMaxLength", Kind.INT, fixed=lambda: 10),
        Key("StopTxnSampledData", Kind.CSL, "stop_txn_sampled_data", allowed=MEASURANDS),
        Key("StopTxnSampledDataMaxLength", Kind.INT, fixed=lambda: 10),
        Key("SupportedFeatureProfiles", Kind.CSL, fixed=lambda: FEATURE_PROFILES),
        Key("SupportedFeatureProfilesMaxLength", Kind.INT, fixed=lambda: 6),
        Key("TransactionMessageAttempts", Kind.INT, "transaction_message_attempts", minimum=1, maximum=100),
        Key("TransactionMessageRetryInterval", Kind.INT, "transaction_message_retry_interval_s", maximum=86400),
        Key("UnlockConnectorOnEVSideDisconnect", Kind.BOOL, "unlock_on_ev_disconnect"),
        Key("WebSocketPingInterval", Kind.INT, "websocket_ping_interval_s", maximum=86400),
    ]
    return {k.name: k for k in keys}


class ExtraKeys(Protocol):
    """Keys with behaviour of their own (write-only, raise-only...), kept outside this table."""

    def names(self) -> list[str]: ...

    def entry(self, name: str) -> dict[str, Any]: ...  # the GetConfiguration entry

    def change(self, name: str, value: str) -> ChangeResult: ...


class ConfigurationKeys:
    """GetConfiguration / ChangeConfiguration for one charge point."""

    def __init__(self, settings: SettingsPort, number_of_connectors: int) -> None:
        self._settings = settings
        self._keys = core_keys(number_of_connectors)
        # Keys another module keeps (e.g. agent/ocpp16/security_keys.py), by name.
        self._extra: dict[str, ExtraKeys] = {}

    def add(self, extra: ExtraKeys) -> None:
        self._extra.update(dict.fromkeys(extra.names(), extra))

    def names(self) -> list[str]:
        return [*self._keys, *self._extra]

    def get(self, names: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        """§5.8: (configurationKey entries, unknownKey names)."""
        known, unknown = [], []
        for name in names if names else self.names():
            key = self._keys.get(name)
            if name in self._extra:
                known.append(self._extra[name].entry(name))
                continue
            if key is None:
                unknown.append(name)
                continue
            known.append({"key": name, "readonly": key.readonly, "value": self._render(key)})
        return known, unknown

    def change(self, name: str, value: str) -> ChangeResult:
        if name in self._extra:
            return self._extra[name].change(name, value)
        if name.partition(",")[0] in self._extra:  # "DefaultPriceText,<language>" (agent/ocpp16/pricing_keys.py)
            return self._extra[name.partition(",")[0]].change(name, value)
        key = self._keys.get(name)
        if key is None:
            return ChangeResult.NOT_SUPPORTED
        if key.readonly:
            return ChangeResult.REJECTED
        try:
            parsed = _parse(key, value)
        except ValueError:
            return ChangeResult.REJECTED
        self._settings.set(key.setting, parsed)
        return ChangeResult.ACCEPTED

    def _render(self, key: Key) -> str:
        value = key.fixed() if key.fixed else self._settings[key.setting]
        if key.kind is Kind.BOOL:
            return "true" if value else "false"
        if key.kind is Kind.CSL and isinstance(value, list):
            return ",".join(value)
        return str(value)


def _parse(key: Key, text: str) -> Any:
    text = text.strip()
    if key.kind is Kind.BOOL:
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if key.kind is Kind.INT:
        if not text.lstrip("-").isdigit():
            raise ValueError(text)
        number = int(text)
        if not key.minimum <= number <= key.maximum:
            raise ValueError(text)
        return number
    items = [item.strip() for item in text.split(",") if item.strip()]
    if len(items) > key.max_items:
        raise ValueError(text)
    if key.allowed is not None:
        # A measurand may carry a phase or location suffix in some backends; only the name is checked.
        for item in items:
            if item not in key.allowed:
                raise ValueError(item)
    return items


class KeysError(ValueError):
    """A key of the configuration file's ``[ocpp.keys]`` that cannot be used; the message
    names it (the composition root reports it as a configuration error)."""


def initial_settings(values: dict[str, Any], number_of_connectors: int) -> dict[str, Any]:
    """Config file ``[ocpp.keys]`` (OCPP key names) → agent settings; errors name the key."""
    keys = core_keys(number_of_connectors)
    settings: dict[str, Any] = {}
    for name, value in values.items():
        key = keys.get(name)
        if key is None:
            raise KeysError(f"ocpp.keys.{name}: not a configuration key this agent supports")
        if key.readonly:
            raise KeysError(f"ocpp.keys.{name}: read-only, it cannot be set")
        text = ",".join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
        try:
            settings[key.setting] = _parse(key, text)
        except ValueError:
            raise KeysError(f"ocpp.keys.{name}: {value!r} is not a valid {key.kind.value}") from None
    return settings
