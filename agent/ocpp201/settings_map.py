"""Which neutral setting backs which OCPP 2.0.1 variable, the settings 2.0.1 needs that the agent
lacks ("proposed settings"), and how they persist until they join ``Settings``.

``SETTING_MAP``: every setting of ``agent/persistence/settings.py`` DEFAULTS → the 2.0.1
component/variable it backs, with the conversion between the two. ``PROPOSED``: settings a
2.0.1 station needs that DEFAULTS lacks, with defaults and what they make the station do; the
lead moves them into ``Settings`` DEFAULTS. Until then ``ProposedSettings`` keeps them in the
key-value store in exactly the format ``Settings`` uses (key ``setting.<name>``, JSON value),
so a value the backend sets before the move is read by ``Settings`` after it, and
``LayeredSettings`` serves a name from ``Settings`` when it knows it, else from the proposed ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.ocpp201.device_model import Component, KeyValueStore, SettingsPort

SETTING_PREFIX = "setting."  # agent/persistence/settings.py: store key of a setting


@dataclass(frozen=True)
class Mapping:
    """A setting → the variable(s) it backs (component name, variable name, variable instance)."""

    setting: str
    targets: tuple[tuple[str, str, str | None], ...]
    conversion: str = "same value"


# Every neutral setting (agent/persistence/settings.py DEFAULTS). Targets () = no 2.0.1 counterpart.
SETTING_MAP: dict[str, Mapping] = {m.setting: m for m in (
    Mapping("heartbeat_interval_s", (("OCPPCommCtrlr", "HeartbeatInterval", None),),
            "seconds; 2.0.1 has minLimit 1 (Part 2 §2.1.5), 1.6 allowed 0"),
    Mapping("connection_timeout_s", (("TxCtrlr", "EVConnectionTimeOut", None),), "seconds"),
    Mapping("meter_sample_interval_s", (("SampledDataCtrlr", "TxUpdatedInterval", None),), "seconds; 0 = none"),
    Mapping("meter_sampled_data", (("SampledDataCtrlr", "TxUpdatedMeasurands", None),),
            "list ↔ MemberList CSV; measurands 2.0.1 lacks (1.6 Temperature) are left out when read"),
    Mapping("clock_aligned_interval_s", (("AlignedDataCtrlr", "Interval", None),), "seconds; 0 = none"),
    Mapping("meter_aligned_data", (("AlignedDataCtrlr", "Measurands", None),), "list ↔ MemberList CSV"),
    Mapping("stop_txn_sampled_data", (("SampledDataCtrlr", "TxEndedMeasurands", None),), "list ↔ MemberList CSV"),
    Mapping("stop_txn_aligned_data", (("AlignedDataCtrlr", "TxEndedMeasurands", None),), "list ↔ MemberList CSV"),
    Mapping("stop_on_ev_disconnect", (("TxCtrlr", "StopTxOnEVSideDisconnect", None),), "boolean"),
    Mapping("stop_on_invalid_id", (("TxCtrlr", "StopTxOnInvalidId", None),), "boolean"),
    Mapping("authorize_remote_tx_requests", (("AuthCtrlr", "AuthorizeRemoteStart", None),), "boolean"),
    Mapping("local_authorize_offline", (("AuthCtrlr", "LocalAuthorizeOffline", None),), "boolean"),
    Mapping("local_pre_authorize", (("AuthCtrlr", "LocalPreAuthorize", None),), "boolean"),
    Mapping("allow_offline_tx_for_unknown_id", (("AuthCtrlr", "OfflineTxForUnknownIdEnabled", None),), "boolean"),
    Mapping("local_auth_list_enabled", (("LocalAuthListCtrlr", "Enabled", None),), "boolean"),
    Mapping("local_auth_list_max_length", (("LocalAuthListCtrlr", "Entries", None),),
            "the maxLimit characteristic of Entries (read at start; read-only as in 1.6)"),
    Mapping("send_local_list_max_length", (("LocalAuthListCtrlr", "ItemsPerMessage", None),), "read-only"),
    Mapping("authorization_cache_enabled", (("AuthCacheCtrlr", "Enabled", None),), "boolean"),
    Mapping("transaction_message_attempts", (("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"),), "count"),
    Mapping("transaction_message_retry_interval_s", (("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"),),
            "seconds"),
    Mapping("unlock_on_ev_disconnect", (("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", None),),
            "boolean; ReadOnly false when every connector has a fixed cable (Part 2 §2.1.12)"),
    Mapping("websocket_ping_interval_s", (("OCPPCommCtrlr", "WebSocketPingInterval", None),), "seconds; 0 = off"),
    Mapping("minimum_status_duration_s", (("OCPPCommCtrlr", "MinimumStatusDuration", None),), "seconds"),
    Mapping("reset_retries", (("OCPPCommCtrlr", "ResetRetries", None),), "count"),
    Mapping("light_intensity_pct", (), "no 2.0.1 counterpart: 2.0.1 standardises no LED brightness variable"),
    Mapping("connector_phase_rotation", (("ChargingStation", "PhaseRotation", None), ("EVSE", "PhaseRotation", None)),
            '1.6 CSL entry "0.RST" ↔ ChargingStation "RST", entry "N.RST" ↔ EVSE N "RST"; '
            '1.6 "Unknown"/"NotApplicable" ↔ 2.0.1 "" (Part 2 §2.13.5)'),
)}


@dataclass(frozen=True)
class Proposed:
    default: Any
    target: tuple[str, str, str | None]  # the variable it backs
    does: str  # the behaviour the station needs for it


# Settings a 2.0.1 station needs that agent/persistence/settings.py lacks.
PROPOSED: dict[str, Proposed] = {
    "tx_start_point": Proposed(["PowerPathClosed"], ("TxCtrlr", "TxStartPoint", None),
                               "E01: when a transaction starts (PowerPathClosed = connected and authorized, as in 1.6)"),
    "tx_stop_point": Proposed(["EVConnected", "Authorized"], ("TxCtrlr", "TxStopPoint", None),
                              "E06: when a transaction ends (unplugged or deauthorized, as in 1.6)"),
    "tx_started_measurands": Proposed(["Energy.Active.Import.Register"], ("SampledDataCtrlr", "TxStartedMeasurands", None),
                                      "J02: measurands of TransactionEvent Started (Part 2 §2.7.6 default)"),
    "tx_ended_interval_s": Proposed(0, ("SampledDataCtrlr", "TxEndedInterval", None),
                                    "J02: sampling interval of the Ended meter values; 0 = start and end only"),
    "aligned_tx_ended_interval_s": Proposed(0, ("AlignedDataCtrlr", "TxEndedInterval", None),
                                            "J01: clock-aligned interval of the Ended meter values; 0 = none"),
    "sampled_data_enabled": Proposed(True, ("SampledDataCtrlr", "Enabled", None), "J02: sampled meter data on/off"),
    "aligned_data_enabled": Proposed(True, ("AlignedDataCtrlr", "Enabled", None), "J01: clock-aligned data on/off"),
    "max_energy_on_invalid_id_wh": Proposed(0, ("TxCtrlr", "MaxEnergyOnInvalidId", None),
                                            "E05: energy still allowed after a deauthorization (0 = stop at once)"),
    "authorization_enabled": Proposed(True, ("AuthCtrlr", "Enabled", None),
                                      "C: false = no authorization, idToken type NoAuthorization (like free vend)"),
    "master_pass_group_id": Proposed("", ("AuthCtrlr", "MasterPassGroupId", None), "C16: stop-any-transaction group"),
    "disable_remote_authorization": Proposed(False, ("AuthCtrlr", "DisableRemoteAuthorization", None),
                                             "C: only the cache and local list decide, no AuthorizeRequest"),
    "auth_cache_lifetime_s": Proposed(604800, ("AuthCacheCtrlr", "LifeTime", None),
                                      "C10: a cache entry expires this long after its last use"),
    "auth_cache_policy": Proposed("LRU", ("AuthCacheCtrlr", "Policy", None),
                                  "C10: which entry goes when the cache is full (LRU: least recently used)"),
    "reservation_enabled": Proposed(True, ("ReservationCtrlr", "Enabled", None), "H: reservations on/off"),
    "reservation_non_evse_specific": Proposed(True, ("ReservationCtrlr", "NonEvseSpecific", None),
                                              "H01.FR.18/19: reservations of an unspecified EVSE taken"),
    "smart_charging_enabled": Proposed(True, ("SmartChargingCtrlr", "Enabled", None), "K: charging profiles on/off"),
    "limit_change_significance_pct": Proposed(1.0, ("SmartChargingCtrlr", "LimitChangeSignificance", None),
                                              "K: a limit change below this percentage may go unreported"),
    "tariff_enabled": Proposed(True, ("TariffCostCtrlr", "Enabled", "Tariff"), "I: tariff text shown"),
    "cost_enabled": Proposed(True, ("TariffCostCtrlr", "Enabled", "Cost"), "I: running / final cost shown"),
    "tariff_fallback_message": Proposed("", ("TariffCostCtrlr", "TariffFallbackMessage", None),
                                        "I01: tariff text when the EV driver has none of their own"),
    "total_cost_fallback_message": Proposed("", ("TariffCostCtrlr", "TotalCostFallbackMessage", None),
                                            "I: text when the final cost cannot be had"),
    "currency": Proposed("EUR", ("TariffCostCtrlr", "Currency", None), "I: ISO 4217 code of the costs shown"),
    "display_messages_enabled": Proposed(True, ("DisplayMessageCtrlr", "Enabled", None), "O: display messages on/off"),
    "monitoring_enabled": Proposed(True, ("MonitoringCtrlr", "Enabled", None), "N: variable monitors on/off"),
    "network_configuration_priority": Proposed([1], ("OCPPCommCtrlr", "NetworkConfigurationPriority", None),
                                               "B09/B10: order of the network profile slots tried (after a reboot)"),
    "network_profile_connection_attempts": Proposed(3, ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None),
                                                    "B10.FR.03: attempts per slot before the next one"),
    "offline_threshold_s": Proposed(60, ("OCPPCommCtrlr", "OfflineThreshold", None),
                                    "B04: offline longer than this → StatusNotification for every connector"),
    "retry_backoff_wait_minimum_s": Proposed(1, ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None),
                                             "Part 4 §5.3: first reconnect wait ([ocpp] reconnect_min_s)"),
    "retry_backoff_random_range_s": Proposed(5, ("OCPPCommCtrlr", "RetryBackOffRandomRange", None),
                                             "Part 4 §5.3: random part added to every reconnect wait"),
    "retry_backoff_repeat_times": Proposed(8, ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None),
                                           "Part 4 §5.3: doublings of the wait (1 s · 2^8 = 256 s ≈ reconnect_max_s)"),
    "cert_signing_wait_minimum_s": Proposed(60, ("SecurityCtrlr", "CertSigningWaitMinimum", None),
                                            "A02/A03: wait for CertificateSigned before a new CSR, doubled each time"),
    "cert_signing_repeat_times": Proposed(3, ("SecurityCtrlr", "CertSigningRepeatTimes", None),
                                          "A02/A03: how many times the wait doubles before giving up"),
    "time_source": Proposed(["Heartbeat"], ("ClockCtrlr", "TimeSource", None),
                            "the agent takes time from BootNotification/Heartbeat (agent/station/clock.py)"),
    "time_adjustment_reporting_threshold_s": Proposed(60, ("ClockCtrlr", "TimeAdjustmentReportingThreshold", None),
                                                      "A: time jumps above this are a SettingSystemTime event "
                                                      "(agent/station/clock.py JUMP_S)"),
    "allow_new_sessions_pending_firmware_update": Proposed(
        False, ("ChargingStation", "AllowNewSessionsPendingFirmwareUpdate", None),
        "L01: free EVSEs stay available while a firmware update waits for the others"),
    "aligned_send_during_idle": Proposed(False, ("AlignedDataCtrlr", "SendDuringIdle", None),
                                         "J01.FR.20: no clock-aligned values sent while a transaction runs"),
    "auth_cache_disable_post_authorize": Proposed(False, ("AuthCacheCtrlr", "DisablePostAuthorize", None),
                                                  "§2.4.6 (C10/C12): a token cached as not Accepted is refused "
                                                  "without an AuthorizeRequest"),
    "local_auth_list_disable_post_authorize": Proposed(False, ("LocalAuthListCtrlr", "DisablePostAuthorize", None),
                                                       "§2.5.6 (C14): a token listed as not Accepted is refused "
                                                       "without an AuthorizeRequest"),
}

# Values the device model keeps in the key-value store itself, shared with the 1.6 adapter.
STORED_KEYS: dict[str, tuple[str, str, str | None]] = {
    "security.cpo_name": ("SecurityCtrlr", "OrganizationName", None),  # agent/ocpp16/security_keys.py CpoName
    "costmsg.TimeOffset": ("ClockCtrlr", "TimeOffset", None),  # agent/ocpp16/pricing_keys.py
    "costmsg.NextTimeOffsetTransitionDateTime": ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", None),
    "costmsg.TimeOffsetNextTransition": ("ClockCtrlr", "TimeOffset", "NextTransition"),
}


class ProposedSettings:
    """The proposed settings over a key-value store, in the format of ``Settings``."""

    def __init__(self, store: KeyValueStore, initial: dict[str, Any] | None = None) -> None:
        self._store = store
        self._values = {name: p.default for name, p in PROPOSED.items()}
        self._values.update({k: v for k, v in (initial or {}).items() if k in PROPOSED})
        for name in PROPOSED:
            raw = store.get(SETTING_PREFIX + name)
            if raw is not None:
                self._values[name] = json.loads(raw)
        self._listeners: list[Callable[[str, Any], None]] = []

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def set(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise KeyError(name)
        self._store.put(SETTING_PREFIX + name, json.dumps(value))
        self._values[name] = value
        for listener in self._listeners:
            listener(name, value)

    def on_change(self, listener: Callable[[str, Any], None]) -> None:
        self._listeners.append(listener)


class LayeredSettings:
    """``base`` (the agent's ``Settings``) for the names it knows, ``proposed`` for the rest."""

    def __init__(self, base: SettingsPort, proposed: ProposedSettings) -> None:
        self._base = base
        self._proposed = proposed

    def _owner(self, name: str) -> SettingsPort:
        try:
            self._base[name]
        except KeyError:
            return self._proposed
        return self._base

    def __getitem__(self, name: str) -> Any:
        return self._owner(name)[name]

    def set(self, name: str, value: Any) -> None:
        self._owner(name).set(name, value)


class StoreKeyValue:
    """``KeyValueStore`` over the agent's ``Store`` settings table (``settings()``/``put_setting``)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def get(self, key: str) -> str | None:
        value: str | None = self._store.settings().get(key)
        return value

    def put(self, key: str, value: str) -> None:
        self._store.put_setting(key, value)


# ---- conversions -------------------------------------------------------------------------------


def phase_rotation_read(entries: list[str], component: Component) -> str:
    """1.6 ConnectorPhaseRotation CSL entry of this component → 2.0.1 PhaseRotation."""
    index = 0 if component.evse_id is None else component.evse_id
    for entry in entries:
        number, _, rotation = entry.partition(".")
        if number.strip() == str(index):
            rotation = rotation.strip()
            return "" if rotation in ("Unknown", "NotApplicable") else rotation
    return ""


def phase_rotation_write(entries: list[str], rotation: str, component: Component) -> list[str]:
    """2.0.1 PhaseRotation of this component → the 1.6 CSL with that entry replaced."""
    index = 0 if component.evse_id is None else component.evse_id
    entry = f"{index}.{rotation or 'Unknown'}"
    kept = [e for e in entries if e.partition(".")[0].strip() != str(index)]
    return sorted([*kept, entry], key=lambda e: int(e.partition(".")[0]) if e.partition(".")[0].isdigit() else 0)
