"""The agent's clock: which backend times it takes, and that it never raises (agent/station/clock.py)."""

import datetime as dt

import pytest

from agent.station.clock import CONFIRMATIONS, EARLIEST, MAX_CORRECTION_S, Clock

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC).timestamp()


class Times:
    """A system clock and a monotonic clock the test moves."""

    def __init__(self, wall: float = T0) -> None:
        self.wall = wall
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def times():
    return Times()


@pytest.fixture
def clock(times):
    c = Clock(wall=lambda: times.wall, monotonic=lambda: times.mono)
    c.jumps, c.refused = [], []
    c.on_jump = lambda old, new: c.jumps.append(round(new - old))
    c.on_refused = lambda text, why: c.refused.append((text, why))
    return c


@pytest.mark.parametrize(
    "backend_time",
    ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z",
     "2100-01-01T00:00:00Z", "yesterday", ""],
)
def test_a_time_outside_the_sane_window_is_refused_and_the_clock_keeps_working(clock, times, backend_time):
    assert clock.sync(backend_time) is False
    assert clock.refused and clock.refused[0][0] == backend_time
    times.advance(3600)
    assert clock.timestamp() == times.wall  # still the system clock
    assert clock.iso().startswith("2026-05-01T13:00:00")
    assert clock.jumps == []


def test_the_first_sync_may_move_the_time_a_lot(clock, times):
    times.wall = dt.datetime(1970, 1, 1, tzinfo=dt.UTC).timestamp() + 30  # a Pi without RTC, before NTP
    assert clock.sync("2026-05-01T12:00:00Z")
    assert clock.iso() == "2026-05-01T12:00:00.000Z"
    assert len(clock.jumps) == 1  # SettingSystemTime


def test_after_the_first_sync_the_time_follows_the_monotonic_clock_not_the_system_clock(clock, times):
    clock.sync(iso(T0))
    times.wall += 10 * 365 * 86400  # NTP steps the system clock; the monotonic clock does not move
    times.mono += 5
    assert clock.iso() == iso(T0 + 5).replace("+00:00", "Z")[:19] + ".000Z"


def test_a_small_correction_is_taken_and_a_large_jump_refused(clock, times):
    clock.sync(iso(T0))
    times.advance(300)
    assert clock.sync(iso(T0 + 300 + 2))  # drift: taken, below the SettingSystemTime threshold
    assert clock.jumps == []
    assert clock.sync(iso(T0 + 300 + 2 + MAX_CORRECTION_S))  # the most a correction may move it
    assert clock.timestamp() == T0 + 302 + MAX_CORRECTION_S
    assert clock.jumps == [MAX_CORRECTION_S]  # SettingSystemTime
    before = clock.timestamp()
    assert clock.sync(iso(before + 3600)) is False
    assert clock.timestamp() == before
    assert "more than 300 s" in clock.refused[-1][1]


def test_a_jump_reported_consistently_is_taken_after_three_syncs(clock, times):
    """A backend whose own clock was corrected: the same new time, heartbeat after heartbeat."""
    clock.sync(iso(T0))
    for n in range(1, CONFIRMATIONS):
        times.advance(60)
        assert clock.sync(iso(times.wall + 3600)) is False, n
    assert len(clock.refused) == 1  # reported once, not at every heartbeat
    times.advance(60)
    assert clock.sync(iso(times.wall + 3600))
    assert clock.timestamp() == times.wall + 3600
    assert clock.jumps[-1] == 3600


def test_jumps_that_do_not_agree_are_never_taken(clock, times):
    clock.sync(iso(T0))
    for n in range(10):
        times.advance(60)
        assert clock.sync(iso(times.wall + 3600 * (1 + n % 2))) is False
    assert clock.timestamp() == times.wall
    assert len(clock.refused) == 2  # two distinct values, each reported once


def test_the_clock_never_raises_whatever_the_system_clock_says():
    clock = Clock(wall=lambda: float("inf"), monotonic=lambda: 0.0)
    assert clock.now() == EARLIEST
    assert clock.iso() == "2024-01-01T00:00:00.000Z"
