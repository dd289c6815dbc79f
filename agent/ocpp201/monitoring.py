"""The variable monitors of the station (OCPP 2.0.1 block N, N02-N08) over its device model: which
exist, kept across restarts, evaluated against the variables' values, and the NotifyEvent they
cause. The rules are pure, in agent/core/monitoring.py; this module holds the state and the I/O.

- Hard-wired monitors (N04.FR.18: never replaced nor cleared) are what the station watches by
  itself whatever the CSMS does: the Problem of each EVSE (any of its faults, its board not
  answering among them) and of the parts whose failure it detects (a meter that stops answering,
  a contactor whose feedback disagrees, a temperature sensor gone silent), an RCD that trips, an
  emergency stop pressed, and the temperature above the derating limit.
- Preconfigured monitors (restored by SetMonitoringBase FactoryDefault / All): an UpperThreshold
  on each EVSE's Power at its maximum (an EV drawing more than the EVSE can give, severity 4,
  Error). Nothing that fires in normal operation: a connector's state is StatusNotification's.
- Custom monitors: SetVariableMonitoring.

Everything but the hard-wired monitors is stored in the key-value store (the settings table) as
JSON, with the thresholds that are tripped (N07.FR.13/14: a threshold that came back during a
restart is reported cleared). MonitoringCtrlr.ActiveMonitoringBase / ActiveMonitoringLevel /
OfflineQueuingSeverity are stored values of the device model (agent/ocpp201/station_model.py).

Values are looked at every ``PROCESSING_INTERVAL_S``, at once when a connector's state changes,
and at every change the device model reports (SetVariables, a write-only value written). An
event is sent when the monitor's severity is at or below the active level (N05.FR.03); while
offline it is kept for later when its severity is at or below OfflineQueuingSeverity (N07.FR.04,
N08.FR.03), else dropped.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from ocpp.exceptions import OCPPError
from ocpp.v201 import call

from agent.core.monitoring import (
    MAX_SEVERITY,
    THRESHOLDS,
    Alert,
    Monitor,
    MonitoringBase,
    MonitorKind,
    MonitorType,
    Watch,
    clear_status,
    evaluate,
    placed,
    placement,
    queued_offline,
    reported,
    start,
    value_refused,
    with_base,
)
from agent.ocpp201.connection import LinkDown
from agent.ocpp201.device_model import AttributeType, Component, Variable, VariableDef
from agent.ocpp201.values import NUMBER_TYPES

if TYPE_CHECKING:
    from agent.ocpp201.adapter import Ocpp201Adapter

log = logging.getLogger(__name__)

PROCESSING_INTERVAL_S = 1.0
OFFLINE_QUEUE = 200  # events kept while offline, the oldest dropped first
MONITORS_KEY = "ocpp201.monitors"
TRIPPED_KEY = "ocpp201.monitors_tripped"
NEXT_ID_KEY = "ocpp201.monitors_next_id"
BASE_KEY = "ocpp201.ActiveMonitoringBase"
LEVEL_KEY = "ocpp201.ActiveMonitoringLevel"
OFFLINE_SEVERITY_KEY = "ocpp201.OfflineQueuingSeverity"
DEFAULT_LEVEL = MAX_SEVERITY
DEFAULT_OFFLINE_SEVERITY = 4  # Error and worse are kept while offline
FIRST_CUSTOM_ID = 1000  # hard-wired monitors count from 1, preconfigured ones from 500

# The parts whose failure the station itself detects (agent/ocpp201/live.py reads their Problem
# from the faults: meter not answering, contactor feedback disagreeing, temperature sensor silent),
# and each EVSE, whose Problem is any fault of it (its board not answering, a pilot fault, ...).
# The cable lock's Problem is reported by the adapter itself (G05.FR.02, HardWiredNotification).
WATCHED_PARTS = ("FiscalMetering", "PowerContactor", "TemperatureSensor")
Target = tuple[Component, Variable]


@dataclass(frozen=True)
class Request:
    """One SetMonitoringData (snake_case as the library hands it over)."""

    component: Component
    variable: Variable
    type: str
    value: float
    severity: int
    transaction: bool = False
    id: int | None = None


class Monitors:
    def __init__(self, adapter: Ocpp201Adapter) -> None:
        self.adapter = adapter
        self.model = adapter.device_model
        self.store = adapter.services.store
        self.hard_wired, self.preconfigured = self._built_in()
        self.monitors: list[Monitor] = self.hard_wired + self._load()
        self.watches: dict[int, Watch] = {}
        tripped = set(json.loads(self.store.settings().get(TRIPPED_KEY, "[]")))
        now = time.time()
        for monitor in self.monitors:  # from the values now (a Delta counts from them)
            definition = self._definition(monitor)
            watch = start(monitor, self._text(definition) if definition is not None else None, now)
            self.watches[monitor.id] = replace(watch, tripped=monitor.id in tripped and monitor.type in THRESHOLDS)
        self._pending: collections.deque[dict[str, Any]] = collections.deque(maxlen=OFFLINE_QUEUE)
        self._wakeup = asyncio.Event()
        self._written: list[Target] = []  # write-only values written since the last look
        self.model.subscribe(self._value_changed)
        adapter.live.observers.append(lambda _where: self._wakeup.set())

    # ---- what exists --------------------------------------------------------------------

    def _built_in(self) -> tuple[list[Monitor], list[Monitor]]:
        # Severities (Part 2 §2.52): a part failing is a HardwareFailure (1), a tripped RCD or a
        # pressed emergency stop a Danger (0), the temperature above the derating limit an Alert (5).
        hard: list[Monitor] = []
        pre: list[Monitor] = []
        for definition in self.model.definitions():
            target = (definition.component, definition.variable)
            name, part = definition.variable.name, definition.component.name
            if name == "Problem" and (part in WATCHED_PARTS or part == "EVSE"):
                hard.append(Monitor(len(hard) + 1, target, MonitorType.DELTA, 1, 1, kind=MonitorKind.HARD_WIRED))
            elif (part, name) in (("RCD", "Tripped"), ("EmergencyStopSensor", "Active")):
                hard.append(Monitor(len(hard) + 1, target, MonitorType.DELTA, 1, 0, kind=MonitorKind.HARD_WIRED))
            elif (part, name) == ("TemperatureSensor", "Temperature"):
                limit = self.model.value(definition, AttributeType.MAX_SET)
                hard.append(Monitor(len(hard) + 1, target, MonitorType.UPPER_THRESHOLD, float(limit), 5,
                                    kind=MonitorKind.HARD_WIRED))
            elif (part, name) == ("EVSE", "Power") and definition.characteristics.max_limit is not None:
                pre.append(Monitor(500 + len(pre), target, MonitorType.UPPER_THRESHOLD,
                                   float(definition.characteristics.max_limit), 4, kind=MonitorKind.PRECONFIGURED))
        return hard, pre

    def _load(self) -> list[Monitor]:
        stored = self.store.settings().get(MONITORS_KEY)
        if stored is None:
            return list(self.preconfigured)  # a first start: the factory default
        out = []
        for item in json.loads(stored):
            definition = self.model.find(Component.from_dict(item["component"]), Variable.from_dict(item["variable"]))
            if definition is None:  # a variable gone with a new release: its monitor goes too
                continue
            out.append(Monitor(item["id"], (definition.component, definition.variable), MonitorType(item["type"]),
                               item["value"], item["severity"], item.get("transaction", False),
                               MonitorKind(item["kind"])))
        return out

    def _save(self) -> None:
        kept = [{"id": m.id, "component": _target(m)[0].to_dict(), "variable": _target(m)[1].to_dict(),
                 "type": m.type.value, "value": m.value, "severity": m.severity, "transaction": m.transaction,
                 "kind": m.kind.value} for m in self.monitors if m.kind is not MonitorKind.HARD_WIRED]
        self.store.put_setting(MONITORS_KEY, json.dumps(kept))
        self._save_tripped()

    def _save_tripped(self) -> None:
        tripped = sorted(i for i, w in self.watches.items() if w.tripped)
        if json.dumps(tripped) != self.store.settings().get(TRIPPED_KEY, "[]"):
            self.store.put_setting(TRIPPED_KEY, json.dumps(tripped))

    def _int(self, key: str, default: int) -> int:
        text = self.store.settings().get(key)
        return int(text) if text not in (None, "") else default

    @property
    def level(self) -> int:
        return self._int(LEVEL_KEY, DEFAULT_LEVEL)

    # ---- N04 SetVariableMonitoring ------------------------------------------------------

    def set(self, request: Request) -> tuple[str, int | None, str | None]:
        """(status, the monitor's id, why) for one SetMonitoringData."""
        definition = self.model.find(request.component, request.variable)
        if definition is None:
            known = self.model.has_component(request.component)
            return ("UnknownVariable" if known else "UnknownComponent"), request.id, None  # N04.FR.03/04
        try:
            type_ = MonitorType(request.type)
        except ValueError:
            return "UnsupportedMonitorType", request.id, None
        if not definition.characteristics.supports_monitoring:
            return "Rejected", request.id, "the variable cannot be monitored"
        numeric = definition.characteristics.data_type in NUMBER_TYPES and _readable(definition)
        ch = definition.characteristics
        refused = value_refused(type_, request.value, numeric, ch.min_limit, ch.max_limit)
        if refused is not None:
            return refused, request.id, f"{type_.value} {request.value:g} does not fit {request.variable}"
        if not 0 <= request.severity <= MAX_SEVERITY:
            return "Rejected", request.id, "severity is 0..9"
        replacing = request.id is not None
        monitor_id = request.id if request.id is not None else self._next_id()
        new = Monitor(monitor_id, (definition.component, definition.variable), type_, request.value,
                      request.severity, request.transaction)
        status = placement(self.monitors, new, replacing=replacing)
        if status != "Accepted":
            return status, request.id, None
        self.monitors = placed(self.monitors, new)
        # N07.FR.11: a changed threshold is looked at afresh (a value beyond it fires now).
        self.watches[monitor_id] = start(new, self._text(definition), time.time())
        self._save()
        self._wakeup.set()
        return "Accepted", monitor_id, None

    def _next_id(self) -> int:
        taken = {m.id for m in self.monitors}
        candidate = max(self._int(NEXT_ID_KEY, FIRST_CUSTOM_ID), FIRST_CUSTOM_ID)
        while candidate in taken:
            candidate += 1
        self.store.put_setting(NEXT_ID_KEY, str(candidate + 1))
        return candidate

    # ---- N06 ClearVariableMonitoring, N03 SetMonitoringBase, N05 SetMonitoringLevel --------

    def clear(self, monitor_id: int) -> str:
        status = clear_status(self.monitors, monitor_id)
        if status == "Accepted":  # N07.FR.12: a tripped threshold removed is not reported cleared
            self.monitors = [m for m in self.monitors if m.id != monitor_id]
            self.watches.pop(monitor_id, None)
            self._save()
        return status

    def set_base(self, base: MonitoringBase) -> None:
        before = {m.id: m for m in self.monitors}
        self.monitors = with_base(self.monitors, base, self.preconfigured)
        now = time.time()
        for monitor in self.monitors:
            if before.get(monitor.id) != monitor:
                definition = self._definition(monitor)
                self.watches[monitor.id] = start(monitor, self._text(definition) if definition else None, now)
        for gone in set(before) - {m.id for m in self.monitors}:
            self.watches.pop(gone, None)
        self.store.put_setting(BASE_KEY, base.value)
        self._save()
        self._wakeup.set()

    def set_level(self, severity: int) -> bool:
        if not 0 <= severity <= MAX_SEVERITY:
            return False  # N05.FR.02
        self.store.put_setting(LEVEL_KEY, str(severity))
        return True

    # ---- N02 GetMonitoringReport --------------------------------------------------------

    def report(self, criteria: list[str] | None, wanted: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """MonitoringDataType items (snake_case), one per variable with monitors, that match the
        criteria (N02.FR.12-14) and the componentVariables (N02.FR.15-17)."""
        types = None
        if criteria:
            types = set()
            for criterion in criteria:
                types |= {"ThresholdMonitoring": set(THRESHOLDS), "DeltaMonitoring": {MonitorType.DELTA},
                          "PeriodicMonitoring": {MonitorType.PERIODIC, MonitorType.PERIODIC_CLOCK_ALIGNED}}[criterion]
        by_target: dict[Target, list[Monitor]] = {}
        for monitor in sorted(self.monitors, key=lambda m: m.id):
            if types is not None and monitor.type not in types:
                continue
            if wanted and not any(_matches(_target(monitor), item) for item in wanted):
                continue
            by_target.setdefault(_target(monitor), []).append(monitor)
        return [{"component": component.to_dict(), "variable": variable.to_dict(),
                 "variable_monitoring": [{"id": m.id, "transaction": m.transaction, "value": m.value,
                                          "type": m.type.value, "severity": m.severity} for m in monitors]}
                for (component, variable), monitors in by_target.items()]

    # ---- evaluating -----------------------------------------------------------------------

    async def run(self) -> None:
        """Look at the monitored values for the life of the agent; send what fired."""
        was_online = False
        while True:
            try:
                async with asyncio.timeout(PROCESSING_INTERVAL_S):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            self._wakeup.clear()
            try:
                self.look(time.time())
            except Exception:  # a monitor's fault must not end monitoring
                log.exception("evaluating the monitors failed")
            online = self.adapter.online
            if online and not was_online:
                await self._flush()
            was_online = online
            if online and self._pending:
                await self._flush()

    def look(self, now: float) -> None:
        written, self._written = self._written, []
        running = self._transactions()
        for monitor in list(self.monitors):
            definition = self._definition(monitor)
            if definition is None:
                continue
            if monitor.transaction and not self._in_transaction(monitor, running):
                continue
            watch = self.watches.get(monitor.id) or start(monitor, self._text(definition), now)
            if not _readable(definition):  # N07.FR.10: a write-only value fires its Delta monitors when written
                alert = Alert("Delta") if monitor.type is MonitorType.DELTA and monitor.target in written else None
                if monitor.type is MonitorType.DELTA:
                    self.watches[monitor.id] = watch
                    if alert is not None:
                        self._fire(monitor, alert, None, running)
                    continue
                value = None
            else:
                value = self._text(definition)
            alert, self.watches[monitor.id] = evaluate(monitor, watch, value, now)
            if alert is not None:
                self._fire(monitor, alert, value, running)
                if monitor.type in THRESHOLDS:
                    self._save_tripped()

    def _value_changed(self, change: Any) -> None:
        if change.attribute is AttributeType.ACTUAL:
            definition = self.model.find(change.component, change.variable)
            if definition is not None and not _readable(definition):
                self._written.append((definition.component, definition.variable))
            self._wakeup.set()

    def _fire(self, monitor: Monitor, alert: Alert, value: str | None, running: dict[int, str]) -> None:
        component, variable = _target(monitor)
        event: dict[str, Any] = {
            "event_id": self.adapter.next_event_id(), "timestamp": self.adapter.services.clock.iso(),
            "trigger": alert.trigger, "actual_value": (value or "")[:2500], "component": component.to_dict(),
            "variable": variable.to_dict(), "variable_monitoring_id": monitor.id,  # N07.FR.06
            "event_notification_type": monitor.kind.value,
        }
        if alert.cleared:
            event["cleared"] = True  # N07.FR.02
        transaction_id = (running.get(component.evse_id) if component.evse_id is not None
                          else next(iter(running.values()), None))
        if monitor.transaction and transaction_id is not None:
            event["transaction_id"] = transaction_id
        log.info("monitor %d (%s %s.%s, severity %d): %s %s", monitor.id, monitor.type.value, component, variable,
                 monitor.severity, alert.trigger, "cleared" if alert.cleared else event["actual_value"])
        if not reported(monitor.severity, self.level):
            return
        if self.adapter.online:
            self._pending.append(event)
            self._wakeup.set()
        elif queued_offline(monitor.severity, self._int(OFFLINE_SEVERITY_KEY, DEFAULT_OFFLINE_SEVERITY)):
            self._pending.append(event)

    async def _flush(self) -> None:
        while self._pending and self.adapter.online:
            event = self._pending[0]
            try:
                await self.adapter.call(call.NotifyEvent(generated_at=self.adapter.services.clock.iso(), seq_no=0,
                                                         event_data=[event]))  # N07.FR.07
            except (TimeoutError, LinkDown):
                return  # sent again once online
            except OCPPError as exc:
                log.warning("NotifyEvent %d refused: %r", event["event_id"], exc)
            if self._pending and self._pending[0] is event:
                self._pending.popleft()

    # ---- helpers ---------------------------------------------------------------------------

    def _definition(self, monitor: Monitor) -> VariableDef | None:
        return self.model.find(*_target(monitor))

    def _text(self, definition: VariableDef) -> str | None:
        if not _readable(definition):
            return None
        try:
            return self.model.text(definition)
        except Exception as exc:  # noqa: BLE001 - a part that cannot be read now: no value
            log.debug("monitor: reading %s.%s: %r", definition.component, definition.variable, exc)
            return None

    def _transactions(self) -> dict[int, str]:
        station = self.adapter.station
        out = {}
        for evse_id in station.evses():
            view = station.transaction_on(evse_id)
            if view is not None:
                out[evse_id] = view.transaction_id
        return out

    @staticmethod
    def _in_transaction(monitor: Monitor, running: dict[int, str]) -> bool:
        evse_id = _target(monitor)[0].evse_id
        return bool(running) if evse_id is None else evse_id in running


def _target(monitor: Monitor) -> Target:
    """What a monitor of this station watches (the core keeps it opaque)."""
    return cast(Target, monitor.target)


def _readable(definition: VariableDef) -> bool:
    attribute = definition.attribute(AttributeType.ACTUAL)
    return attribute is not None and attribute.readable


def _matches(target: Target, wanted: dict[str, Any]) -> bool:
    """N02.FR.15-17: a componentVariable without instance or EVSE matches every instance and EVSE;
    without a variable, every variable of the component."""
    component, variable = target
    asked = wanted["component"]
    if asked["name"].casefold() != component.name.casefold():
        return False
    if asked.get("instance") and (asked["instance"].casefold() != (component.instance or "").casefold()):
        return False
    evse = asked.get("evse")
    if evse is not None:
        if evse["id"] != component.evse_id:
            return False
        if evse.get("connector_id") is not None and evse["connector_id"] != component.connector_id:
            return False
    asked_variable = wanted.get("variable")
    if asked_variable is None:
        return True
    if asked_variable["name"].casefold() != variable.name.casefold():
        return False
    return not asked_variable.get("instance") or asked_variable["instance"].casefold() == (variable.instance or "").casefold()

