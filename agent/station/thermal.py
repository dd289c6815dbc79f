"""Thermal protection from the station's temperature sensor (TMP102 / LM75 on I²C).

Above ``derate_above_c`` every connector's current is derated, linearly from its
maximum at ``derate_above_c`` down to 6 A (the least the pilot can signal, IEC 61851-1)
at ``stop_above_c``, in whole amperes; at ``stop_above_c`` the connectors turn Faulted
(``Fault.HIGH_TEMPERATURE``, OCPP HighTemperature): the contactor opens, a running
transaction is suspended, and it resumes once the temperature is ``hysteresis_c``
below the stop threshold. A sensor that stops answering suspends charging the same way
(``Fault.TEMP_SENSOR``): without it nothing guards the temperature.

Derating reaches the session as ``DerateChanged`` (its own fact beside smart charging's
limit) as soon as it changes; the session paces the offer it makes of it, one 5 s clock per
connector over every source of limits (IEC 61851-1, agent/core/offer_pacing.py); the stop
acts at once. The last reading is kept in
``station.temperature_c`` for the Temperature measurand of MeterValues.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.station.clock import Clock
from agent.core.session import MIN_OFFER_A, DerateChanged, Fault, FaultCleared, FaultRaised
from drivers.interfaces import DeviceError, DeviceUnavailable, TemperatureSensor

if TYPE_CHECKING:
    from agent.station.station import Station
    from agent.station.view import ConnectorView

log = logging.getLogger(__name__)

LOST_AFTER_FAILURES = 3


@dataclass(frozen=True)
class ThermalLimits:
    derate_above_c: float = 60.0
    stop_above_c: float = 75.0
    hysteresis_c: float = 5.0

    def __post_init__(self) -> None:
        if not self.derate_above_c < self.stop_above_c:
            raise ValueError("derate_above_c must be below stop_above_c")
        if self.hysteresis_c < 0:
            raise ValueError("hysteresis_c must be >= 0")


def derated_current(celsius: float, max_a: float, limits: ThermalLimits) -> float | None:
    """The current allowed at ``celsius`` (None: no derating)."""
    if celsius <= limits.derate_above_c or max_a <= MIN_OFFER_A:
        return None
    share = min(1.0, (celsius - limits.derate_above_c) / (limits.stop_above_c - limits.derate_above_c))
    return float(max(MIN_OFFER_A, math.floor(max_a - share * (max_a - MIN_OFFER_A))))


def overheated(celsius: float, was_overheated: bool, limits: ThermalLimits) -> bool:
    if celsius >= limits.stop_above_c:
        return True
    return was_overheated and celsius > limits.stop_above_c - limits.hysteresis_c


class ThermalGuard:
    def __init__(self, station: Station, sensor: TemperatureSensor, limits: ThermalLimits,
                 interval_s: float = 1.0, monotonic: Callable[[], float] | None = None) -> None:
        self.station = station
        self.sensor = sensor
        self.limits = limits
        self.interval_s = interval_s
        self._monotonic = monotonic or Clock.monotonic
        self.hot = False
        self.failures = 0
        self._applied: dict[int, float | None] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the guard never ends: log and go on
                log.exception("thermal: check failed")
            await asyncio.sleep(self.interval_s)

    async def check(self) -> None:
        try:
            celsius = await self.sensor.read_celsius()
        except (DeviceUnavailable, DeviceError) as exc:
            self.failures += 1
            if self.failures == LOST_AFTER_FAILURES:
                log.error("thermal: temperature sensor lost (%s): charging suspended", exc)
                self.station.temperature_c = None
                self._each(FaultRaised(Fault.TEMP_SENSOR))
            return
        if self.failures >= LOST_AFTER_FAILURES:
            log.info("thermal: temperature sensor answers again")
            self._each(FaultCleared(Fault.TEMP_SENSOR))
        self.failures = 0
        self.station.temperature_c = celsius
        # The derating first: charging that resumes after cooling starts at the current allowed now.
        for evse_id in self.station.evses():
            view = self.station.view(evse_id)
            self._derate(view, derated_current(celsius, view.max_current_a, self.limits), celsius)
        hot = overheated(celsius, self.hot, self.limits)
        if hot != self.hot:
            self.hot = hot
            if hot:
                log.error("thermal: %.1f °C, at or above %.1f °C: charging stops", celsius, self.limits.stop_above_c)
            else:
                log.info("thermal: %.1f °C: cooled down, charging may go on", celsius)
            self._each(FaultRaised(Fault.HIGH_TEMPERATURE) if hot else FaultCleared(Fault.HIGH_TEMPERATURE))

    def _each(self, event) -> None:
        for evse_id in self.station.evses():
            self.station.dispatch(evse_id, event)

    def _derate(self, view: ConnectorView, amps: float | None, celsius: float) -> None:
        evse_id = view.evse_id
        if amps == self._applied.get(evse_id):
            return
        self._applied[evse_id] = amps
        if amps is None:
            log.info("connector %d: %.1f °C: no thermal derating", evse_id, celsius)
        else:
            log.warning("connector %d: %.1f °C: derated to %.0f A", evse_id, celsius, amps)
        self.station.dispatch(evse_id, DerateChanged(amps))
