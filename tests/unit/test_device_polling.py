"""The station's device poller and its one meter read path (agent/station/device_poller.py,
agent/station/meter_sampler.py), against fakes of our own driver interfaces; each poll and read
is awaited directly, no running station."""

from __future__ import annotations

import pytest

from agent.core.session import Event, Fault, FaultCleared, FaultRaised, OfferCurrent, PilotChanged, Session, Tick
from agent.persistence.settings import Settings
from agent.persistence.store import Store
from agent.station.clock import Clock
from agent.station.connector import Connector, ConnectorHardware
from agent.station.device_poller import DevicePoller
from agent.station.meter_sampler import MeterSampler
from drivers.interfaces import BoardStatus, DeviceUnavailable, MeterReading, PilotState


class Board:
    """drivers.interfaces.EvseBoard: reports ``status``; None = does not answer."""

    def __init__(self) -> None:
        self.status: BoardStatus | None = BoardStatus(PilotState.A, relay_closed=False, offered_current_a=0.0)

    async def read_status(self) -> BoardStatus:
        if self.status is None:
            raise DeviceUnavailable("no answer from unit 1")
        return self.status

    async def set_current_limit(self, amps: float) -> None:  # pragma: no cover - commands are not executed here
        pass

    async def close(self) -> None:  # pragma: no cover
        pass


class Meter:
    """drivers.interfaces.PowerMeter: reads ``reading``; None = does not answer."""

    def __init__(self) -> None:
        self.reading: MeterReading | None = MeterReading(1234.4, 0.0)
        self.reads = 0

    async def read(self) -> MeterReading:
        self.reads += 1
        if self.reading is None:
            raise DeviceUnavailable("CRC error")
        return self.reading

    async def close(self) -> None:  # pragma: no cover
        pass


class Rig:
    def __init__(self, store: Store) -> None:
        self.board, self.meter = Board(), Meter()
        hardware = ConnectorHardware(evse_id=1, board=self.board, meter=self.meter, max_current_a=16.0)
        self.conn = Connector(hardware, Session(max_current_a=16.0))
        self.events: list[Event] = []
        self.restored: list[PilotState] = []
        self.meters = MeterSampler({1: self.conn}, settings=Settings(store), store=store, clock=Clock(),
                                   monotonic=lambda: 0.0, dispatch=lambda conn, e: self.dispatch(e),
                                   backend=lambda: None)

        async def resolve_restored(conn: Connector, pilot: PilotState) -> None:
            conn.restored = None
            self.restored.append(pilot)

        self.poller = DevicePoller(self.conn, dispatch=self.dispatch, meters=self.meters,
                                   resolve_restored=resolve_restored)

    def dispatch(self, event: Event) -> None:  # as Station.dispatch, the commands kept in the queue
        self.events.append(event)
        commands = self.conn.session.handle(event, 0.0)
        if commands:
            self.conn.commands.put_nowait(commands)

    def faults(self) -> list[Event]:
        return [e for e in self.events if isinstance(e, (FaultRaised, FaultCleared))]


@pytest.fixture
def rig(tmp_path):
    store = Store(tmp_path / "agent.db")
    yield Rig(store)
    store.close()


async def test_a_poll_reads_board_and_meter_then_ticks(rig):
    rig.board.status = BoardStatus(PilotState.B, relay_closed=False, offered_current_a=0.0)
    await rig.poller.poll()
    assert isinstance(rig.events[0], PilotChanged) and isinstance(rig.events[-1], Tick)
    assert rig.conn.board_status == rig.board.status and rig.conn.reading == MeterReading(1234.0, 0.0)
    await rig.poller.poll(meter=False)
    assert rig.meter.reads == 1


async def test_a_board_is_lost_after_three_failed_reads_and_told_its_offer_again_when_back(rig):
    await rig.poller.poll()
    while not rig.conn.commands.empty():
        rig.conn.commands.get_nowait()
    rig.board.status = None
    for _ in range(3):
        await rig.poller.poll_board()
    assert rig.faults() == [FaultRaised(Fault.BOARD_COMM)] and rig.conn.board_health.lost
    assert rig.conn.board_health.last_error == "no answer from unit 1"
    rig.board.status = BoardStatus(PilotState.A, relay_closed=False, offered_current_a=0.0)
    await rig.poller.poll_board()
    assert rig.faults() == [FaultRaised(Fault.BOARD_COMM), FaultCleared(Fault.BOARD_COMM)]
    assert [OfferCurrent(0.0)] in [rig.conn.commands.get_nowait() for _ in range(rig.conn.commands.qsize())]


async def test_one_meter_read_path_one_failure_count_one_rounding(rig):
    rig.meter.reading = None
    await rig.poller.poll_meter()
    await rig.poller.poll_meter()
    assert rig.faults() == []
    # meterStart / meterStop read through the same path: its failure is the third in a row.
    assert await rig.meters.energy_wh(rig.conn) == 0  # no reading yet
    assert rig.faults() == [FaultRaised(Fault.METER_COMM)] and rig.conn.meter_health.failures == 3
    rig.meter.reading = MeterReading(1234.6, 7000.0, (10.1,), (230.0,))
    assert await rig.meters.energy_wh(rig.conn) == 1235  # and the fault clears
    assert rig.faults()[-1] == FaultCleared(Fault.METER_COMM) and rig.conn.meter_health.failures == 0
    # The reading itself is in whole Wh: samples and displays agree with meterStart / meterStop.
    assert rig.conn.reading.energy_wh == 1235.0
    sample = rig.meters.sample(rig.conn, "Sample.Periodic", ["Energy.Active.Import.Register", "Current.Import"])
    assert [(v.measurand, v.value) for v in sample.values] == [("Energy.Active.Import.Register", 1235.0),
                                                               ("Current.Import", 10.1)]
    rig.meter.reading = None
    assert await rig.meters.energy_wh(rig.conn) == 1235  # a failed read: the last reading


async def test_an_ev_drawing_more_than_offered_faults_the_connector_after_three_reads(rig):
    rig.conn.session.offered_a = 10.0
    rig.meter.reading = MeterReading(0.0, 5000.0, (12.5,))  # above 10 × 1.1 + 1 A
    for _ in range(2):
        await rig.poller.poll_meter()
    rig.meter.reading = MeterReading(0.0, 5000.0, (10.5,))  # back within: the count starts again
    await rig.poller.poll_meter()
    rig.meter.reading = MeterReading(0.0, 5000.0, (12.5,))
    for _ in range(2):
        await rig.poller.poll_meter()
    assert rig.faults() == []
    await rig.poller.poll_meter()
    assert rig.faults() == [FaultRaised(Fault.OVERCURRENT)]


async def test_a_transaction_open_at_start_is_resolved_on_the_first_board_reading(rig):
    rig.conn.restored = object()  # what Station finds in storage at start
    rig.board.status = BoardStatus(PilotState.C, relay_closed=False, offered_current_a=0.0)
    await rig.poller.poll_board()
    assert rig.restored == [PilotState.C] and rig.conn.restored is None
    await rig.poller.poll_board()
    assert rig.restored == [PilotState.C]
