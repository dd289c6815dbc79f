"""The demo CSMS feeds what it exchanges to the simulator page's OCPP log over HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

from ocpp.v16 import ChargePoint, call
from websockets.asyncio.client import connect

from simulator.csms.demo_csms import DemoCsms
from simulator.web.ocpp_feed import SimLogFeed

ROOT = Path(__file__).resolve().parents[2]


async def test_demo_csms_traffic_reaches_the_page_log_both_ways(sim):
    feed = SimLogFeed(sim.http_url)
    await feed.start()
    csms = DemoCsms(printer=None, on_frame=feed)
    port = await csms.start("127.0.0.1", 0)
    try:
        async with connect(f"ws://127.0.0.1:{port}/CP-PAGE", subprotocols=["ocpp1.6"]) as ws:
            cp = ChargePoint("CP-PAGE", ws, response_timeout=5)
            runner = asyncio.create_task(cp.start())
            await cp.call(call.BootNotification(charge_point_vendor="evse-agent", charge_point_model="sim"))
            await cp.call(call.StartTransaction(connector_id=1, id_tag="04A1B2C3", meter_start=0,
                                                timestamp="2025-01-01T00:00:00Z"))
            await ws.send("this is not OCPP")  # what went over the wire is shown, bad or not
            await sim.wait_for(lambda s: sim.ocpp_log.last_seq >= 5, timeout=5)
            runner.cancel()
    finally:
        await csms.stop()
        await feed.stop()
    seen = [(e["cp"], e["direction"], e["type"], e["action"]) for e in sim.ocpp_log.entries]
    assert seen[:5] == [
        ("CP-PAGE", "cp->csms", "CALL", "BootNotification"),
        ("CP-PAGE", "csms->cp", "CALLRESULT", "BootNotification"),
        ("CP-PAGE", "cp->csms", "CALL", "StartTransaction"),
        ("CP-PAGE", "csms->cp", "CALLRESULT", "StartTransaction"),
        ("CP-PAGE", "cp->csms", "malformed", None),
    ]
    assert sim.ocpp_log.entries[3]["payload"]["transactionId"] == 1
    assert feed.dropped == 0


async def test_an_absent_simulator_costs_the_backend_nothing(unused_tcp_port, caplog):
    feed = SimLogFeed(f"http://127.0.0.1:{unused_tcp_port}")
    await feed.start()
    csms = DemoCsms(printer=None, on_frame=feed)
    port = await csms.start("127.0.0.1", 0)
    try:
        with caplog.at_level(logging.WARNING, logger="simulator.web.ocpp_feed"):
            async with connect(f"ws://127.0.0.1:{port}/CP-1", subprotocols=["ocpp1.6"]) as ws:
                cp = ChargePoint("CP-1", ws, response_timeout=5)
                runner = asyncio.create_task(cp.start())
                for _ in range(3):
                    assert (await cp.call(call.Heartbeat())).current_time
                runner.cancel()
            await asyncio.wait_for(feed.drained(), 10)
    finally:
        await csms.stop()
        await feed.stop()
    assert feed.posted == 0 and feed.dropped == 6
    assert len([r for r in caplog.records if "not fed" in r.message]) == 1  # one line, not one per frame


async def test_the_demo_csms_command_feeds_the_page_given_sim_url(sim):
    """``python -m simulator.csms.demo_csms --sim-url``, as ``evse-agent demo`` starts it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.csms.demo_csms", "--port", "0", "--sim-url", sim.http_url.rstrip("/"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)/", line).group(1))
        async with connect(f"ws://127.0.0.1:{port}/CP-CLI", subprotocols=["ocpp1.6"]) as ws:
            cp = ChargePoint("CP-CLI", ws, response_timeout=5)
            runner = asyncio.create_task(cp.start())
            await cp.call(call.BootNotification(charge_point_vendor="evse-agent", charge_point_model="sim"))
            runner.cancel()
        await sim.wait_for(lambda s: sim.ocpp_log.last_seq >= 2, timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert [(e["cp"], e["type"], e["action"]) for e in sim.ocpp_log.entries] == [
        ("CP-CLI", "CALL", "BootNotification"), ("CP-CLI", "CALLRESULT", "BootNotification")]
