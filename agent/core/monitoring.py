"""Variable monitors (OCPP 2.0.1 functional block N, N04-N08), as pure rules: which monitors a
request may place, replace or clear, which a monitoring base keeps, and whether a value makes a
monitor fire. No I/O, no clock: values and the time (epoch seconds) are passed in.

A monitor watches one variable of the device model (``target``: whatever identifies it for the
caller, compared by equality). Its kind says where it came from: hard-wired in the station (can
be neither replaced nor cleared, N04.FR.18, N06.FR.03), preconfigured by the manufacturer
(replaced by a custom one when the CSMS changes it, N04.FR.15), or custom (set by the CSMS).

Evaluation keeps a ``Watch`` per monitor:
- UpperThreshold / LowerThreshold: ``tripped`` while the value is beyond the threshold (strictly
  above / below, N07.FR.16/17). One event when it goes beyond, one (cleared) when it comes back
  (N07.FR.02): the tripped state is the hysteresis, so a value that stays beyond fires once.
- Delta: ``reference``, the value when the monitor was set or last fired. A number fires when it
  moved more than the monitor's value from it (N07.FR.18); anything else at every change
  (N07.FR.19).
- Periodic: every ``value`` seconds from when it was set (N08.FR.06); PeriodicClockAligned at
  each multiple of ``value`` seconds of the clock (N08.FR.07: 900 fires at :00, :15, :30, :45).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace

MAX_SEVERITY = 9  # Part 2 §2.52 severity 0 (Danger) .. 9 (Debug)


class MonitorType(str, enum.Enum):
    """Part 2 §3.57 MonitorEnumType."""

    UPPER_THRESHOLD = "UpperThreshold"
    LOWER_THRESHOLD = "LowerThreshold"
    DELTA = "Delta"
    PERIODIC = "Periodic"
    PERIODIC_CLOCK_ALIGNED = "PeriodicClockAligned"


class MonitorKind(str, enum.Enum):
    """Part 2 §3.29 EventNotificationEnumType, for the monitors' events."""

    HARD_WIRED = "HardWiredMonitor"
    PRECONFIGURED = "PreconfiguredMonitor"
    CUSTOM = "CustomMonitor"


class MonitoringBase(str, enum.Enum):
    """Part 2 §3.56 MonitoringBaseEnumType."""

    ALL = "All"
    FACTORY_DEFAULT = "FactoryDefault"
    HARD_WIRED_ONLY = "HardWiredOnly"


THRESHOLDS = (MonitorType.UPPER_THRESHOLD, MonitorType.LOWER_THRESHOLD)
PERIODICS = (MonitorType.PERIODIC, MonitorType.PERIODIC_CLOCK_ALIGNED)


@dataclass(frozen=True)
class Monitor:
    id: int
    target: Hashable
    type: MonitorType
    value: float
    severity: int
    transaction: bool = False  # active only while a transaction runs
    kind: MonitorKind = MonitorKind.CUSTOM


@dataclass(frozen=True)
class Watch:
    tripped: bool = False
    reference: str | None = None
    next_due: float | None = None


@dataclass(frozen=True)
class Alert:
    trigger: str  # Part 2 §3.31 EventTriggerEnumType: Alerting, Delta, Periodic
    cleared: bool = False


# ---- placing, replacing, clearing (N04, N06) --------------------------------------------------


def value_refused(type_: MonitorType, value: float, numeric: bool, low: float | None, high: float | None) -> str | None:
    """Why a monitor of ``type_`` at ``value`` cannot watch a variable (numeric or not, with its
    minLimit / maxLimit), or None. "UnsupportedMonitorType": a threshold on a value that is no
    number (N04.FR.05); else "Rejected" with the reason."""
    if type_ in THRESHOLDS:
        if not numeric:
            return "UnsupportedMonitorType"
        if (low is not None and value < low) or (high is not None and value > high):
            return "Rejected"  # N04.FR.06: outside the variable's range
    if type_ is MonitorType.DELTA and value < 0:
        return "Rejected"  # N04.FR.14
    if type_ in PERIODICS and value <= 0:
        return "Rejected"
    return None


def placement(monitors: Iterable[Monitor], new: Monitor, *, replacing: bool) -> str:
    """"Accepted", "Rejected" or "Duplicate" for ``new``; ``replacing``: the request named its id
    (N04.FR.12/13/16/18), else ``new.id`` is a fresh one (N04.FR.11)."""
    monitors = list(monitors)
    if replacing:
        old = next((m for m in monitors if m.id == new.id), None)
        if old is None or old.target != new.target or old.kind is MonitorKind.HARD_WIRED:
            return "Rejected"
    for other in monitors:  # N04.FR.10: one monitor per type and severity on a variable
        if other.id != new.id and other.target == new.target and other.type is new.type and other.severity == new.severity:
            return "Duplicate"
    return "Accepted"


