"""The board watch (agent/station/board_watch.py): polled fast while energized, 0 A written on
the hardware thread at a danger, the cut held until the station acknowledges it. A fake board
(our own interface, drivers.interfaces.EvseBoard) on a real hardware thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent.app.testing_hooks import stall
from agent.core.safety_reflex import SafetyReflex
from agent.station.board_watch import BoardWatch, poll_interval
from agent.station.hardware_thread import HardwareThread
from drivers.interfaces import BoardFault, BoardStatus, DeviceUnavailable, PilotState


def status(pilot=PilotState.C, *, relay=True, offered=16.0, fault=None) -> BoardStatus:
    return BoardStatus(pilot=pilot, relay_closed=relay, offered_current_a=offered, fault=fault)


IDLE = status(PilotState.A, relay=False, offered=0.0)


class FakeBoard:
    """Reads return ``self.now``; writes are recorded with the thread that made them."""

    offer_resolution_a = 1.0

    def __init__(self) -> None:
        self.now: BoardStatus | Exception = IDLE
        self.writes: list[tuple[float, str]] = []
        self.wrote = threading.Event()

    async def read_status(self) -> BoardStatus:
        if isinstance(self.now, Exception):
            raise self.now
        return self.now

    async def set_current_limit(self, amps: float) -> None:
        self.writes.append((amps, threading.current_thread().name))
        self.wrote.set()


# ---- the pure part: how often -------------------------------------------------------------

def test_idle_connector_is_polled_at_the_idle_interval():
    assert poll_interval(SafetyReflex(), IDLE, 0.25, 0.03) == 0.25
    assert poll_interval(SafetyReflex(), None, 0.25, 0.03) == 0.25


def test_offered_current_or_a_closed_relay_is_polled_fast():
    offering = SafetyReflex()
    offering.command(16.0)
    assert poll_interval(offering, status(PilotState.B, relay=False), 0.25, 0.03) == 0.03
    # the board's relay closed on its own (power-up current, a restored session): fast too
    assert poll_interval(SafetyReflex(), status(), 0.25, 0.03) == 0.03


def test_a_held_cut_is_no_longer_energized():
    reflex = SafetyReflex()
    reflex.command(16.0)
    reflex.reading(status(PilotState.A, relay=False))
    assert poll_interval(reflex, status(PilotState.A, relay=False, offered=0.0), 0.25, 0.03) == 0.25


def test_the_stall_hook_computes_rather_than_sleeps():
    ticks = iter(range(100))
    assert stall(5, clock=lambda: next(ticks)) == 4  # deadline 0 + 5: busy at clock 1, 2, 3, 4


# ---- the watch on a real hardware thread -------------------------------------------------

@pytest.fixture
def thread():
    hardware = HardwareThread(name="test-hardware")
    hardware.start()
    yield hardware
    hardware.stop()


async def test_a_danger_while_charging_writes_zero_on_the_hardware_thread(thread):
    board = FakeBoard()
    watch = BoardWatch(board, thread, evse_id=1, idle_s=0.01, energized_s=0.01)
    board.now = status(PilotState.B, relay=False, offered=0.0)  # plugged, nothing offered yet
    watch.start()
    try:
        await watch.set_current_limit(16.0)
        assert board.writes == [(16.0, "test-hardware")]
        board.now = status()
        while (reading := await watch.next_reading()).status != status():
            pass
        assert len(board.writes) == 1  # no danger: nothing more written
        board.wrote.clear()
        board.now = status(fault=BoardFault.RCD)
        reading = await watch.next_reading()
        while reading.cut is None:
            reading = await watch.next_reading()
        assert reading.status.fault is BoardFault.RCD and reading.cut.reason == "board reports rcd"
        assert board.writes[-1] == (0.0, "test-hardware")  # written before the station heard of it
        # An offer the station queued before it knew is held at 0 until it acknowledges.
        await watch.set_current_limit(16.0)
        assert board.writes[-1] == (0.0, "test-hardware")
        board.now = status(relay=False, offered=0.0)  # the RCD reset
        watch.acknowledge(reading.cut.seq)
        await watch.set_current_limit(10.0)
        assert board.writes[-1] == (10.0, "test-hardware")
    finally:
        watch.stop()


async def test_the_reading_with_a_cut_is_never_skipped(thread):
    board = FakeBoard()
    watch = BoardWatch(board, thread, evse_id=1, idle_s=0.005, energized_s=0.005)
    await watch.set_current_limit(16.0)
    board.now = status(PilotState.A, relay=False)  # unplugged
    watch.start()
    try:
        while not any(amps == 0 for amps, _ in board.writes):
            await asyncio.to_thread(board.wrote.wait, 1.0)
            board.wrote.clear()
        board.now = status(PilotState.C, relay=False, offered=0.0)  # plugged in again at once
        # Let later readings pile up before the station looks: it still gets the cut first.
        newer = watch._seq + 3
        while watch._seq < newer:
            await asyncio.sleep(0.005)
        reading = await watch.next_reading()
        assert reading.cut is not None and reading.status.pilot is PilotState.A
        assert (await watch.next_reading()).seq > reading.seq
    finally:
        watch.stop()


async def test_an_offer_of_current_cuts_the_idle_wait_short(thread):
    board = FakeBoard()
    board.now = status(PilotState.B, relay=False, offered=0.0)
    watch = BoardWatch(board, thread, evse_id=1, idle_s=3600.0, energized_s=0.005)  # idle: never again
    watch.start()
    try:
        first = await watch.next_reading()
        await watch.set_current_limit(16.0)
        board.now = status(PilotState.A, relay=False)  # unplugged while offered
        reading = await watch.next_reading()
        while reading.cut is None:
            reading = await watch.next_reading()
        assert reading.seq > first.seq and board.writes[-1] == (0.0, "test-hardware")
    finally:
        watch.stop()


async def test_a_failed_read_is_handed_over_as_such(thread):
    board = FakeBoard()
    board.now = DeviceUnavailable("no answer")
    watch = BoardWatch(board, thread, evse_id=1, idle_s=0.01, energized_s=0.01)
    watch.start()
    try:
        reading = await watch.next_reading()
        assert reading.status is None and isinstance(reading.error, DeviceUnavailable)
        assert not board.writes
    finally:
        watch.stop()


async def test_other_driver_coroutines_run_on_the_hardware_thread(thread):
    class WithExtra(FakeBoard):
        async def where(self) -> str:
            return threading.current_thread().name

    watch = BoardWatch(WithExtra(), thread, evse_id=1, idle_s=0.25)
    assert await watch.where() == "test-hardware"
    assert watch.offer_resolution_a == 1.0
