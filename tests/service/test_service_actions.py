"""The station side of the hardware tests (agent/station/service_actions.py) on a real Station
(its tasks not running) with the real ConnectorSafety, over fakes of our own driver interfaces
(tests/unit/test_safety_io.py's)."""

from __future__ import annotations

import asyncio
import time

import pytest

from agent.app.config import GpioSection
from agent.core.safety_rules import SelfTest
from agent.core.session import AuthorizationResult, CardPresented, Fault, PilotChanged, Tick
from agent.service.ports import ServiceActions, TestRefused
from agent.backend.ports import AuthorizationStatus, IdTagInfo
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from agent.station.authorization import ListEntry
from agent.station.clock import Clock
from agent.station.connector import ConnectorHardware
from agent.station.station import Station
from agent.station.safety_io import ConnectorSafety, SafetyDevices
from agent.station.service_actions import HOLD_RENEW_S, CardTap, StationServiceActions, TestableContactor
from drivers.interfaces import BoardStatus, DeviceUnavailable, LightPattern, MeterReading, PilotState
from tests.unit.test_charging_limits import IdleBoard
from tests.unit.test_safety_io import FakeContactor, FakeInput


class FakeLight:
    def __init__(self) -> None:
        self.shown: list[LightPattern] = []

    def show(self, pattern: LightPattern) -> None:
        self.shown.append(pattern)

    def release(self) -> None:
        pass


class TimedRcd(FakeInput):
    """An RCM whose self-test wire trips it for the pulse (real time)."""

    def __init__(self, works: bool = True) -> None:
        super().__init__()
        self.works = works
        self.until = 0.0

    def is_active(self) -> bool:
        return self.active or time.monotonic() < self.until


class TestWire:
    __test__ = False

    def __init__(self, rcd: TimedRcd) -> None:
        self.rcd, self.pulses = rcd, 0

    def pulse(self, seconds: float) -> None:
        self.pulses += 1
        if self.rcd.works:
            self.rcd.until = time.monotonic() + seconds

    def release(self) -> None:
        pass


class FakeMeter:
    def __init__(self) -> None:
        self.answers = True

    async def read(self) -> MeterReading:
        if not self.answers:
            raise DeviceUnavailable("no answer from unit 2")
        return MeterReading(1234.0, 0.0, (0.0, 0.0, 0.0), (230.0, 231.0, 229.0))

    async def close(self) -> None:
        pass


class FakeReader:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def cards(self):
        while True:
            yield await self.queue.get()

    async def close(self) -> None:
        pass


class Rig:
    """One connector with GPIO safety I/O, the station around it as the actions see it."""

    def __init__(self, real_time: bool = False) -> None:
        self.now = 0.0
        clock = time.monotonic if real_time else (lambda: self.now)
        self.contactor, self.rcd = FakeContactor(), TimedRcd()
        self.wire = TestWire(self.rcd)
        self.lights = {name: FakeLight() for name in ("green", "blue", "red")}
        devices = SafetyDevices(contactor=self.contactor, rcd=self.rcd, rcm_test=self.wire, lights=dict(self.lights))
        self.safety = ConnectorSafety(devices, GpioSection(feedback_debounce_s=0.25), monotonic=clock)
        self.reader = FakeReader()
        store = Store(":memory:")
        # A real Station whose tasks do not run: the test drives its session, the safety check and the actions.
        self.station = Station([ConnectorHardware(evse_id=1, board=IdleBoard(), meter=FakeMeter(), safety=self.safety,
                                                  max_current_a=16.0)],
                               store, Settings(store), Clock(), card_reader=self.reader, monotonic=clock)
        accepted = IdTagInfo(AuthorizationStatus.ACCEPTED)
        self.station.authorizer.local.update_list(1, [ListEntry("04A1B2C3", accepted)], full=True)
        self.conn = self.station.connectors[1]
        self.conn.board_status = BoardStatus(PilotState.A, False, 0.0)  # what the device poller read
        self.shown: list[tuple[int, str, float]] = []
        self.actions = StationServiceActions(self.station, lambda *shown: self.shown.append(shown), {1}, monotonic=clock)
        self.safety.attach(1, self.conn.session, dispatch=self.dispatch, restate_offer=self.conn.restate_offer,
                           board_fault=lambda: self.conn.board_fault, online=lambda: True)
        self.dispatch(Tick())

    def dispatch(self, event) -> None:
        self.station.dispatch(1, event)  # the session, then the safety I/O follows it

    def check_at(self, now: float) -> None:
        self.now = now
        self.safety.check()