def placed(monitors: Iterable[Monitor], new: Monitor) -> list[Monitor]:
    """The monitors with ``new`` in (replacing the one of its id, N04.FR.12); a replaced
    preconfigured monitor becomes a custom one (N04.FR.15)."""
    out = [m for m in monitors if m.id != new.id]
    return [*out, replace(new, kind=MonitorKind.CUSTOM)]


def clear_status(monitors: Iterable[Monitor], monitor_id: int) -> str:
    """N06: "Accepted", "NotFound" (N06.FR.02) or "Rejected" for a hard-wired one (N06.FR.03)."""
    found = next((m for m in monitors if m.id == monitor_id), None)
    if found is None:
        return "NotFound"
    return "Rejected" if found.kind is MonitorKind.HARD_WIRED else "Accepted"


def with_base(monitors: Iterable[Monitor], base: MonitoringBase, preconfigured: Iterable[Monitor]) -> list[Monitor]:
    """N03: the monitors after SetMonitoringBase. All keeps the custom ones (also those that
    replaced a preconfigured one) and adds the preconfigured ones missing (N03.FR.03);
    FactoryDefault drops the custom ones and restores the preconfigured ones (N03.FR.04);
    HardWiredOnly keeps the hard-wired ones only (N03.FR.05). The station's factory default set is
    all of its preconfigured monitors."""
    monitors = list(monitors)
    hard_wired = [m for m in monitors if m.kind is MonitorKind.HARD_WIRED]
    if base is MonitoringBase.HARD_WIRED_ONLY:
        return hard_wired
    if base is MonitoringBase.FACTORY_DEFAULT:
        return hard_wired + list(preconfigured)
    taken = {m.id for m in monitors}
    return monitors + [m for m in preconfigured if m.id not in taken]


# ---- firing (N07, N08) -------------------------------------------------------------------------


def number(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def next_period(monitor: Monitor, now: float) -> float:
    """When a periodic monitor set (or fired) at ``now`` fires next."""
    if monitor.type is MonitorType.PERIODIC_CLOCK_ALIGNED:
        return (math.floor(now / monitor.value) + 1) * monitor.value
    return now + monitor.value


def start(monitor: Monitor, value: str | None, now: float) -> Watch:
    """The watch of a monitor just set. A threshold starts not tripped, so a value already beyond
    it fires at the first evaluation (N07.FR.11)."""
    if monitor.type in PERIODICS:
        return Watch(next_due=next_period(monitor, now))
    if monitor.type is MonitorType.DELTA:
        return Watch(reference=value)
    return Watch()


def evaluate(monitor: Monitor, watch: Watch, value: str | None, now: float) -> tuple[Alert | None, Watch]:
    """Whether ``value`` (the variable's Actual value as on the wire; None when unknown or
    write-only) makes the monitor fire now, and its watch after."""
    if monitor.type in PERIODICS:
        if watch.next_due is not None and now >= watch.next_due:
            return Alert("Periodic"), replace(watch, next_due=next_period(monitor, now))  # N08.FR.05
        if watch.next_due is None:
            return None, replace(watch, next_due=next_period(monitor, now))
        return None, watch
    if monitor.type is MonitorType.DELTA:
        return _delta(monitor, watch, value)
    measured = number(value)
    if measured is None:
        return None, watch  # an unknown value neither trips nor clears
    beyond = measured > monitor.value if monitor.type is MonitorType.UPPER_THRESHOLD else measured < monitor.value
    if beyond == watch.tripped:
        return None, watch
    return Alert("Alerting", cleared=not beyond), replace(watch, tripped=beyond)


def _delta(monitor: Monitor, watch: Watch, value: str | None) -> tuple[Alert | None, Watch]:
    if value == watch.reference:
        return None, watch
    now_number, then_number = number(value), number(watch.reference)
    if now_number is not None and then_number is not None and abs(now_number - then_number) <= monitor.value:
        return None, watch  # N07.FR.18: moved no more than the monitor's value
    return Alert("Delta"), replace(watch, reference=value)


def reported(severity: int, level: int) -> bool:
    """N05.FR.03 / N07.FR.15: only events of monitors at or below the active level's severity."""
    return severity <= level


def queued_offline(severity: int, offline_severity: int) -> bool:
    """N07.FR.04 / N08.FR.03: an event while offline is kept for later when its severity is at or
    below OfflineQueuingSeverity (else dropped)."""
    return severity <= offline_severity
