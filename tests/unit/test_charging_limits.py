"""The station's side of smart charging (agent/station/charging_limits.py): limits reach the
session, at most every 5 s while the PWM runs, and profiles are kept in the store."""

from __future__ import annotations

import datetime as dt

from agent.station.clock import Clock
from agent.core.session import PilotChanged, RemoteStartRequested, Tick, TransactionRecorded
from agent.persistence.settings import Settings
from agent.core.smart_charging import Kind, Period, Profile, Purpose, RateUnit, Schedule
from agent.station.connector import ConnectorHardware
from agent.station.station import Station
from agent.persistence.store import Store
from drivers.interfaces import BoardStatus, PilotState

T0 = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.timezone.utc)


class FixedClock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.at = T0

    def now(self) -> dt.datetime:
        return self.at


class IdleBoard:
    """drivers.interfaces.EvseBoard; never driven here (commands are not executed)."""

    async def read_status(self) -> BoardStatus:  # pragma: no cover
        raise NotImplementedError

    async def set_current_limit(self, amps: float) -> None:  # pragma: no cover
        pass

    async def close(self) -> None:  # pragma: no cover
        pass


class Monotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make_station(tmp_path, free_vend_id_tag=None):
    store = Store(tmp_path / "agent.db")
    clock, mono = FixedClock(), Monotonic()
    hardware = ConnectorHardware(evse_id=1, board=IdleBoard(), max_current_a=16.0)
    station = Station([hardware], store, Settings(store), clock, monotonic=mono, free_vend_id_tag=free_vend_id_tag)
    return station, station.connectors[1], clock, mono


def tx_default(pid: int, amps: float, *, start: dt.datetime = T0, periods=None) -> Profile:
    return Profile(
        id=pid,
        connector_id=0,
        stack_level=0,
        purpose=Purpose.TX_DEFAULT,
        kind=Kind.ABSOLUTE,
        installed_at=start,
        schedule=Schedule(RateUnit.AMPS, periods or (Period(0, amps),), start=start),
    )


def test_an_idle_connector_takes_its_limit_at_once(tmp_path):
    station, conn, clock, mono = make_station(tmp_path)
    limits = station.charging_limits
    limits.install(tx_default(1, 10.0))
    limits.step()
    assert conn.session.limit_a == 10.0
    limits.clear()
    limits.step()
    assert conn.session.allowed_a == 16.0  # back to the connector maximum


def test_smart_charging_disabled_leaves_the_profiles_unapplied_until_enabled(tmp_path):
    station, conn, clock, mono = make_station(tmp_path)
    limits = station.charging_limits
    limits.install(tx_default(1, 10.0))
    station.settings.set("smart_charging_enabled", False)
    limits.step()
    assert conn.session.allowed_a == 16.0
    _, composite = limits.composite(1, 600, RateUnit.AMPS)
    assert [p.limit for p in composite.periods] == [16.0]
    station.settings.set("smart_charging_enabled", True)
    limits.step()
    assert conn.session.limit_a == 10.0 and limits.count() == 1


def test_while_charging_the_limit_changes_at_most_every_5_s(tmp_path):
    """ChargingLimits tells the session at once; the session's one clock (agent/core/offer_pacing.py)
    holds the change until 5 s after the last, and offers it at the next event (the poller's Tick)."""
    station, conn, clock, mono = make_station(tmp_path)
    limits = station.charging_limits

    def step() -> None:
        limits.step()
        station.dispatch(conn.id, Tick())  # as the DevicePoller does every poll

    station.dispatch(conn.id, PilotChanged(PilotState.C))
    station.dispatch(conn.id, RemoteStartRequested("TAG"))
    station.dispatch(conn.id, TransactionRecorded(1))  # as Station._run_command does once it is stored
    assert conn.session.offered_a == 16.0
    step()  # the PWM started now
    limits.install(tx_default(1, 10.0))
    mono.t += 1
    step()
    assert conn.session.offered_a == 16.0
    mono.t += 4
    step()
    assert conn.session.offered_a == 10.0
    limits.install(tx_default(1, 4.0))  # under 6 A: a pause, not the end of the transaction
    mono.t += 2
    step()
    assert conn.session.offered_a == 0.0 and conn.session.transaction is not None  # stopping never waits


def test_a_period_start_wakes_the_task_and_applies(tmp_path):
    station, conn, clock, mono = make_station(tmp_path)
    limits = station.charging_limits
    limits.install(tx_default(1, 0, periods=(Period(0, 8.0), Period(30, 12.0))))
    clock.at = T0 + dt.timedelta(seconds=10)
    assert limits.step() == 1.0  # looks for transactions every second
    assert conn.session.limit_a == 8.0
    clock.at = T0 + dt.timedelta(seconds=29.5)
    assert abs(limits.step() - 0.5) < 1e-6  # the next period is due sooner
    clock.at = T0 + dt.timedelta(seconds=30)
    limits.step()
    assert conn.session.limit_a == 12.0


def test_profiles_are_kept_in_the_store(tmp_path):
    station, conn, clock, mono = make_station(tmp_path)
    station.charging_limits.install(tx_default(1, 10.0))
    station.charging_limits.install(tx_default(2, 12.0, start=T0 + dt.timedelta(hours=1)))  # replaces 1
    station.store.close()
    again, conn2, *_ = make_station(tmp_path)
    assert [p.id for p in again.charging_limits.smart.profiles] == [2]
    assert again.charging_limits.clear(profile_id=2)
    again.store.close()
    third, *_ = make_station(tmp_path)
    assert third.charging_limits.smart.profiles == []
