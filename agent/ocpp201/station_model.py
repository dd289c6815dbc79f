"""The device model of this station: every component and variable OCPP 2.0.1 standardises for
what the station has, built from a small description of the station.

Sources: OCPP 2.0.1 Edition 3 Part 2 "Referenced Components and Variables" (cited "§2.x.y",
with Required as there), Part 4 §8 (WebSocket variables), Part 2 Appendix 3 (standardized
components: "App.3.1.x" controllers, "App.3.2.x" physical components) and Appendix 4
(standardized variables), and the errata of 2025-09 ("errata 2.x").

The lead fills ``StationDescription`` from the config and ``Capabilities`` from the modules that
implement each function; ``build_device_model`` returns a ``DeviceModel``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.core.pricing import PricingError, parse_offset
from agent.ocpp201.device_model import (
    Attribute,
    AttributeType,
    Component,
    Constant,
    Delegated,
    DeviceModel,
    FromSetting,
    KeyValueStore,
    Live,
    LiveValues,
    Mutability,
    SettingsPort,
    Source,
    Stored,
    Variable,
    VariableDef,
    Writer,
)
from agent.ocpp201.settings_map import (
    PROPOSED,
    SETTING_MAP,
    phase_rotation_read,
    phase_rotation_write,
)
from agent.ocpp201.values import Characteristics, DataType, ValueRejected
from agent.core.connector_types import CONNECTOR_TYPES

RO, WO, RW = Mutability.READ_ONLY, Mutability.WRITE_ONLY, Mutability.READ_WRITE
AVAILABILITY_STATES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")  # §2.13.2
TX_POINTS = ("EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer")  # §2.6.6; no bay sensor, no DataSigned
# The measurands the agent's meter sampler produces that OCPP 2.0.1 knows (agent/station/meter_sampler.py).
METER_MEASURANDS = ("Current.Import", "Current.Offered", "Energy.Active.Import.Register", "Power.Active.Import", "Voltage")
NO_METER_MEASURANDS = ("Current.Offered",)


@dataclass(frozen=True)
class ConnectorDescription:
    id: int
    connector_type: str = "sType2"  # Part 2 ConnectorEnumType: "s…" a socket, "c…" a fixed cable
    lock: bool = False  # a plug retention lock driven by the agent (GPIO lock motor)

    def __post_init__(self) -> None:
        if self.connector_type not in CONNECTOR_TYPES:
            raise ValueError(f"connector {self.id}: {self.connector_type!r} is not an OCPP 2.0.1 connector type")

    @property
    def fixed_cable(self) -> bool:
        return self.connector_type.startswith("c")


@dataclass(frozen=True)
class EvseDescription:
    id: int
    connectors: tuple[ConnectorDescription, ...] = (ConnectorDescription(1),)
    phases: int = 3
    max_current_a: float = 16.0
    meter: bool = False
    contactor: bool = False  # a GPIO main contactor
    contactor_feedback: bool = False  # with an auxiliary contact read back
    rcd: bool = False  # an RCD/RCM trip input
    emergency_stop: bool = False
    display: bool = False  # a display showing this EVSE


@dataclass(frozen=True)
class StationDescription:
    identity: str  # the charging station id (SecurityCtrlr.Identity)
    vendor: str
    model: str
    evses: tuple[EvseDescription, ...]
    serial_number: str = ""
    firmware_version: str = ""
    card_reader: bool = False
    temperature_sensor: bool = False
    temperature_high_c: float = 60.0  # [temperature] derate_above_c: above it the station derates
    display_chars: tuple[int, int] = (21, 8)  # width, height in characters (SSD1306 128x64, 5x7 font)
    nominal_voltage_v: float = 230.0
    message_timeout_s: int = 30  # [ocpp] response_timeout_s
    free_vend: bool = False  # [free_vend] id_tag set: plug in and charge, idToken type Local

    def __post_init__(self) -> None:
        # Part 1 §7.1/§7.2: EVSEs 1..n and connectors 1..m per EVSE, none skipped.
        if [e.id for e in self.evses] != list(range(1, len(self.evses) + 1)):
            raise ValueError("EVSEs must be numbered 1..n (OCPP 2.0.1 Part 1 §7.1)")
        for evse in self.evses:
            if [c.id for c in evse.connectors] != list(range(1, len(evse.connectors) + 1)):
                raise ValueError(f"EVSE {evse.id}: connectors must be numbered 1..m (Part 1 §7.2)")


@dataclass(frozen=True)
class Capabilities:
    """What the station's modules can do; the defaults are the agent's values today."""

    measurands: tuple[str, ...] | None = None  # None: METER_MEASURANDS with a meter, else Current.Offered
    file_transfer_protocols: tuple[str, ...] = ("FTP", "HTTP", "HTTPS")  # agent/maintenance/transfer.py
    network_slots: tuple[int, ...] = (1, 2)  # B09.FR.06: at least two
    items_per_message: dict[str, int] = field(default_factory=lambda: {
        "GetVariables": 64, "SetVariables": 32, "GetReport": 64,
        "SetVariableMonitoring": 32, "ClearVariableMonitoring": 32})
    bytes_per_message: dict[str, int] = field(default_factory=lambda: {
        "GetVariables": 65536, "SetVariables": 65536, "GetReport": 65536,
        "SetVariableMonitoring": 65536, "ClearVariableMonitoring": 65536, "SendLocalList": 65536})
    configuration_value_size: int = 1000  # SetVariableData.attributeValue schema maximum
    reporting_value_size: int = 2500  # GetVariableResult.attributeValue schema maximum
    certificates_max: int = 10  # agent/security/certificates.py
    max_certificate_chain_size: int = 10000  # CertificateSignedRequest.certificateChain maximum
    charging_profiles_max: int = 20  # agent/core/smart_charging.py Limits
    profile_stack_level: int = 10
    periods_per_schedule: int = 48
    rate_units: tuple[str, ...] = ("A", "W")
    display_messages_max: int = 20  # agent/station/display_messages.py MAX_MESSAGES
    display_formats: tuple[str, ...] = ("ASCII", "UTF8")  # the OLED shows text; no HTML, no URI
    display_priorities: tuple[str, ...] = ("AlwaysFront", "InFront", "NormalCycle")
    id_token_types: tuple[str, ...] | None = None  # None: supported_id_token_types(station)
    reset_evse: bool = True  # an EVSE can be reset on its own
    monitoring: bool = True  # MonitoringCtrlr and supportsMonitoring
    custom_implementations: tuple[str, ...] = ()  # vendorIds of CustomizationCtrlr


def supported_id_token_types(station: StationDescription) -> tuple[str, ...]:
    """AuthCtrlr.SupportedIdTokenTypes (errata 2.63): the IdTokenEnumType of every token the
    station identifies a driver by (agent/core/identity.py): Central, a remote start's; ISO14443,
    a card's UID as the PN532 or PC/SC reader reads it (identity.card), where there is a reader;
    Local, the token free vend makes up (agent/core/session.py), where it is on. The local list
    and the cache hold any type, but only these are ever presented to them. No NoAuthorization:
    no transaction starts without a token."""
    return ("Central",) + (("ISO14443",) if station.card_reader else ()) + (("Local",) if station.free_vend else ())


def build_device_model(
    station: StationDescription,
    settings: SettingsPort,
    store: KeyValueStore,
    live: LiveValues | None = None,
    writer: Writer | None = None,
    capabilities: Capabilities = Capabilities(),
    slot_configured: Callable[[int], bool] = lambda slot: slot == 1,
) -> DeviceModel:
    """The station's device model. ``slot_configured(n)``: network profile slot n holds a valid
    profile (B10.FR.02); the config file's profile is slot 1."""
    model = DeviceModel(settings, store, live, writer)
    builder = _Builder(station, settings, capabilities, slot_configured)
    model.extend(builder.all())
    return model


