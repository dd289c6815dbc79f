"""Run-time settings the backend may change, with their persisted values.

Names here are the agent's own; each OCPP adapter maps its protocol's keys or
variables onto them (see ``agent/ocpp16/keys.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agent.persistence.store import Store

DEFAULTS: dict[str, Any] = {
    "heartbeat_interval_s": 300,
    "connection_timeout_s": 60,
    "meter_sample_interval_s": 60,
    "meter_sampled_data": ["Energy.Active.Import.Register", "Power.Active.Import"],
    "clock_aligned_interval_s": 0,
    "meter_aligned_data": ["Energy.Active.Import.Register"],
    "stop_txn_sampled_data": [],
    "stop_txn_aligned_data": [],
    "stop_on_ev_disconnect": True,
    "stop_on_invalid_id": True,
    "authorize_remote_tx_requests": False,
    "local_authorize_offline": True,
    "local_pre_authorize": False,
    "allow_offline_tx_for_unknown_id": False,
    # OCPP 1.6 §3.5 local authorization (agent/station/authorization.py); the max lengths are read-only keys
    "local_auth_list_enabled": True,
    "local_auth_list_max_length": 1000,
    "send_local_list_max_length": 100,
    "authorization_cache_enabled": True,
    "transaction_message_attempts": 3,
    "transaction_message_retry_interval_s": 60,
    "unlock_on_ev_disconnect": True,
    "websocket_ping_interval_s": 60,
    "minimum_status_duration_s": 0,
    "reset_retries": 1,
    "light_intensity_pct": 100,
    "connector_phase_rotation": ["0.RST"],
    # OCPP 2.0.1 (agent/ocpp201/settings_map.py says which variable each backs and what it does)
    "tx_start_point": ["PowerPathClosed"],
    "tx_stop_point": ["EVConnected", "Authorized"],
    "tx_started_measurands": ["Energy.Active.Import.Register"],
    "tx_ended_interval_s": 0,
    "aligned_tx_ended_interval_s": 0,
    "sampled_data_enabled": True,
    "aligned_data_enabled": True,
    "aligned_send_during_idle": False,
    "max_energy_on_invalid_id_wh": 0,
    "authorization_enabled": True,
    "master_pass_group_id": "",
    "disable_remote_authorization": False,
    "auth_cache_lifetime_s": 604800,
    "auth_cache_policy": "LRU",
    "reservation_enabled": True,
    "reservation_non_evse_specific": True,
    "smart_charging_enabled": True,
    "limit_change_significance_pct": 1.0,
    "tariff_enabled": True,
    "cost_enabled": True,
    "tariff_fallback_message": "",
    "total_cost_fallback_message": "",
    "currency": "EUR",
    "display_messages_enabled": True,
    "monitoring_enabled": True,
    "network_configuration_priority": [1],
    "network_profile_connection_attempts": 3,
    "offline_threshold_s": 60,
    "retry_backoff_wait_minimum_s": 1,
    "retry_backoff_random_range_s": 5,
    "retry_backoff_repeat_times": 8,
    "cert_signing_wait_minimum_s": 60,
    "cert_signing_repeat_times": 3,
    "time_source": ["Heartbeat"],
    "time_adjustment_reporting_threshold_s": 60,
    "allow_new_sessions_pending_firmware_update": False,
    "auth_cache_disable_post_authorize": False,
    "local_auth_list_disable_post_authorize": False,
}


class Settings:
    def __init__(self, store: Store, initial: dict[str, Any] | None = None) -> None:
        """``initial``: values from the config file; values the backend set win over them."""
        self._store = store
        self._values = dict(DEFAULTS)
        self._values.update(initial or {})
        for key, raw in store.settings().items():
            if key.startswith("setting.") and key[8:] in self._values:
                self._values[key[8:]] = json.loads(raw)
        self._listeners: list[Callable[[str, Any], None]] = []

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def set(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise KeyError(name)
        self._store.put_setting(f"setting.{name}", json.dumps(value))
        self._values[name] = value
        for listener in self._listeners:
            listener(name, value)

    def on_change(self, listener: Callable[[str, Any], None]) -> None:
        self._listeners.append(listener)