async def until(condition, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_actions_are_the_pages_port():
    assert isinstance(Rig().actions, ServiceActions)


async def test_the_contactor_test_closes_it_only_while_renewed():
    rig = Rig()
    state = rig.actions.contactor_hold(1)
    assert state.closed and rig.contactor.commanded_closed
    rig.now = 0.8
    assert rig.actions.contactor_hold(1).closed  # renewed in time
    rig.now = 0.8 + HOLD_RENEW_S + 0.1  # and then not
    await until(lambda: not rig.contactor.commanded_closed)
    assert rig.actions.contactor_state(1).ended == "released (not renewed)"


async def test_the_safety_code_does_not_take_the_held_contactor_for_a_welded_one():
    rig = Rig()
    rig.actions.contactor_hold(1)
    for step in range(1, 8):  # 0.35 s past the 0.25 s debounce, renewed all along
        rig.check_at(step * 0.05)
        rig.actions.contactor_hold(1)
    assert rig.contactor.commanded_closed  # the safety code did not open it ...
    assert Fault.WELDED not in rig.conn.session.faults  # ... nor call it welded
    rig.actions.contactor_release(1)
    assert not rig.contactor.commanded_closed
    rig.check_at(0.5)
    rig.check_at(0.9)
    assert not rig.conn.session.faults


async def test_a_welded_contactor_is_still_found_after_the_test():
    rig = Rig()
    rig.actions.contactor_hold(1)
    rig.contactor.welded = True  # the contacts stick while closed for the test
    rig.actions.contactor_release(1)
    rig.check_at(0.1)
    rig.check_at(0.4)
    assert Fault.WELDED in rig.conn.session.faults


async def test_an_ev_plugged_in_during_the_test_opens_the_contactor_at_once():
    rig = Rig()
    rig.actions.contactor_hold(1)
    rig.dispatch(PilotChanged(PilotState.B))
    await until(lambda: not rig.contactor.commanded_closed, timeout=1.0)
    assert rig.actions.contactor_state(1).ended.startswith("interlock: an EV is plugged in")


async def test_an_rcd_trip_during_the_test_opens_the_contactor_through_the_safety_code():
    rig = Rig()
    rig.actions.contactor_hold(1)
    rig.rcd.press_from_a_thread(True)
    await until(lambda: not rig.contactor.commanded_closed, timeout=1.0)
    assert rig.actions.contactor_state(1).ended is not None


@pytest.mark.parametrize("setup, code", [
    (lambda rig: rig.dispatch(PilotChanged(PilotState.B)), "ev_plugged"),
    (lambda rig: (rig.dispatch(CardPresented("04AA")), rig.dispatch(AuthorizationResult("04AA", True))), "session"),
    (lambda rig: setattr(rig.conn, "board_status", None), "board_silent"),
])
async def test_the_contactor_test_is_refused_and_the_contactor_stays_open(setup, code):
    rig = Rig()
    setup(rig)
    with pytest.raises(TestRefused) as refused:
        rig.actions.contactor_hold(1)
    assert refused.value.code == code
    assert not rig.contactor.commanded_closed
    assert all(closed is False for closed, _ in rig.contactor.switches)


async def test_the_card_test_takes_the_next_card_and_the_station_gets_the_others():
    rig = Rig()
    assert isinstance(rig.station.card_reader, CardTap)
    seen: list[str] = []

    async def station_reads() -> None:
        async for card in rig.station.card_reader.cards():
            seen.append(card)

    reading = asyncio.create_task(station_reads())
    try:
        waiting = asyncio.create_task(rig.actions.next_card(5.0))
        await asyncio.sleep(0)
        with pytest.raises(TestRefused, match="already waiting"):
            await rig.actions.next_card(1.0)
        rig.reader.queue.put_nowait("04A1B2C3")
        result = await waiting
        assert (result.id_tag, result.accepted, result.why) == ("04A1B2C3", True, "offline, accepted by the local list/cache")
        rig.reader.queue.put_nowait("DEADBEEF")  # no test waits: charging as usual
        await until(lambda: seen == ["DEADBEEF"])
    finally:
        reading.cancel()


async def test_no_card_within_the_time_is_a_refusal():
    rig = Rig()
    with pytest.raises(TestRefused) as refused:
        await rig.actions.next_card(0.05)
    assert refused.value.code == "timeout"


async def test_the_led_test_lights_each_alone_then_gives_the_lights_back(monkeypatch):
    import agent.station.service_actions as module

    monkeypatch.setattr(module, "LIGHT_STEP_S", 0.0)
    rig = Rig()
    rig.check_at(0.05)  # the station shows Available: green on
    before = {name: light.shown[-1] for name, light in rig.lights.items()}
    order = await rig.actions.test_lights(1)
    assert order == ["green", "blue", "red"]
    assert rig.lights["red"].shown[-4:] == [LightPattern.OFF, LightPattern.OFF, LightPattern.ON, before["red"]]
    assert {name: light.shown[-1] for name, light in rig.lights.items()} == before


async def test_the_display_test_shows_a_message():
    rig = Rig()
    rig.actions.test_display(1, "Display test", 10.0)
    assert rig.shown == [(1, "Display test", 10.0)]


async def test_the_meter_is_read_now():
    reading = await Rig().actions.read_meter(1)
    assert reading.energy_wh == 1234.0 and reading.voltage_v == (230.0, 231.0, 229.0)


async def test_the_meter_test_reads_through_the_stations_one_meter_path():
    rig = Rig()
    rig.station.hardware(1).meter.answers = False
    with pytest.raises(TestRefused) as refused:
        await rig.actions.read_meter(1)
    assert refused.value.code == "device_error" and "no answer from unit 2" in str(refused.value)
    assert rig.station.view(1).meter.failed_reads == 1  # counted with the station's own reads
    rig.station.hardware(1).meter.answers = True
    await rig.actions.read_meter(1)
    meter = rig.station.view(1).meter
    assert meter.failed_reads == 0 and meter.answering and rig.station.view(1).reading.energy_wh == 1234.0


@pytest.mark.parametrize("works", [True, False])
async def test_the_rcd_self_test_is_the_safety_codes_own(works):
    rig = Rig(real_time=True)
    rig.rcd.works = works
    checking = asyncio.create_task(rig.safety.run())
    try:
        result = await rig.actions.rcd_self_test(1)
    finally:
        checking.cancel()
    assert rig.wire.pulses == 1
    assert result.passed is works
    assert rig.safety.rcm.state is (SelfTest.PASSED if works else SelfTest.FAILED)


async def test_the_rcd_self_test_is_refused_during_a_session():
    rig = Rig()
    rig.dispatch(CardPresented("04AA"))
    rig.dispatch(AuthorizationResult("04AA", True))
    with pytest.raises(TestRefused) as refused:
        await rig.actions.rcd_self_test(1)
    assert refused.value.code == "session" and rig.wire.pulses == 0


async def test_the_wrappers_are_installed_once_per_device():
    rig = Rig()
    assert isinstance(rig.safety.devices.contactor, TestableContactor)
    assert rig.actions.capabilities(1) == {"meter": True, "lights": True, "display": True, "rcd_test": True,
                                           "contactor": True, "card_reader": True}
