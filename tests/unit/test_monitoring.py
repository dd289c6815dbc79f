"""The pure variable-monitor rules (agent/core/monitoring.py): placing, clearing, bases, firing."""

from __future__ import annotations

from agent.core.monitoring import (
    Alert,
    Monitor,
    MonitoringBase,
    MonitorKind,
    MonitorType,
    Watch,
    clear_status,
    evaluate,
    next_period,
    placed,
    placement,
    queued_offline,
    reported,
    start,
    value_refused,
    with_base,
)

UP, LOW, DELTA = MonitorType.UPPER_THRESHOLD, MonitorType.LOWER_THRESHOLD, MonitorType.DELTA


def monitor(id_: int = 1, type_: MonitorType = UP, value: float = 10, severity: int = 5, target: str = "power",
            kind: MonitorKind = MonitorKind.CUSTOM) -> Monitor:
    return Monitor(id_, target, type_, value, severity, kind=kind)


def run(m: Monitor, values: list[str | None], first: str | None = None) -> list[Alert | None]:
    watch, out = start(m, first, 0.0), []
    for n, value in enumerate(values, 1):
        alert, watch = evaluate(m, watch, value, float(n))
        out.append(alert)
    return out


def test_an_upper_threshold_fires_once_when_exceeded_and_once_cleared():
    assert run(monitor(), ["5", "10", "11", "12", "10", "9"]) == [
        None, None, Alert("Alerting"), None, Alert("Alerting", cleared=True), None]


def test_a_lower_threshold_fires_below_not_at_it():
    assert run(monitor(type_=LOW), ["10", "9.5", "3", "10.5"]) == [
        None, Alert("Alerting"), None, Alert("Alerting", cleared=True)]


def test_a_threshold_already_exceeded_when_set_fires_at_once_and_unknown_values_change_nothing():
    assert run(monitor(), ["20", None, "", "abc", "20"]) == [Alert("Alerting"), None, None, None, None]


def test_a_numeric_delta_fires_when_moved_more_than_its_value_from_the_last_event():
    assert run(monitor(type_=DELTA, value=5), ["12", "16", "5", "9", "0"], first="10") == [
        None, Alert("Delta"), Alert("Delta"), None, None]


def test_a_delta_on_text_fires_at_every_change():
    assert run(monitor(type_=DELTA, value=1), ["Available", "Occupied", "Occupied", "Faulted"], first="Available") == [
        None, Alert("Delta"), None, Alert("Delta")]


def test_periodic_and_clock_aligned():
    periodic = Monitor(1, "x", MonitorType.PERIODIC, 3, 5)
    watch = start(periodic, None, 100.0)
    assert watch.next_due == 103.0
    assert evaluate(periodic, watch, None, 102.9) == (None, watch)
    alert, watch = evaluate(periodic, watch, None, 103.2)
    assert alert == Alert("Periodic") and watch.next_due == 106.2
    aligned = Monitor(2, "x", MonitorType.PERIODIC_CLOCK_ALIGNED, 900, 5)
    assert next_period(aligned, 3600 * 5 + 61) == 3600 * 5 + 900


def test_values_refused():
    assert value_refused(UP, 10, False, None, None) == "UnsupportedMonitorType"
    assert value_refused(UP, 99, True, 0, 50) == "Rejected"
    assert value_refused(LOW, -1, True, 0, 50) == "Rejected"
    assert value_refused(UP, 50, True, 0, 50) is None
    assert value_refused(DELTA, -1, True, None, None) == "Rejected"
    assert value_refused(DELTA, 1, False, None, None) is None
    assert value_refused(MonitorType.PERIODIC, 0, False, None, None) == "Rejected"


def test_placement_duplicates_replacements_and_hard_wired_monitors():
    existing = [monitor(1), monitor(2, kind=MonitorKind.HARD_WIRED, target="problem", type_=DELTA)]
    assert placement(existing, monitor(3), replacing=False) == "Duplicate"  # same type and severity
    assert placement(existing, monitor(3, severity=4), replacing=False) == "Accepted"
    assert placement(existing, monitor(1, value=20), replacing=True) == "Accepted"  # replaces itself
    assert placement(existing, monitor(7), replacing=True) == "Rejected"  # no such id
    assert placement(existing, monitor(1, target="other"), replacing=True) == "Rejected"  # another variable
    assert placement(existing, monitor(2, type_=DELTA, target="problem", severity=1), replacing=True) == "Rejected"


def test_a_replaced_preconfigured_monitor_becomes_custom():
    pre = monitor(5, kind=MonitorKind.PRECONFIGURED)
    after = placed([pre], monitor(5, value=30, kind=MonitorKind.PRECONFIGURED))
    assert after == [monitor(5, value=30, kind=MonitorKind.CUSTOM)]


def test_clear_status():
    existing = [monitor(1), monitor(2, kind=MonitorKind.HARD_WIRED)]
    assert [clear_status(existing, i) for i in (1, 2, 3)] == ["Accepted", "Rejected", "NotFound"]


def test_monitoring_bases():
    hard = monitor(1, kind=MonitorKind.HARD_WIRED, target="a")
    pre = monitor(2, kind=MonitorKind.PRECONFIGURED, target="b")
    changed_pre = monitor(2, value=99, target="b")
    custom = monitor(3, target="c")
    now = [hard, changed_pre, custom]
    assert with_base(now, MonitoringBase.ALL, [pre]) == now
    assert with_base([hard, custom], MonitoringBase.ALL, [pre]) == [hard, custom, pre]
    assert with_base(now, MonitoringBase.FACTORY_DEFAULT, [pre]) == [hard, pre]
    assert with_base(now, MonitoringBase.HARD_WIRED_ONLY, [pre]) == [hard]


def test_levels_and_offline_queuing():
    assert reported(3, 5) and reported(5, 5) and not reported(6, 5)
    assert queued_offline(2, 2) and not queued_offline(3, 2)


def test_an_unset_periodic_watch_starts_counting():
    periodic = Monitor(1, "x", MonitorType.PERIODIC, 3, 5)
    assert evaluate(periodic, Watch(), None, 10.0) == (None, Watch(next_due=13.0))
