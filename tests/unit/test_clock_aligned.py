"""Clock-aligned meter values (OCPP 1.6 §9.1.3): when the next one is due."""

from __future__ import annotations

import datetime as dt

from agent.station.meter_sampler import next_clock_aligned

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_next_whole_multiple_of_the_interval_since_midnight():
    assert next_clock_aligned(at("2026-12-04 15:41:58.300"), 2) == at("2026-12-04 15:42:00")
    assert next_clock_aligned(at("2026-12-04 15:41:59.998"), 900) == at("2026-12-04 15:45:00")
    assert next_clock_aligned(at("2026-12-04 23:59:59"), 900) == at("2026-12-05 00:00:00")


def test_a_sleep_that_woke_early_does_not_take_the_same_aligned_time_twice():
    last = at("2026-12-04 15:42:00")  # sampled at 15:41:59.998, a moment before it was due
    assert next_clock_aligned(at("2026-12-04 15:41:59.999"), 2, last) == at("2026-12-04 15:42:02")
