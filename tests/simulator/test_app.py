"""Simulator composition: speed factor, wait_for, stopping with open SSE streams."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from simulator.app import Simulator


async def test_speed_scales_simulated_time():
    """Simulated time is real time x speed: it never runs ahead of that (a bound a slow
    machine cannot break: it only makes the real time longer), and the energy follows it."""
    loop = asyncio.get_running_loop()
    real_start = loop.time()
    async with Simulator(http=False, modbus_port=0, speed=600) as sim:
        sim.plug(1)  # 11.04 kW: 600x speed -> 1.84 kWh per real second
        state = await sim.wait_for(lambda s: s["evses"][0]["energy_wh"] >= 500, timeout=60)
        real_s = loop.time() - real_start
        assert state["sim_time_s"] >= 500 / 11040 * 3600 * 0.99
        assert state["sim_time_s"] <= 600 * real_s * 1.001


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
            # An open stream must not keep stop() waiting (it would wait for the client for ever):
            # a generous bound for "it returns", not a measure of how fast.
            await asyncio.wait_for(sim.stop(), 30)