class _Builder:
    def __init__(self, station: StationDescription, settings: SettingsPort, caps: Capabilities,
                 slot_configured: Callable[[int], bool]) -> None:
        self.station = station
        self.settings = settings
        self.caps = caps
        self.slot_configured = slot_configured
        meter = any(e.meter for e in station.evses)
        self.measurands = caps.measurands or (METER_MEASURANDS if meter else NO_METER_MEASURANDS)
        self.out: list[VariableDef] = []

    def all(self) -> list[VariableDef]:
        self.tiers()
        self.controllers()
        self.physical()
        return self.out

    # ---- helpers -------------------------------------------------------------------------

    def var(self, component: Component, name: str, data_type: DataType, source: Source, *,
            instance: str | None = None, mutability: Mutability = RO, unit: str | None = None,
            min_limit: float | None = None, max_limit: float | None = None,
            values: tuple[str, ...] | None = None, required: bool = False, spec: str = "",
            reboot: bool = False, check: Callable[[Any], None] | None = None,
            extra: tuple[Attribute, ...] = (), persistent: bool | None = None) -> None:
        if values is not None and max_limit is None and data_type in (DataType.MEMBER_LIST, DataType.SEQUENCE_LIST):
            max_limit = len(",".join(values))  # §2.51: maxLimit of a list is the length of its CSV
        # N07.FR.10: a write-only variable is monitored too (its events carry no value).
        monitorable = self.caps.monitoring and not isinstance(source, Constant)
        characteristics = Characteristics(data_type, unit, min_limit, max_limit, values, monitorable)
        actual = Attribute(AttributeType.ACTUAL, mutability, source, persistent)
        self.out.append(VariableDef(component, Variable(name, instance), characteristics, (actual, *extra),
                                    reboot, check, spec, required))

    def setting(self, name: str, **conversions: Any) -> FromSetting:
        if name not in SETTING_MAP and name not in PROPOSED:
            raise KeyError(f"{name} is neither a neutral nor a proposed setting")
        return FromSetting(name, **conversions)

    def measurand_setting(self, name: str) -> FromSetting:
        allowed = self.measurands
        return self.setting(name, read=lambda value, _c: [m for m in value if m in allowed])

    def available(self, component: Component, source: Source | None = None, *, required: bool = False,
                  spec: str = "App.4 Available") -> None:
        self.var(component, "Available", DataType.BOOLEAN, source or Constant(True), required=required, spec=spec)

    # ---- ChargingStation, EVSE, Connector (§2.13 Charging Infrastructure related) --------------

    def tiers(self) -> None:
        st = self.station
        cs = Component("ChargingStation")
        rotation = self.setting("connector_phase_rotation", read=phase_rotation_read, write=phase_rotation_write)
        self.available(cs, required=True, spec="§2.13.1")
        self.var(cs, "AvailabilityState", DataType.OPTION_LIST, Live(), values=AVAILABILITY_STATES, required=True,
                 spec="§2.13.2")
        self.var(cs, "SupplyPhases", DataType.INTEGER, Constant(max(e.phases for e in st.evses)), required=True,
                 spec="§2.13.6")
        self.var(cs, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.11")
        self.var(cs, "VendorName", DataType.STRING, Constant(st.vendor), spec="App.3.2.11")
        self.var(cs, "Model", DataType.STRING, Constant(st.model), spec="App.3.2.11")
        if st.serial_number:
            self.var(cs, "SerialNumber", DataType.STRING, Constant(st.serial_number), spec="App.3.2.11")
        self.var(cs, "PhaseRotation", DataType.STRING, rotation, mutability=RW, check=_phase_rotation,
                 spec="§2.13.5")
        self.var(cs, "AllowNewSessionsPendingFirmwareUpdate", DataType.BOOLEAN,
                 self.setting("allow_new_sessions_pending_firmware_update"), mutability=RW, spec="§2.1.2")
        for evse in st.evses:
            ev = Component("EVSE", evse_id=evse.id)
            self.available(ev, required=True, spec="§2.13.1")
            self.var(ev, "AvailabilityState", DataType.OPTION_LIST, Live(), values=AVAILABILITY_STATES,
                     required=True, spec="§2.13.2")
            self.var(ev, "SupplyPhases", DataType.INTEGER, Constant(evse.phases), required=True, spec="§2.13.6")
            max_power_w = round(evse.max_current_a * evse.phases * st.nominal_voltage_v, 1)
            self.var(ev, "Power", DataType.DECIMAL, Live(), unit="W", max_limit=max_power_w, required=True,
                     spec="§2.13.7 (maxLimit required)")
            self.var(ev, "AllowReset", DataType.BOOLEAN, Constant(self.caps.reset_evse), spec="§2.13.3")
            self.var(ev, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.30")
            self.var(ev, "PhaseRotation", DataType.STRING, rotation, mutability=RW, check=_phase_rotation,
                     spec="§2.13.5")
            for conn in evse.connectors:
                co = Component("Connector", evse_id=evse.id, connector_id=conn.id)
                self.available(co, required=True, spec="§2.13.1")
                self.var(co, "AvailabilityState", DataType.OPTION_LIST, Live(), values=AVAILABILITY_STATES,
                         required=True, spec="errata 2.66 (§2.13.2)")
                self.var(co, "ConnectorType", DataType.STRING, Constant(conn.connector_type), required=True,
                         spec="§2.13.4")
                self.var(co, "SupplyPhases", DataType.INTEGER, Constant(evse.phases), required=True, spec="§2.13.6")
                self.var(co, "ChargeProtocol", DataType.STRING, Constant("CPPWM"), spec="App.4 ChargeProtocol")
                self.var(co, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.14")

    # ---- controllers (§2.1–§2.12, Part 4 §8, App.3.1) ---------------------------------------------

    def controllers(self) -> None:
        self.ocpp_comm()
        self.device_data()
        self.clock()
        self.security()
        self.auth()
        self.tx()
        self.metering()
        self.reservation()
        self.smart_charging()
        self.tariff_cost()
        self.display_message()
        if self.caps.monitoring:
            self.monitoring()
        if self.caps.custom_implementations:
            co = Component("CustomizationCtrlr")
            for vendor in self.caps.custom_implementations:
                self.var(co, "CustomImplementationEnabled", DataType.BOOLEAN,
                         Stored(f"ocpp201.CustomImplementationEnabled.{vendor}", True), instance=vendor,
                         mutability=RW, spec="§2.1.33")

    def ocpp_comm(self) -> None:
        co = Component("OCPPCommCtrlr")
        s, caps = self.setting, self.caps
        self.var(co, "ActiveNetworkProfile", DataType.INTEGER, Live(), required=True, spec="errata 2.57 (§2.1.1)")
        self.var(co, "FileTransferProtocols", DataType.MEMBER_LIST, Constant(list(caps.file_transfer_protocols)),
                 values=caps.file_transfer_protocols, required=True, spec="§2.1.4")
        self.var(co, "HeartbeatInterval", DataType.INTEGER, s("heartbeat_interval_s"), mutability=RW, unit="s",
                 min_limit=1, max_limit=86400, spec="§2.1.5")
        self.var(co, "MessageTimeout", DataType.INTEGER, Constant(self.station.message_timeout_s), instance="Default",
                 unit="s", required=True, spec="§2.1.3")
        self.var(co, "MessageAttempts", DataType.INTEGER, s("transaction_message_attempts"), instance="TransactionEvent",
                 mutability=RW, min_limit=1, max_limit=100, required=True, spec="§2.1.10")
        self.var(co, "MessageAttemptInterval", DataType.INTEGER, s("transaction_message_retry_interval_s"),
                 instance="TransactionEvent", mutability=RW, unit="s", min_limit=0, max_limit=86400, required=True,
                 spec="§2.1.11")
        self.var(co, "MinimumStatusDuration", DataType.INTEGER, s("minimum_status_duration_s"), mutability=RW,
                 unit="s", min_limit=0, max_limit=3600, spec="App.3.1.12")
        slots = tuple(str(n) for n in caps.network_slots)
        self.var(co, "NetworkConfigurationPriority", DataType.SEQUENCE_LIST,
                 s("network_configuration_priority", read=lambda v, _c: [str(n) for n in v],
                   write=lambda _old, new, _c: [int(n) for n in new]),
                 mutability=RW, values=slots, required=True, reboot=True, check=self._priority_check,
                 spec="§2.1.6, B10.FR.01 (RebootRequired), B10.FR.02")
        self.var(co, "NetworkProfileConnectionAttempts", DataType.INTEGER, s("network_profile_connection_attempts"),
                 mutability=RW, min_limit=1, max_limit=100, required=True, spec="§2.1.7")
        self.var(co, "OfflineThreshold", DataType.INTEGER, s("offline_threshold_s"), mutability=RW, unit="s",
                 min_limit=0, max_limit=86400, required=True, spec="§2.1.8")
        self.var(co, "ResetRetries", DataType.INTEGER, s("reset_retries"), mutability=RW, min_limit=0, max_limit=10,
                 required=True, spec="§2.1.14")
        self.var(co, "RetryBackOffRandomRange", DataType.INTEGER, s("retry_backoff_random_range_s"), mutability=RW,
                 unit="s", min_limit=0, max_limit=3600, required=True, spec="Part 4 §8.2")
        self.var(co, "RetryBackOffRepeatTimes", DataType.INTEGER, s("retry_backoff_repeat_times"), mutability=RW,
                 min_limit=0, max_limit=20, required=True, spec="Part 4 §8.1")
        self.var(co, "RetryBackOffWaitMinimum", DataType.INTEGER, s("retry_backoff_wait_minimum_s"), mutability=RW,
                 unit="s", min_limit=0, max_limit=3600, required=True, spec="Part 4 §8.3")
        sockets = any(not c.fixed_cable for e in self.station.evses for c in e.connectors)
        if sockets:
            self.var(co, "UnlockOnEVSideDisconnect", DataType.BOOLEAN, s("unlock_on_ev_disconnect"), mutability=RW,
                     required=True, spec="§2.1.12")
        else:  # §2.1.12: only fixed cables → ReadOnly and false
            self.var(co, "UnlockOnEVSideDisconnect", DataType.BOOLEAN, Constant(False), required=True, spec="§2.1.12")
        self.var(co, "WebSocketPingInterval", DataType.INTEGER, s("websocket_ping_interval_s"), mutability=RW,
                 unit="s", min_limit=0, max_limit=86400, required=True, spec="Part 4 §8.4")

    def _priority_check(self, slots: list[str]) -> None:
        if not slots:
            raise ValueRejected("InvalidValue", "at least one network profile slot is needed")
        for slot in slots:
            if not self.slot_configured(int(slot)):
                raise ValueRejected("InvalidValue", f"slot {slot} holds no valid network profile (B10.FR.02)")

    def device_data(self) -> None:
        co = Component("DeviceDataCtrlr")
        for message in ("GetReport", "GetVariables", "SetVariables"):  # §2.1.16–§2.1.19, §2.1.22, §2.1.23
            self.var(co, "ItemsPerMessage", DataType.INTEGER, Constant(self.caps.items_per_message[message]),
                     instance=message, required=True, spec=f"§2.1 ItemsPerMessage{message}")
            self.var(co, "BytesPerMessage", DataType.INTEGER, Constant(self.caps.bytes_per_message[message]),
                     instance=message, required=True, spec=f"§2.1 BytesPerMessage{message}")
        self.var(co, "ConfigurationValueSize", DataType.INTEGER, Constant(self.caps.configuration_value_size),
                 max_limit=1000, spec="§2.1.20")
        self.var(co, "ReportingValueSize", DataType.INTEGER, Constant(self.caps.reporting_value_size),
                 max_limit=2500, spec="§2.1.21")

    def clock(self) -> None:
        co = Component("ClockCtrlr")
        self.var(co, "DateTime", DataType.DATE_TIME, Live(), required=True, spec="§2.1.24")
        self.var(co, "TimeSource", DataType.SEQUENCE_LIST, self.setting("time_source"), mutability=RW,
                 values=("Heartbeat",), required=True, check=_non_empty, spec="§2.1.30")
        # Shared with the 1.6 pricing keys (agent/ocpp16/pricing_keys.py keeps them under "costmsg.").
        self.var(co, "TimeOffset", DataType.STRING, Stored("costmsg.TimeOffset"), mutability=RW, check=_offset,
                 spec="§2.1.27")
        self.var(co, "TimeOffset", DataType.STRING, Stored("costmsg.TimeOffsetNextTransition"), instance="NextTransition",
                 mutability=RW, check=_offset, spec="§2.1.29")
        self.var(co, "NextTimeOffsetTransitionDateTime", DataType.DATE_TIME,
                 Stored("costmsg.NextTimeOffsetTransitionDateTime"), mutability=RW, spec="§2.1.28")
        self.var(co, "TimeAdjustmentReportingThreshold", DataType.INTEGER,
                 self.setting("time_adjustment_reporting_threshold_s"), mutability=RW, unit="s", min_limit=1,
                 max_limit=86400, spec="§2.1.32")

    def security(self) -> None:
        co = Component("SecurityCtrlr")
        st, caps = self.station, self.caps
        # errata 2.1: maxLimit at least 40, at most 64; minimum 16 characters (A00.FR.205)
        self.var(co, "BasicAuthPassword", DataType.STRING, Delegated(), mutability=WO, max_limit=64,
                 check=_password, persistent=True, spec="§2.2.1, errata 2.1")
        self.var(co, "CertificateEntries", DataType.INTEGER, Live(), max_limit=caps.certificates_max, required=True,
                 spec="§2.2.4")
        self.var(co, "Identity", DataType.STRING, Constant(st.identity), max_limit=48, spec="§2.2.2")
        # Shared with the 1.6 CpoName key (agent/ocpp16/security_keys.py); 64 = X.520 ub-organization-name.
        self.var(co, "OrganizationName", DataType.STRING, Stored("security.cpo_name", ""), mutability=RW,
                 max_limit=64, check=_printable, required=True, spec="§2.2.3")
        self.var(co, "SecurityProfile", DataType.INTEGER, Live(), min_limit=0, max_limit=3, required=True,
                 spec="§2.2.5")
        # The installation's (ocpp.additional_root_certificate_check, agent/security/link_security.py).
        self.var(co, "AdditionalRootCertificateCheck", DataType.BOOLEAN, Live(), spec="§2.2.6")
        self.var(co, "MaxCertificateChainSize", DataType.INTEGER, Constant(caps.max_certificate_chain_size),
                 max_limit=10000, spec="§2.2.7")
        self.var(co, "CertSigningWaitMinimum", DataType.INTEGER, self.setting("cert_signing_wait_minimum_s"),
                 mutability=RW, unit="s", min_limit=1, max_limit=86400, spec="§2.2.8")
        self.var(co, "CertSigningRepeatTimes", DataType.INTEGER, self.setting("cert_signing_repeat_times"),
                 mutability=RW, min_limit=0, max_limit=20, spec="§2.2.9")

    def auth(self) -> None:
        s = self.setting
        co = Component("AuthCtrlr")
        self.var(co, "Enabled", DataType.BOOLEAN, s("authorization_enabled"), mutability=RW, spec="§2.3.1")
        self.var(co, "AuthorizeRemoteStart", DataType.BOOLEAN, s("authorize_remote_tx_requests"), mutability=RW,
                 required=True, spec="§2.3.4")
        self.var(co, "LocalAuthorizeOffline", DataType.BOOLEAN, s("local_authorize_offline"), mutability=RW,
                 required=True, spec="§2.3.5")
        self.var(co, "LocalPreAuthorize", DataType.BOOLEAN, s("local_pre_authorize"), mutability=RW, required=True,
                 spec="§2.3.6")
        self.var(co, "OfflineTxForUnknownIdEnabled", DataType.BOOLEAN, s("allow_offline_tx_for_unknown_id"),
                 mutability=RW, spec="§2.3.3")
        self.var(co, "MasterPassGroupId", DataType.STRING, s("master_pass_group_id"), mutability=RW, max_limit=36,
                 spec="§2.3.7")
        self.var(co, "DisableRemoteAuthorization", DataType.BOOLEAN, s("disable_remote_authorization"),
                 mutability=RW, spec="§2.3.8")
        token_types = self.caps.id_token_types or supported_id_token_types(self.station)
        self.var(co, "SupportedIdTokenTypes", DataType.MEMBER_LIST, Constant(list(token_types)),
                 values=token_types, spec="errata 2.63")

        cache = Component("AuthCacheCtrlr")
        self.available(cache, spec="§2.4.2")
        self.var(cache, "Enabled", DataType.BOOLEAN, s("authorization_cache_enabled"), mutability=RW, spec="§2.4.1")
        self.var(cache, "LifeTime", DataType.INTEGER, s("auth_cache_lifetime_s"), mutability=RW, unit="s",
                 min_limit=1, max_limit=31536000, spec="§2.4.3")
        self.var(cache, "Policy", DataType.OPTION_LIST, s("auth_cache_policy"), mutability=RW, values=("LRU",),
                 spec="§2.4.5")
        self.var(cache, "DisablePostAuthorize", DataType.BOOLEAN, s("auth_cache_disable_post_authorize"),
                 mutability=RW, spec="§2.4.6 AuthCacheDisablePostAuthorize")

        local = Component("LocalAuthListCtrlr")
        self.available(local, spec="§2.5.3")
        self.var(local, "Enabled", DataType.BOOLEAN, s("local_auth_list_enabled"), mutability=RW, spec="§2.5.1")
        self.var(local, "Entries", DataType.INTEGER, Live(), max_limit=self.settings["local_auth_list_max_length"],
                 required=True, spec="§2.5.2")
        self.var(local, "ItemsPerMessage", DataType.INTEGER, s("send_local_list_max_length"), required=True,
                 spec="§2.5.4")
        self.var(local, "BytesPerMessage", DataType.INTEGER, Constant(self.caps.bytes_per_message["SendLocalList"]),
                 required=True, spec="§2.5.5")
        self.var(local, "DisablePostAuthorize", DataType.BOOLEAN, s("local_auth_list_disable_post_authorize"),
                 mutability=RW, spec="§2.5.6 LocalAuthListDisablePostAuthorize")

    def tx(self) -> None:
        s = self.setting
        co = Component("TxCtrlr")
        self.var(co, "EVConnectionTimeOut", DataType.INTEGER, s("connection_timeout_s"), mutability=RW, unit="s",
                 min_limit=1, max_limit=3600, required=True, spec="§2.6.1")
        self.var(co, "StopTxOnEVSideDisconnect", DataType.BOOLEAN, s("stop_on_ev_disconnect"), mutability=RW,
                 required=True, spec="§2.6.2")
        self.var(co, "TxStartPoint", DataType.MEMBER_LIST, s("tx_start_point"), mutability=RW, values=TX_POINTS,
                 check=_non_empty, required=True, spec="§2.6.4, §2.6.6.1")
        self.var(co, "TxStopPoint", DataType.MEMBER_LIST, s("tx_stop_point"), mutability=RW, values=TX_POINTS,
                 check=_non_empty, required=True, spec="§2.6.5, §2.6.6.2, errata 2.24")
        self.var(co, "MaxEnergyOnInvalidId", DataType.INTEGER, s("max_energy_on_invalid_id_wh"), mutability=RW,
                 unit="Wh", min_limit=0, max_limit=1000000, spec="§2.6.7")
        self.var(co, "StopTxOnInvalidId", DataType.BOOLEAN, s("stop_on_invalid_id"), mutability=RW, required=True,
                 spec="§2.6.8")

    def metering(self) -> None:
        s, m = self.setting, self.measurand_setting
        values = self.measurands
        sampled = Component("SampledDataCtrlr")
        self.available(sampled, spec="§2.7.2")
        self.var(sampled, "Enabled", DataType.BOOLEAN, s("sampled_data_enabled"), mutability=RW, spec="§2.7.1")
        self.var(sampled, "TxEndedMeasurands", DataType.MEMBER_LIST, m("stop_txn_sampled_data"), mutability=RW,
                 values=values, required=True, spec="§2.7.4")
        self.var(sampled, "TxEndedInterval", DataType.INTEGER, s("tx_ended_interval_s"), mutability=RW, unit="s",
                 min_limit=0, max_limit=86400, required=True, spec="§2.7.5")
        self.var(sampled, "TxStartedMeasurands", DataType.MEMBER_LIST, m("tx_started_measurands"), mutability=RW,
                 values=values, required=True, spec="§2.7.6")
        self.var(sampled, "TxUpdatedMeasurands", DataType.MEMBER_LIST, m("meter_sampled_data"), mutability=RW,
                 values=values, required=True, spec="§2.7.7")
        self.var(sampled, "TxUpdatedInterval", DataType.INTEGER, s("meter_sample_interval_s"), mutability=RW,
                 unit="s", min_limit=0, max_limit=86400, required=True, spec="§2.7.8")
        aligned = Component("AlignedDataCtrlr")
        self.available(aligned, spec="§2.7.10")
        self.var(aligned, "Enabled", DataType.BOOLEAN, s("aligned_data_enabled"), mutability=RW, spec="§2.7.9")
        self.var(aligned, "Measurands", DataType.MEMBER_LIST, m("meter_aligned_data"), mutability=RW, values=values,
                 required=True, spec="§2.7.11")
        self.var(aligned, "Interval", DataType.INTEGER, s("clock_aligned_interval_s"), mutability=RW, unit="s",
                 min_limit=0, max_limit=86400, required=True, spec="§2.7.12")
        self.var(aligned, "TxEndedMeasurands", DataType.MEMBER_LIST, m("stop_txn_aligned_data"), mutability=RW,
                 values=values, required=True, spec="§2.7.15")
        self.var(aligned, "TxEndedInterval", DataType.INTEGER, s("aligned_tx_ended_interval_s"), mutability=RW,
                 unit="s", min_limit=0, max_limit=86400, required=True, spec="§2.7.16")
        self.var(aligned, "SendDuringIdle", DataType.BOOLEAN, s("aligned_send_during_idle"), mutability=RW,
                 spec="§2.7.13")

    def reservation(self) -> None:
        co = Component("ReservationCtrlr")
        self.available(co, spec="§2.8.2")
        self.var(co, "Enabled", DataType.BOOLEAN, self.setting("reservation_enabled"), mutability=RW, spec="§2.8.1")
        # agent/station/reservations.py reserves "any connector" (connector 0 in 1.6); the operator
        # may turn that off (H01.FR.19: Rejected then).
        self.var(co, "NonEvseSpecific", DataType.BOOLEAN, self.setting("reservation_non_evse_specific"),
                 mutability=RW, spec="§2.8.3")

    def smart_charging(self) -> None:
        co = Component("SmartChargingCtrlr")
        caps = self.caps
        self.available(co, spec="§2.9.2")
        self.var(co, "Enabled", DataType.BOOLEAN, self.setting("smart_charging_enabled"), mutability=RW, spec="§2.9.1")
        self.var(co, "Entries", DataType.INTEGER, Live(), instance="ChargingProfiles",
                 max_limit=caps.charging_profiles_max, required=True, spec="§2.9.10")
        self.var(co, "LimitChangeSignificance", DataType.DECIMAL, self.setting("limit_change_significance_pct"),
                 mutability=RW, unit="Percent", min_limit=0, max_limit=100, required=True, spec="§2.9.11")
        self.var(co, "PeriodsPerSchedule", DataType.INTEGER, Constant(caps.periods_per_schedule), required=True,
                 spec="§2.9.6")
        self.var(co, "ProfileStackLevel", DataType.INTEGER, Constant(caps.profile_stack_level), required=True,
                 spec="§2.9.4")
        self.var(co, "RateUnit", DataType.MEMBER_LIST, Constant(list(caps.rate_units)), values=("A", "W"),
                 required=True, spec="§2.9.5")

    def tariff_cost(self) -> None:
        co = Component("TariffCostCtrlr")
        s = self.setting
        for what, setting in (("Tariff", "tariff_enabled"), ("Cost", "cost_enabled")):
            self.var(co, "Available", DataType.BOOLEAN, Constant(True), instance=what, spec="§2.10.2, §2.10.5")
            self.var(co, "Enabled", DataType.BOOLEAN, s(setting), instance=what, mutability=RW, spec="§2.10.1, §2.10.4")
        self.var(co, "TariffFallbackMessage", DataType.STRING, s("tariff_fallback_message"), mutability=RW,
                 max_limit=255, required=True, spec="§2.10.3")
        self.var(co, "TotalCostFallbackMessage", DataType.STRING, s("total_cost_fallback_message"), mutability=RW,
                 max_limit=255, required=True, spec="§2.10.6")
        self.var(co, "Currency", DataType.STRING, s("currency"), mutability=RW, max_limit=3, check=_currency,
                 required=True, spec="§2.10.7")

    def display_message(self) -> None:
        co = Component("DisplayMessageCtrlr")
        caps = self.caps
        # §2.12.2: display messages are supported where there is a display to show them on.
        self.available(co, Constant(any(e.display for e in self.station.evses)), spec="§2.12.2")
        self.var(co, "Enabled", DataType.BOOLEAN, self.setting("display_messages_enabled"), mutability=RW,
                 spec="§2.12.1")
        self.var(co, "DisplayMessages", DataType.INTEGER, Live(), max_limit=caps.display_messages_max, required=True,
                 spec="§2.12.3")
        self.var(co, "SupportedFormats", DataType.MEMBER_LIST, Constant(list(caps.display_formats)),
                 values=caps.display_formats, required=True, spec="§2.12.4")
        self.var(co, "SupportedPriorities", DataType.MEMBER_LIST, Constant(list(caps.display_priorities)),
                 values=caps.display_priorities, required=True, spec="§2.12.5")

    def monitoring(self) -> None:
        co = Component("MonitoringCtrlr")
        caps = self.caps
        self.available(co, spec="§2.11.2")
        self.var(co, "Enabled", DataType.BOOLEAN, self.setting("monitoring_enabled"), mutability=RW, spec="§2.11.1")
        for message, required in (("SetVariableMonitoring", True), ("ClearVariableMonitoring", False)):
            self.var(co, "ItemsPerMessage", DataType.INTEGER, Constant(caps.items_per_message[message]),
                     instance=message, required=required, spec=f"§2.11 ItemsPerMessage{message}")
            self.var(co, "BytesPerMessage", DataType.INTEGER, Constant(caps.bytes_per_message[message]),
                     instance=message, required=required, spec=f"§2.11 BytesPerMessage{message}")
        # The monitoring state of agent/ocpp201/monitoring.py (its keys): the base and level set by
        # SetMonitoringBase / SetMonitoringLevel, and the severities kept while offline (N07.FR.04).
        self.var(co, "ActiveMonitoringBase", DataType.OPTION_LIST, Stored("ocpp201.ActiveMonitoringBase", "All"),
                 values=("All", "FactoryDefault", "HardWiredOnly"), spec="§2.11 ActiveMonitoringBase")
        self.var(co, "ActiveMonitoringLevel", DataType.INTEGER, Stored("ocpp201.ActiveMonitoringLevel", 9),
                 min_limit=0, max_limit=9, spec="§2.11 ActiveMonitoringLevel")
        self.var(co, "OfflineQueuingSeverity", DataType.INTEGER, Stored("ocpp201.OfflineQueuingSeverity", 4),
                 mutability=RW, min_limit=0, max_limit=9, spec="§2.11 OfflineQueuingSeverity")

    # ---- physical parts (App.3.2) -----------------------------------------------------------

    def physical(self) -> None:
        st = self.station
        controller = Component("Controller")
        self.available(controller)
        self.var(controller, "Active", DataType.BOOLEAN, Constant(True), persistent=False, spec="App.3.2.19")
        self.var(controller, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.19")
        if st.firmware_version:
            self.var(controller, "FirmwareVersion", DataType.STRING, Constant(st.firmware_version), spec="App.3.2.19")
        if st.card_reader:
            reader = Component("TokenReader")
            self.available(reader, Live())
            self.var(reader, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.53")
        if st.temperature_sensor:
            sensor = Component("TemperatureSensor")
            self.available(sensor, Live())
            high = Attribute(AttributeType.MAX_SET, RO, Constant(st.temperature_high_c))  # "Active: over MaxSet"
            self.var(sensor, "Temperature", DataType.DECIMAL, Live(), unit="Celsius", extra=(high,), spec="App.3.2.51")
            self.var(sensor, "Active", DataType.BOOLEAN, Live(), spec="App.3.2.51")
            self.var(sensor, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.51")
        for evse in st.evses:
            if evse.meter:
                meter = Component("FiscalMetering", evse_id=evse.id)
                self.available(meter, Live())
                self.var(meter, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.32")
                self.var(meter, "EnergyImportRegister", DataType.DECIMAL, Live(), unit="Wh", spec="App.3.2.32")
            if evse.contactor:
                contactor = Component("PowerContactor", evse_id=evse.id)
                self.available(contactor)
                self.var(contactor, "Active", DataType.BOOLEAN, Live(), spec="App.3.2.44")
                if evse.contactor_feedback:  # only a read-back contact shows a contactor that fails
                    self.var(contactor, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.44")
            if evse.rcd:
                rcd = Component("RCD", evse_id=evse.id)
                self.available(rcd)
                self.var(rcd, "Tripped", DataType.BOOLEAN, Live(), spec="App.3.2.45")
            if evse.emergency_stop:
                stop = Component("EmergencyStopSensor", evse_id=evse.id)
                self.available(stop)
                self.var(stop, "Active", DataType.BOOLEAN, Live(), spec="App.3.2.27")
            if evse.display:
                display = Component("Display", evse_id=evse.id)
                self.available(display, Live())
                self.var(display, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.23")
                width, height = st.display_chars
                self.var(display, "Count", DataType.INTEGER, Constant(width), instance="WidthInChars", spec="App.3.2.23")
                self.var(display, "Count", DataType.INTEGER, Constant(height), instance="HeightInChars",
                         spec="App.3.2.23")
            for conn in evse.connectors:
                if conn.lock:
                    lock = Component("ConnectorPlugRetentionLock", evse_id=evse.id, connector_id=conn.id)
                    self.available(lock)
                    self.var(lock, "Active", DataType.BOOLEAN, Live(), spec="App.3.2.17")
                    self.var(lock, "Problem", DataType.BOOLEAN, Live(), spec="App.3.2.17")


# ---- rules beyond the characteristics -------------------------------------------------------------

_ROTATION = re.compile(r"[RSTx]{3}")


def _phase_rotation(value: str) -> None:
    """§2.13.5: three letters of R, S, T and x ("RST", "RSx"…), or "" for unknown."""
    if value and not _ROTATION.fullmatch(value):
        raise ValueRejected("InvalidValue", f"{value!r} is not a phase rotation like RST, TRS or Rxx")


def _offset(value: str) -> None:
    if value == "":
        return
    try:
        parse_offset(value)
    except PricingError as exc:
        raise ValueRejected("InvalidValue", str(exc)) from None


def _password(value: str) -> None:
    """A00.FR.205 with errata 2.1: at least 16 characters (the maxLimit bounds the top)."""
    if len(value) < 16:
        raise ValueRejected("ValueTooLow", "the password needs at least 16 characters")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise ValueRejected("InvalidValue", "the password has a character that is not printable")


def _printable(value: str) -> None:
    if not value.isprintable():
        raise ValueRejected("InvalidValue", "only printable characters")


def _currency(value: str) -> None:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueRejected("InvalidValue", f"{value!r} is not an ISO 4217 code like EUR")


def _non_empty(value: list[str]) -> None:
    if not value:
        raise ValueRejected("InvalidValue", "the list may not be empty")
