"""The station's monitors over its device model (agent/ocpp201/monitoring.py), with fakes of the
adapter's own interfaces: which are hard-wired, what is kept across a restart, what fires, what
is sent, kept offline or dropped. The wire side is tests/conformance201/test_n_diagnostics.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from agent.core.monitoring import MonitoringBase, MonitorKind
from agent.ocpp201.device_model import Component, Variable
from agent.ocpp201.monitoring import Monitors, Request
from tests.ocpp201.helpers import (
    LiveTable,
    MemorySettings,
    MemoryStore,
    assert_valid,
    model,
)

TEMPERATURE = ("TemperatureSensor", None, None, "Temperature")
METER_PROBLEM = ("FiscalMetering", 1, None, "Problem")
HEARTBEAT = (Component("OCPPCommCtrlr"), Variable("HeartbeatInterval"))


class KeyValue:
    """The adapter's KeyValuePort over one MemoryStore (what the device model's Stored values read)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def settings(self) -> dict[str, str]:
        return dict(self.store.data)

    def put_setting(self, key: str, value: str) -> None:
        self.store.data[key] = value


class FakeAdapter:
    def __init__(self, store: MemoryStore | None = None, live: LiveTable | None = None) -> None:
        self.kv_store = store or MemoryStore()
        self.live_table = live or LiveTable({TEMPERATURE: 25.0, METER_PROBLEM: False})
        self.settings = MemorySettings()
        self.device_model = model(settings=self.settings, store=self.kv_store, live=self.live_table)
        self.services = SimpleNamespace(store=KeyValue(self.kv_store), clock=SimpleNamespace(iso=lambda: "2026-03-01T12:00:00Z"))
        self.live = SimpleNamespace(observers=[])
        self.station = SimpleNamespace(evses=lambda: {1: (1,), 2: (1,)}, transaction_on=lambda evse_id: None)
        self.online = True
        self._ids = 0

    def next_event_id(self) -> int:
        self._ids += 1
        return self._ids


def sent(monitors: Monitors) -> list[dict[str, Any]]:
    events = list(monitors._pending)
    monitors._pending.clear()
    for event in events:
        assert_valid("NotifyEventRequest", {"generated_at": "2026-03-01T12:00:00Z", "seq_no": 0, "event_data": [event]})
    return events


def by_variable(monitors: Monitors) -> dict[tuple[str, str], Any]:
    return {(m.target[0].name, m.target[1].name): m for m in monitors.monitors}


def test_the_hard_wired_monitors_are_the_parts_that_can_fail():
    monitors = Monitors(FakeAdapter())
    hard = {(m.target[0].name, m.target[1].name, m.type.value, m.severity) for m in monitors.monitors
            if m.kind is MonitorKind.HARD_WIRED}
    assert {("FiscalMetering", "Problem", "Delta", 1), ("PowerContactor", "Problem", "Delta", 1),
            ("RCD", "Tripped", "Delta", 0), ("EmergencyStopSensor", "Active", "Delta", 0),
            ("TemperatureSensor", "Temperature", "UpperThreshold", 5)} <= hard
    assert not any(name == "ConnectorPlugRetentionLock" for name, *_ in hard)  # the adapter reports the lock


def test_a_hard_wired_threshold_fires_on_the_live_value_and_clears():
    adapter = FakeAdapter()
    monitors = Monitors(adapter)
    monitors.look(0.0)
    assert sent(monitors) == []
    adapter.live_table.values[TEMPERATURE] = 75.0  # above the 60 °C derating limit
    adapter.live_table.values[METER_PROBLEM] = True
    monitors.look(1.0)
    events = {e["variable"]["name"]: e for e in sent(monitors)}
    assert events["Temperature"]["trigger"] == "Alerting" and float(events["Temperature"]["actual_value"]) == 75
    assert events["Problem"]["event_notification_type"] == "HardWiredMonitor" and events["Problem"]["actual_value"] == "true"
    adapter.live_table.values[TEMPERATURE] = 40.0
    monitors.look(2.0)
    assert [(e["variable"]["name"], e.get("cleared")) for e in sent(monitors)] == [("Temperature", True)]


def test_custom_monitors_and_a_tripped_threshold_survive_a_restart():
    adapter = FakeAdapter()
    monitors = Monitors(adapter)
    status, upper, _ = monitors.set(Request(*HEARTBEAT, "UpperThreshold", 100, 3))
    assert status == "Accepted"
    monitors.look(0.0)
    assert [e["variable_monitoring_id"] for e in sent(monitors)] == [upper]  # 300 s > 100
    again = Monitors(FakeAdapter(adapter.kv_store, adapter.live_table))
    assert by_variable(again)[("OCPPCommCtrlr", "HeartbeatInterval")].id == upper
    again.adapter.settings.values.update(adapter.settings.values)
    again.look(1.0)
    assert sent(again) == []  # still tripped: nothing new


def test_offline_events_are_kept_by_severity_and_the_level_filters():
    adapter = FakeAdapter()
    monitors = Monitors(adapter)
    low = monitors.set(Request(*HEARTBEAT, "Delta", 1, 2))[1]
    high = monitors.set(Request(*HEARTBEAT, "Delta", 1, 6))[1]
    adapter.online = False
    assert adapter.device_model.set(*HEARTBEAT, "600").status.value == "Accepted"
    monitors.look(0.0)
    assert [e["variable_monitoring_id"] for e in sent(monitors)] == [low]  # OfflineQueuingSeverity 4
    adapter.online = True
    assert monitors.set_level(5) and not monitors.set_level(10)
    adapter.device_model.set(*HEARTBEAT, "900")
    monitors.look(1.0)
    assert [e["variable_monitoring_id"] for e in sent(monitors)] == [low]  # 6 is above level 5
    assert high in {m.id for m in monitors.monitors}


def test_bases_and_clearing():
    monitors = Monitors(FakeAdapter())
    custom = monitors.set(Request(*HEARTBEAT, "Delta", 1, 2))[1]
    hard = next(m.id for m in monitors.monitors if m.kind is MonitorKind.HARD_WIRED)
    assert monitors.clear(hard) == "Rejected" and monitors.clear(123456) == "NotFound"
    monitors.set_base(MonitoringBase.HARD_WIRED_ONLY)
    assert {m.kind for m in monitors.monitors} == {MonitorKind.HARD_WIRED}
    monitors.set_base(MonitoringBase.ALL)
    assert MonitorKind.PRECONFIGURED in {m.kind for m in monitors.monitors} and custom not in {m.id for m in monitors.monitors}


def test_the_report_is_schema_valid_and_filtered():
    monitors = Monitors(FakeAdapter())
    monitors.set(Request(*HEARTBEAT, "Delta", 1, 2))
    everything = monitors.report(None, None)
    assert_valid("NotifyMonitoringReportRequest", {"request_id": 1, "seq_no": 0, "generated_at": "2026-03-01T12:00:00Z",
                                                  "monitor": everything})
    thresholds = monitors.report(["ThresholdMonitoring"], None)
    assert {v["type"] for item in thresholds for v in item["variable_monitoring"]} == {"UpperThreshold"}
    only = monitors.report(None, [{"component": {"name": "FiscalMetering"}}])  # N02.FR.15/16: every EVSE, variable
    assert [(i["component"], i["variable"]["name"]) for i in only] == [({"name": "FiscalMetering", "evse": {"id": 1}}, "Problem")]
