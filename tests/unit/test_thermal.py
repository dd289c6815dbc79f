"""Thermal derating and stop (agent/station/thermal.py) on real sessions; the sensor is our own interface."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from agent.core.session import (
    ConnectorStatus,
    DerateChanged,
    Fault,
    FaultRaised,
    LimitChanged,
    OfferCurrent,
    Session,
    Tick,
)
from agent.station.thermal import ThermalGuard, ThermalLimits, derated_current, overheated
from drivers.interfaces import DeviceUnavailable
from tests.unit.test_session import charging_session, of

LIMITS = ThermalLimits(derate_above_c=60.0, stop_above_c=75.0, hysteresis_c=5.0)


@pytest.mark.parametrize("celsius,amps", [(25.0, None), (60.0, None), (60.5, 15.0), (67.5, 11.0), (74.9, 6.0), (90.0, 6.0)])
def test_derating_is_linear_from_the_maximum_to_six_amps_in_whole_amps(celsius, amps):
    assert derated_current(celsius, 16.0, LIMITS) == amps


def test_the_stop_has_hysteresis():
    assert not overheated(74.9, False, LIMITS)
    assert overheated(75.0, False, LIMITS)
    assert overheated(71.0, True, LIMITS)  # still hot until 5 °C below the stop
    assert not overheated(70.0, True, LIMITS)
    with pytest.raises(ValueError):
        ThermalLimits(derate_above_c=80, stop_above_c=75)


def test_derating_and_smart_charging_limit_combine_to_the_lower():
    s = charging_session()
    assert s.offered_a == 16
    out = s.handle(DerateChanged(10.0), 10)
    assert of(OfferCurrent, out) == [OfferCurrent(10.0)]
    s.handle(LimitChanged(8.0), 15)
    assert s.offered_a == 8.0
    s.handle(LimitChanged(16.0), 20)
    assert s.offered_a == 10.0  # smart charging lifted its limit; the derating stays
    s.handle(DerateChanged(None), 25)
    assert s.offered_a == 16.0


def test_two_sources_changing_one_second_apart_share_one_5_s_clock():
    """IEC 61851-1: the offer changes at most every 5 s, whichever source of limits asks
    (issue 16 item 2: derating and smart charging each kept a clock of their own)."""
    s = charging_session()
    offers: list[tuple[float, float]] = []  # (time, amps) of every OfferCurrent

    def handle(event, now: float) -> None:
        offers.extend((now, c.amps) for c in of(OfferCurrent, s.handle(event, now)))

    handle(DerateChanged(12.0), 10)  # the last change was long ago: at once
    handle(LimitChanged(10.0), 11)  # 1 s later: held, not offered
    handle(DerateChanged(11.0), 11)  # the same moment: the newest wish counts
    for now in (12, 13, 14, 14.9, 15, 16, 17):
        handle(Tick(), now)  # the station's poll
    assert offers == [(10, 12.0), (15, 10.0)]
    assert s.offered_a == 10.0
    handle(LimitChanged(None), 16)  # back up to the derating, 11 A: 5 s after the last change
    handle(Tick(), 19.9)
    assert offers[-1] == (15, 10.0)
    handle(Tick(), 20)
    assert offers[-1] == (20, 11.0)
    handle(FaultRaised(Fault.HIGH_TEMPERATURE), 21)  # stopping never waits
    assert offers[-1] == (21, 0.0)
    changes = [t for t, _ in offers]
    assert all(b - a >= 5 for a, b in itertools.pairwise(changes[:-1]))  # every change but the stop paced


@dataclass
class Sensor:
    """A ``TemperatureSensor`` whose reading the test sets."""

    celsius: float = 25.0
    silent: bool = False

    async def read_celsius(self) -> float:
        if self.silent:
            raise DeviceUnavailable("no acknowledge")
        return self.celsius

    async def close(self) -> None:
        pass


@dataclass
class StationView:
    """The part of a Station the guard uses: evses, view, dispatch, temperature_c."""

    sessions: dict[int, Session]
    temperature_c: float | None = None
    now: list[float] = field(default_factory=lambda: [100.0])

    def evses(self) -> dict[int, tuple[int, ...]]:
        return {evse_id: (1,) for evse_id in self.sessions}

    def view(self, evse_id: int) -> SimpleNamespace:  # the fields of agent.station.view.ConnectorView it reads
        session = self.sessions[evse_id]
        return SimpleNamespace(evse_id=evse_id, max_current_a=session.max_current_a, offered_a=session.offered_a)

    def dispatch(self, evse_id: int, event) -> None:
        self.sessions[evse_id].handle(event, self.now[0])


def guard_for(session: Session):
    station = StationView({1: session})
    sensor = Sensor()
    guard = ThermalGuard(station, sensor, LIMITS, monotonic=lambda: station.now[0])
    return station, sensor, guard


async def test_heat_derates_then_stops_then_charging_resumes_when_cool():
    session = charging_session()
    station, sensor, guard = guard_for(session)
    await guard.check()
    assert station.temperature_c == 25.0 and session.offered_a == 16

    sensor.celsius = 67.5
    await guard.check()
    assert session.offered_a == 11.0 and session.status() is ConnectorStatus.CHARGING

    sensor.celsius = 70.0
    station.now[0] += 1
    await guard.check()
    assert session.offered_a == 11.0  # the PWM changed 1 s ago: IEC 61851-1 wants 5 s
    station.now[0] += 5
    await guard.check()
    station.dispatch(1, Tick())  # the station's poll: the held change is due
    assert session.offered_a == 9.0

    sensor.celsius = 76.0
    await guard.check()  # the stop does not wait
    assert session.offered_a == 0 and session.fault is Fault.HIGH_TEMPERATURE
    assert session.status() is ConnectorStatus.FAULTED and session.transaction is not None

    sensor.celsius = 72.0
    station.now[0] += 10
    await guard.check()
    assert session.fault is Fault.HIGH_TEMPERATURE  # not yet 5 °C below the stop
    sensor.celsius = 40.0
    station.now[0] += 10
    await guard.check()
    assert session.fault is None and session.offered_a == 16
    assert session.status() is ConnectorStatus.CHARGING


async def test_a_lost_sensor_suspends_charging_until_it_answers():
    session = charging_session()
    station, sensor, guard = guard_for(session)
    await guard.check()
    sensor.silent = True
    await guard.check()
    await guard.check()
    assert session.offered_a == 16  # two failed reads are not yet a lost sensor
    await guard.check()
    assert session.fault is Fault.TEMP_SENSOR and session.offered_a == 0 and station.temperature_c is None
    sensor.silent = False
    await guard.check()
    assert session.fault is None and session.offered_a == 16 and station.temperature_c == 25.0
