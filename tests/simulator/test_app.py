"""Simulator composition: speed factor, wait_for, stopping with open SSE streams."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from simulator.app import Simulator


async def test_speed_scales_simulated_time():
    async with Simulator(http=False, modbus_port=0, speed=600) as sim:
        sim.plug(1)  # 11.04 kW: 600x speed -> 1.84 kWh per real second
        t0 = time.monotonic()
        state = await sim.wait_for(lambda s: s["evses"][0]["energy_wh"] >= 500, timeout=3)
        assert time.monotonic() - t0 < 1.5
        assert state["sim_time_s"] >= 500 / 11040 * 3600 * 0.99


async def test_wait_for_times_out():
    async with Simulator(http=False, modbus_port=0) as sim:
        with pytest.raises(TimeoutError):
            await sim.wait_for(lambda s: s["evses"][0]["plugged"], timeout=0.2)


async def test_events_record_relay_changes(sim):
    sim.plug(1)
    sim.set_ev_state(1, "B")
    assert [(e.evse_id, e.value) for e in sim.events if e.kind == "relay"] == [(1, True), (1, False)]


async def test_stop_ends_open_event_streams():
    sim = Simulator(http_port=0, modbus_port=0)
    await sim.start()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{sim.http_port}/api/events") as r:
            await r.content.readline()
            t0 = time.monotonic()
            await asyncio.wait_for(sim.stop(), 3)
            assert time.monotonic() - t0 < 2
